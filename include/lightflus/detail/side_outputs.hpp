// Side outputs of process functions (internal): ctx.output(tag, value) by tag name.
//
// A process operator's node has one output port per side-output tag a consumer asked for with
// getSideOutput(tag) (NodeSpec::open_side_outputs). SideOutputs buffers what a function sends
// to each port during a batch or a timer and hands it on with flush(); a tag no one reads is
// dropped, as in Flink. Control signals (watermarks, idleness, barriers, end of input) reach
// every side port, so that operators reading a side output see time advance and finish.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "lightflus/detail/operator.hpp"
#include "lightflus/error.hpp"

namespace lightflus::detail {

class SideOutputs {
 public:
  SideOutputs() = default;
  /// Ports 1.. of `init.output_ports`, whose inputs are `outputs[1..]`.
  SideOutputs(const OperatorInit& init, const std::vector<void*>& outputs) {
    for (std::size_t i = 1; i < init.output_ports.size() && i < outputs.size(); ++i)
      ports_.push_back(Port{init.output_ports[i].tag, init.output_ports[i].element_type,
                            init.output_ports[i].control, outputs[i], nullptr});
  }

  /// Buffers `value` with `timestamp` for the side output `tag` (dropped if nobody reads it).
  template <class S, class U>
  void output(const std::string& tag, U&& value, Timestamp timestamp) {
    for (auto& p : ports_) {
      if (p.tag != tag) continue;
      if (p.element_type != typeTag<S>())
        throw ConfigError("side output '" + tag +
                          "' was read with getSideOutput() as another element type than the "
                          "one ctx.output() sends");
      if (!p.buffer) p.buffer = std::make_unique<Buffer<S>>(static_cast<Input<S>*>(p.input));
      static_cast<Buffer<S>&>(*p.buffer).batch.push_back(
          Element<S>{S(std::forward<U>(value)), timestamp});
      return;
    }
  }

  /// Hands buffered side-output elements downstream.
  void flush() {
    for (auto& p : ports_)
      if (p.buffer) p.buffer->flush();
  }
  void processWatermark(Timestamp w) {
    flush();
    for (auto& p : ports_) p.control->processWatermark(w);
  }
  void processIdle() {
    for (auto& p : ports_) p.control->processIdle();
  }
  void processBarrier(std::uint64_t id) {
    flush();
    for (auto& p : ports_) p.control->processBarrier(id);
  }
  void endInput() {
    flush();
    for (auto& p : ports_) p.control->endInput();
  }

 private:
  struct BufferBase {
    virtual ~BufferBase() = default;
    virtual void flush() = 0;
  };
  template <class S>
  struct Buffer final : BufferBase {
    explicit Buffer(Input<S>* in) : target(in) {}
    void flush() override {
      if (batch.empty()) return;
      target->processBatch(batch);
      batch.clear();  // the next operator may leave the batch as it was
    }
    Input<S>* target;
    Batch<S> batch;
  };
  struct Port {
    std::string tag;
    const void* element_type;
    ControlInput* control;
    void* input;  ///< an Input<S>* of the port's element type
    std::unique_ptr<BufferBase> buffer;
  };

  std::vector<Port> ports_;
};

}  // namespace lightflus::detail
