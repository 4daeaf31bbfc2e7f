// Sinks: where a job's results go.
//
// A Sink<T> receives batches. It is flushed when a checkpoint is taken and when the input
// ends, snapshots what it must (a collect sink its results, a transactional sink its open
// transaction), and is told when a checkpoint completed everywhere (two-phase commit). Each
// sink documents its delivery guarantee.
//
// Built in: collect (tests; exactly-once with snapshots), stdout (at-least-once), callback,
// and a JSON-lines file (at-least-once: flushed on checkpoint and at the end).
#pragma once

#include <cstdio>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "lightflus/detail/operator.hpp"

namespace lightflus {

/// Where a sink subtask runs.
struct SinkContext {
  std::string job_name;
  std::string operator_name;
  int subtask = 0;
  int parallelism = 1;
  /// The job takes checkpoints (periodic or ExecutionOptions::manual_checkpoints), so
  /// notifyCheckpointComplete() will be called: a sink that commits at checkpoints can rely on
  /// it (without, it must commit on its own).
  bool checkpointing = false;
};

/// A sink of T; one instance per parallel subtask.
template <class T>
class Sink {
 public:
  virtual ~Sink() = default;
  virtual void open(const SinkContext&) {}
  /// Writes a batch; may move the values out.
  virtual void write(Batch<T>& batch) = 0;
  /// Makes everything written so far durable/visible (before a snapshot and at the end).
  virtual void flush() {}
  virtual void snapshot(StateWriter&) {}
  /// `previous` holds the snapshots of the old subtasks that map to this one.
  virtual void restore(const std::vector<std::string>& /*previous*/) {}
  virtual void notifyCheckpointComplete(std::uint64_t) {}
  /// The input ended: write what is left (after a final flush()).
  virtual void close() {}
  /// The job stopped without finishing (cancelled, or a task failed): stop sending and drop
  /// what is buffered, it will be replayed from the last checkpoint. After JobHandle::wait()
  /// returns nothing more of this run may reach the external system. Errors are ignored.
  virtual void cancel() {}
};

template <class T>
using SinkFactory = std::function<std::unique_ptr<Sink<T>>()>;

/// The results of a collect() sink, readable after the job ends.
///
///     auto counts = stream.collect();
///     ctx.execute();
///     for (auto& v : counts.values()) ...
template <class T>
class CollectResult {
 public:
  /// All collected values (subtask by subtask, each in arrival order).
  std::vector<T> values() const {
    std::lock_guard lock(state_->mutex);
    std::vector<T> all;
    for (const auto& part : state_->parts)
      for (const auto& e : part) all.push_back(e.value);
    return all;
  }
  /// All collected elements with their timestamps.
  Batch<T> elements() const {
    std::lock_guard lock(state_->mutex);
    Batch<T> all;
    for (const auto& part : state_->parts) all.insert(all.end(), part.begin(), part.end());
    return all;
  }
  std::size_t size() const {
    std::lock_guard lock(state_->mutex);
    std::size_t n = 0;
    for (const auto& part : state_->parts) n += part.size();
    return n;
  }

  struct State {
    mutable std::mutex mutex;
    std::vector<Batch<T>> parts;  // by subtask
  };
  std::shared_ptr<State> state_ = std::make_shared<State>();
};

/// Appends to a CollectResult; its snapshot holds what it collected, so a job restored from a
/// snapshot ends with exactly the results of an uninterrupted run.
template <class T>
class CollectSink final : public Sink<T> {
 public:
  explicit CollectSink(std::shared_ptr<typename CollectResult<T>::State> state) : state_(state) {}
  void open(const SinkContext& ctx) override {
    subtask_ = static_cast<std::size_t>(ctx.subtask);
    std::lock_guard lock(state_->mutex);
    if (state_->parts.size() < static_cast<std::size_t>(ctx.parallelism))
      state_->parts.resize(static_cast<std::size_t>(ctx.parallelism));
    auto& part = state_->parts[subtask_];
    part.clear();
    part.insert(part.end(), restored_.begin(), restored_.end());
  }
  void write(Batch<T>& batch) override {
    std::lock_guard lock(state_->mutex);
    auto& part = state_->parts[subtask_];
    part.insert(part.end(), std::make_move_iterator(batch.begin()),
                std::make_move_iterator(batch.end()));
  }
  void snapshot(StateWriter& w) override {
    std::lock_guard lock(state_->mutex);
    const auto& part = state_->parts[subtask_];
    w.writeSize(part.size());
    for (const auto& e : part) {
      detail::writeIfSerializable(w, e.value);
      w.write(e.timestamp);
    }
  }
  void restore(const std::vector<std::string>& previous) override {
    for (const auto& bytes : previous) {
      StateReader r(bytes);
      auto n = r.readSize();
      for (std::uint64_t i = 0; i < n; ++i) {
        T v = detail::readIfSerializable<T>(r);
        Timestamp ts = r.read<Timestamp>();
        restored_.push_back(Element<T>{std::move(v), ts});
      }
    }
  }

 private:
  std::shared_ptr<typename CollectResult<T>::State> state_;
  std::size_t subtask_ = 0;
  Batch<T> restored_;
};

/// Calls a function for every element (on the sink's subtask thread; with parallelism > 1
/// the function is called concurrently and must be thread safe).
template <class T, class F>
class CallbackSink final : public Sink<T> {
 public:
  explicit CallbackSink(F fn) : fn_(std::move(fn)) {}
  void write(Batch<T>& batch) override {
    for (auto& e : batch) fn_(e.value);
  }

 private:
  F fn_;
};

/// Writes one line per element to stdout (or another FILE*), formatted by `format`. Lines of
/// different subtasks never interleave within a line. At-least-once.
template <class T, class Format>
class PrintSink final : public Sink<T> {
 public:
  PrintSink(Format format, std::FILE* file) : format_(std::move(format)), file_(file) {}
  void write(Batch<T>& batch) override {
    buffer_.clear();
    for (const auto& e : batch) {
      format_(buffer_, e.value);
      buffer_.push_back('\n');
    }
    static std::mutex mutex;
    std::lock_guard lock(mutex);
    // Flushed per batch: a pipe would otherwise hold a long-running job's output back.
    if (std::fwrite(buffer_.data(), 1, buffer_.size(), file_) != buffer_.size() ||
        std::fflush(file_) != 0)
      throw ConnectorError("writing to stdout failed");
  }
  void flush() override { std::fflush(file_); }

 private:
  Format format_;
  std::FILE* file_;
  std::string buffer_;
};

namespace detail {

/// Runs a Sink at the end of a chain (internal).
template <class T>
class SinkOperator final : public Operator, public Input<T> {
 public:
  SinkOperator(const OperatorInit& init, SinkFactory<T> factory) : init_(init) {
    guarded(init_.operator_name, [&] { sink_ = factory(); });
  }
  void* input() override { return static_cast<Input<T>*>(this); }
  void open() override {
    SinkContext ctx{init_.job_name, init_.operator_name, init_.subtask, init_.parallelism,
                    init_.checkpointing};
    guarded(init_.operator_name, [&] { sink_->open(ctx); });
  }
  void close() override {
    guarded(init_.operator_name, [&] { sink_->close(); });
  }
  void cancel() noexcept override {
    try {
      sink_->cancel();
    } catch (...) {
      // The job has already failed or been cancelled; this error adds nothing.
    }
  }
  bool stateful() const override { return true; }
  void snapshot(StateWriter& w) override {
    guarded(init_.operator_name, [&] {
      sink_->flush();
      sink_->snapshot(w);
    });
  }
  void restore(const OperatorRestore& r) override {
    std::vector<std::string> mine;
    for (std::size_t i = 0; i < r.previous.size(); ++i)
      if (static_cast<int>(i) % r.parallelism == r.subtask) mine.push_back(r.previous[i]);
    guarded(init_.operator_name, [&] { sink_->restore(mine); });
  }
  void notifyCheckpointComplete(std::uint64_t id) override {
    guarded(init_.operator_name, [&] { sink_->notifyCheckpointComplete(id); });
  }
  void processBatch(Batch<T>& batch) override {
    init_.counters->records_in.fetch_add(batch.size(), std::memory_order_relaxed);
    guarded(init_.operator_name, [&] { sink_->write(batch); });
    batch.clear();
  }
  void processWatermark(Timestamp) override {}
  void processIdle() override {}
  void processBarrier(std::uint64_t) override {}
  void endInput() override {
    guarded(init_.operator_name, [&] { sink_->flush(); });
  }

 private:
  OperatorInit init_;
  std::unique_ptr<Sink<T>> sink_;
};

}  // namespace detail
}  // namespace lightflus
