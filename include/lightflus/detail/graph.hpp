// The logical graph (internal): nodes, their typed output ports, and the edges between them.
//
// The DataStream builder adds a NodeSpec per operator. A node has one or more output ports
// (port 0 is the main output; side outputs such as late data and dead letters follow), each
// with a PortSpec that knows the element type and can build the typed plumbing for it: fan-out,
// exchanges and input gates. The executor plans and runs the graph without knowing any
// element type.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "lightflus/detail/channel.hpp"
#include "lightflus/detail/operator.hpp"

namespace lightflus::detail {

/// Objects a task owns besides its operators.
struct TaskParts {
  std::vector<std::unique_ptr<ControlInput>> outputs;
  std::vector<Flushable*> flushables;
  std::atomic<std::int64_t>* backpressure_ns = nullptr;
};

/// The type-specific plumbing of a stream of T (one per output port).
class PortSpecBase {
 public:
  virtual ~PortSpecBase() = default;
  /// typeTag() of the element type.
  virtual const void* elementType() const = 0;
  /// The control signals of an `Input<T>*` passed as void*.
  virtual ControlInput* controlOf(void* input) const = 0;
  virtual void* fanOut(std::vector<void*> targets, TaskParts& parts) const = 0;
  virtual void* discard(TaskParts& parts) const = 0;
  virtual std::unique_ptr<GateBase> makeGate(int producers, std::size_t capacity) const = 0;
  virtual void setGateHead(GateBase& gate, void* head) const = 0;
  virtual void* exchange(Partitioning partitioning, const std::vector<GateBase*>& targets,
                         int producer_index, int subtask, int max_parallelism,
                         std::size_t batch_size, TaskParts& parts) const = 0;
};

template <class T>
class PortSpec final : public PortSpecBase {
 public:
  const void* elementType() const override { return typeTag<T>(); }
  ControlInput* controlOf(void* input) const override { return static_cast<Input<T>*>(input); }
  void* fanOut(std::vector<void*> targets, TaskParts& parts) const override {
    std::vector<Input<T>*> typed;
    for (void* t : targets) typed.push_back(static_cast<Input<T>*>(t));
    auto out = std::make_unique<FanOut<T>>(std::move(typed));
    Input<T>* raw = out.get();
    parts.outputs.push_back(std::move(out));
    return raw;
  }
  void* discard(TaskParts& parts) const override {
    auto out = std::make_unique<Discard<T>>();
    Input<T>* raw = out.get();
    parts.outputs.push_back(std::move(out));
    return raw;
  }
  std::unique_ptr<GateBase> makeGate(int producers, std::size_t capacity) const override {
    return std::make_unique<InputGate<T>>(producers, capacity);
  }
  void setGateHead(GateBase& gate, void* head) const override {
    static_cast<InputGate<T>&>(gate).setHead(static_cast<Input<T>*>(head));
  }
  void* exchange(Partitioning partitioning, const std::vector<GateBase*>& targets,
                 int producer_index, int subtask, int max_parallelism, std::size_t batch_size,
                 TaskParts& parts) const override {
    return makeExchange<T, void>(partitioning, targets, producer_index, subtask, max_parallelism,
                                 batch_size, parts, nullptr);
  }

  template <class U, class KeyHash>
  static void* makeExchange(Partitioning partitioning, const std::vector<GateBase*>& targets,
                            int producer_index, int subtask, int max_parallelism,
                            std::size_t batch_size, TaskParts& parts, const KeyHash* hash) {
    std::vector<InputGate<U>*> typed;
    for (GateBase* g : targets) typed.push_back(static_cast<InputGate<U>*>(g));
    auto out = std::make_unique<ExchangeOutput<U, KeyHash>>(
        partitioning, std::move(typed), producer_index, subtask, max_parallelism, batch_size,
        parts.backpressure_ns, hash);
    parts.flushables.push_back(out.get());
    Input<U>* raw = out.get();
    parts.outputs.push_back(std::move(out));
    return raw;
  }
};

/// Builds hash exchanges for a keyBy edge (knows the key selector's type).
class HashExchangeSpec {
 public:
  virtual ~HashExchangeSpec() = default;
  virtual void* make(const std::vector<GateBase*>& targets, int producer_index, int subtask,
                     int max_parallelism, std::size_t batch_size, TaskParts& parts) const = 0;
};

template <class T, class KeyHash>
class TypedHashExchange final : public HashExchangeSpec {
 public:
  explicit TypedHashExchange(KeyHash hash) : hash_(std::move(hash)) {}
  void* make(const std::vector<GateBase*>& targets, int producer_index, int subtask,
             int max_parallelism, std::size_t batch_size, TaskParts& parts) const override {
    return PortSpec<T>::template makeExchange<T, KeyHash>(Partitioning::Hash, targets,
                                                          producer_index, subtask, max_parallelism,
                                                          batch_size, parts, &hash_);
  }

 private:
  KeyHash hash_;
};

struct EdgeSpec {
  int from = 0;
  int from_port = 0;
  int to = 0;
  Partitioning partitioning = Partitioning::Forward;
  std::shared_ptr<const HashExchangeSpec> hash;  ///< set for Partitioning::Hash
};

struct PortInfo {
  std::shared_ptr<const PortSpecBase> spec;
  std::string tag;                 ///< "" for the main output, else the side output's tag
  bool requires_consumer = false;  ///< data sent here would be lost without a consumer
};

struct NodeSpec {
  using Factory = std::function<std::unique_ptr<Operator>(const OperatorInit&,
                                                          const std::vector<void*>& outputs)>;
  int id = 0;
  std::string kind;  ///< "source", "map", "window", ... (for plans and metrics)
  std::string name;
  std::string uid;            ///< identifies the node's state in snapshots
  int parallelism = 0;        ///< 0: the job's default
  bool single = false;        ///< must run with parallelism 1 (e.g. one file, stdin)
  bool follow_input = false;  ///< runs with its input's parallelism (chained to it)
  bool source = false;
  bool keyed = false;  ///< state is partitioned by key group
  /// Side outputs are made on request: getSideOutput(tag) adds a port for any tag (process
  /// functions that call ctx.output(tag, value)).
  bool open_side_outputs = false;
  /// The type of the node's input when it differs from its producers' (an operator with two
  /// inputs reads one gate of both element types; each input edge's HashExchangeSpec converts).
  /// Null: the type of the first input edge's port.
  std::shared_ptr<const PortSpecBase> input;
  std::vector<PortInfo> ports;
  Factory make;
};

struct StreamGraph {
  std::string job_name = "job";
  int default_parallelism = 1;
  int max_parallelism = 128;
  std::vector<NodeSpec> nodes;
  std::vector<EdgeSpec> edges;

  int portOf(int node, const std::string& tag) const {
    const auto& ports = nodes[static_cast<std::size_t>(node)].ports;
    for (std::size_t i = 0; i < ports.size(); ++i)
      if (ports[i].tag == tag) return static_cast<int>(i);
    return -1;
  }
};

}  // namespace lightflus::detail
