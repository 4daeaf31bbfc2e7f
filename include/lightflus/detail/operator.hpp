// The runtime interfaces operators are written against (internal).
//
// A task runs a chain of operators. The chain's head receives batches and control signals
// (watermarks, idleness, barriers, end of input) from the task's input gate or its source;
// every operator pushes its output into the Input of the next operator, or of an exchange
// that sends it to other tasks. One virtual call per batch per operator; the per-element
// loops inside operators are templates over the user's functions.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "lightflus/element.hpp"
#include "lightflus/error.hpp"
#include "lightflus/serializer.hpp"

namespace lightflus::detail {

/// Control signals that flow in-band with the data.
class ControlInput {
 public:
  virtual ~ControlInput() = default;
  /// All inputs have passed `watermark`.
  virtual void processWatermark(Timestamp watermark) = 0;
  /// The inputs have become idle (no watermark progress is to be expected from them).
  virtual void processIdle() = 0;
  /// A checkpoint barrier; the task has already snapshotted the chain.
  virtual void processBarrier(std::uint64_t checkpoint_id) = 0;
  /// The input has ended: fire everything that is left, then forward.
  virtual void endInput() = 0;
};

/// Receives batches of T.
template <class T>
class Input : public ControlInput {
 public:
  /// Processes a batch; may move elements out of it.
  virtual void processBatch(Batch<T>& batch) = 0;
};

/// Counters of one operator subtask, updated once per batch (relaxed atomics).
struct OperatorCounters {
  std::atomic<std::uint64_t> records_in{0};
  std::atomic<std::uint64_t> records_out{0};
  std::atomic<std::uint64_t> late_dropped{0};
  std::atomic<std::int64_t> backpressure_ns{0};
};

/// Services of the task an operator runs in.
class TaskServices {
 public:
  virtual ~TaskServices() = default;
  /// Calls `callback(time)` on the task's thread once the wall clock reaches `time` (ms).
  virtual void registerProcessingTimer(Timestamp time, std::function<void(Timestamp)> callback) = 0;
  /// Wakes the task if it is waiting (sources call this from other threads).
  virtual void wakeup() = 0;
};

/// A unique address per type, to check types without RTTI (V8 code builds without it).
template <class S>
inline const void* typeTag() {
  static const char tag = 0;
  return &tag;
}

/// An output port of an operator: its side-output tag ("" for the main output), the typeTag()
/// of its element type, and the control signals of the Input the factory gets for it.
struct OutputPortInfo {
  std::string tag;
  const void* element_type = nullptr;
  ControlInput* control = nullptr;
};

/// What an operator's factory gets to know about the subtask it creates.
struct OperatorInit {
  std::string job_name;
  std::string operator_name;
  int node_id = 0;
  int subtask = 0;
  int parallelism = 1;
  int max_parallelism = 128;
  std::size_t batch_size = 1024;
  TaskServices* services = nullptr;
  OperatorCounters* counters = nullptr;
  /// The job takes checkpoints (ExecutionOptions::checkpoints or manual_checkpoints): sinks
  /// may wait for their completion to commit.
  bool checkpointing = false;
  /// The node's output ports, in the order of the factory's `outputs`.
  std::vector<OutputPortInfo> output_ports;
};

/// The state of one operator across all subtasks of a snapshot, for restoring.
struct OperatorRestore {
  int subtask = 0;      ///< the subtask being restored
  int parallelism = 1;  ///< its new parallelism
  int max_parallelism = 128;
  std::vector<std::string> previous;  ///< the state each old subtask wrote, by old subtask index
};

/// Lifecycle of an operator instance (one per subtask).
class Operator {
 public:
  virtual ~Operator() = default;
  virtual void open() {}
  /// The input ended and everything was processed (not called when the job stops otherwise).
  virtual void close() {}
  /// The job stopped without finishing (cancelled, or a task failed): stop background work
  /// and drop what is buffered, so that nothing more of this run reaches an external system
  /// after JobHandle::wait() returns. Called on the task's thread once, instead of close(),
  /// for an operator that was opened. Must not throw.
  virtual void cancel() noexcept {}
  /// Whether snapshot() writes anything; stateless operators skip the snapshot round.
  virtual bool stateful() const { return false; }
  virtual void snapshot(StateWriter&) {}
  virtual void restore(const OperatorRestore&) {}
  /// Whether the operator holds something bound to the thread that first ran it (state inside
  /// a per-thread V8 isolate): its task then always runs on that one worker thread.
  virtual bool threadBound() const { return false; }
  /// The input of this operator as `Input<In>*` (nullptr for sources).
  virtual void* input() = 0;
  /// Called after a checkpoint completed everywhere (two-phase-commit sinks, offset commits).
  virtual void notifyCheckpointComplete(std::uint64_t /*checkpoint_id*/) {}
};

/// Raised inside an operator to tag an error with the operator's name.
class LIGHTFLUS_API OperatorFailure : public Error {
 public:
  OperatorFailure(std::string op, std::string cause)
      : Error(cause), operator_(std::move(op)), cause_(std::move(cause)) {}
  const std::string& operatorName() const { return operator_; }
  const std::string& cause() const { return cause_; }

 private:
  std::string operator_;
  std::string cause_;
};

/// Runs `body`, tagging any exception with the operator's name (zero cost when nothing throws).
template <class F>
inline void guarded(const std::string& op, F&& body) {
  try {
    body();
  } catch (const OperatorFailure&) {
    throw;
  } catch (const std::exception& e) {
    throw OperatorFailure(op, e.what());
  } catch (...) {
    throw OperatorFailure(op, "unknown exception");
  }
}

/// Sends every signal to several inputs (a stream consumed more than once).
template <class T>
class FanOut final : public Input<T> {
 public:
  explicit FanOut(std::vector<Input<T>*> targets) : targets_(std::move(targets)) {}
  void processBatch(Batch<T>& batch) override {
    for (std::size_t i = 0; i + 1 < targets_.size(); ++i) {
      copy_ = batch;
      targets_[i]->processBatch(copy_);
    }
    targets_.back()->processBatch(batch);
  }
  void processWatermark(Timestamp w) override {
    for (auto* t : targets_) t->processWatermark(w);
  }
  void processIdle() override {
    for (auto* t : targets_) t->processIdle();
  }
  void processBarrier(std::uint64_t id) override {
    for (auto* t : targets_) t->processBarrier(id);
  }
  void endInput() override {
    for (auto* t : targets_) t->endInput();
  }

 private:
  std::vector<Input<T>*> targets_;
  Batch<T> copy_;
};

/// Drops everything (a port nobody consumes).
template <class T>
class Discard final : public Input<T> {
 public:
  void processBatch(Batch<T>& batch) override { batch.clear(); }
  void processWatermark(Timestamp) override {}
  void processIdle() override {}
  void processBarrier(std::uint64_t) override {}
  void endInput() override {}
};

/// Base for one-input operators: holds the output and forwards control signals.
template <class In, class Out>
class OneInputOperator : public Operator, public Input<In> {
 public:
  OneInputOperator(const OperatorInit& init, Input<Out>* out) : init_(init), out_(out) {}
  void* input() override { return static_cast<Input<In>*>(this); }
  void processWatermark(Timestamp w) override { out_->processWatermark(w); }
  void processIdle() override { out_->processIdle(); }
  void processBarrier(std::uint64_t id) override { out_->processBarrier(id); }
  void endInput() override { out_->endInput(); }

 protected:
  /// Hands the output batch downstream (if not empty) and counts it.
  void emit(Batch<Out>& batch) {
    if (batch.empty()) return;
    init_.counters->records_out.fetch_add(batch.size(), std::memory_order_relaxed);
    out_->processBatch(batch);
    batch.clear();
  }
  void countIn(std::size_t n) {
    init_.counters->records_in.fetch_add(n, std::memory_order_relaxed);
  }
  const std::string& name() const { return init_.operator_name; }

  OperatorInit init_;
  Input<Out>* out_;
  Batch<Out> buffer_;
};

}  // namespace lightflus::detail
