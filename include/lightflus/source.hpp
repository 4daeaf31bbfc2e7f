// Sources: where a job's data comes from.
//
// A Source<T> is polled by its task: each poll emits up to one batch into a SourceOutput and
// says whether more is ready (HaveMoreOutput), nothing is ready yet (Blocked: the task waits a
// little or until wakeup()), or the source is exhausted (Finished: downstream windows and
// timers then fire everything that is left). A source never sleeps in a loop itself. Each
// parallel subtask gets its own Source instance from a factory; sources snapshot their
// position so that a restored job continues where the snapshot was taken.
//
// Built in: collections, generators (bounded or unbounded, full speed or rate-limited; both
// restore at any parallelism, detail/id_split.hpp); files and stdin: connectors/file.hpp.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "lightflus/detail/id_split.hpp"
#include "lightflus/detail/operator.hpp"
#include "lightflus/element.hpp"
#include "lightflus/serializer.hpp"

namespace lightflus {

/// What a poll found.
enum class SourceStatus {
  HaveMoreOutput,  ///< poll again right away
  Blocked,         ///< nothing ready now; poll again after a short wait or a wakeup()
  Finished,        ///< the source is exhausted
};

/// A record that could not be decoded, sent to the dead-letter output instead of failing the
/// job when the job asks for that (MalformedPolicy::DeadLetter).
struct DeadLetter {
  std::string origin;  ///< where it came from: "file.jsonl:17", "topic/3@1042"
  std::string record;  ///< the raw record
  std::string error;   ///< why it was rejected
  friend bool operator==(const DeadLetter&, const DeadLetter&) = default;
};

/// What to do with a record that cannot be decoded.
enum class MalformedPolicy {
  Fail,        ///< fail the job with an error naming the record's origin (default)
  DeadLetter,  ///< send it to the stream's deadLetters() output and go on
};

template <>
struct Serializer<DeadLetter> {
  static void write(StateWriter& w, const DeadLetter& d) {
    w.write(d.origin);
    w.write(d.record);
    w.write(d.error);
  }
  static DeadLetter read(StateReader& r) {
    DeadLetter d;
    d.origin = r.read<std::string>();
    d.record = r.read<std::string>();
    d.error = r.read<std::string>();
    return d;
  }
};

/// Where a source subtask runs.
struct SourceContext {
  std::string job_name;
  std::string operator_name;
  int subtask = 0;
  int parallelism = 1;
  std::size_t batch_size = 1024;
  detail::TaskServices* services = nullptr;
  /// Wakes the task after poll() returned Blocked (callable from any thread).
  void wakeup() const {
    if (services) services->wakeup();
  }
};

/// Receives what a source emits during one poll (no virtual call per element).
template <class T>
class SourceOutput {
 public:
  SourceOutput(Batch<T>& batch, std::size_t batch_size) : batch_(&batch), batch_size_(batch_size) {}
  template <class U = T>
  void collect(U&& value) {
    appendElement(*batch_, std::forward<U>(value), kMinTimestamp);
  }
  template <class U = T>
  void collect(U&& value, Timestamp timestamp) {
    appendElement(*batch_, std::forward<U>(value), timestamp);
  }
  /// True once a batch is full: return from poll() with HaveMoreOutput.
  bool full() const { return batch_->size() >= batch_size_; }
  std::size_t remaining() const { return full() ? 0 : batch_size_ - batch_->size(); }
  /// Emits a watermark after the elements collected so far.
  void emitWatermark(Timestamp w) { watermark_ = std::max(watermark_, w); }
  /// Marks this subtask idle until it emits again.
  void markIdle() { idle_ = true; }
  /// Sends a malformed record to the dead-letter output.
  void deadLetter(DeadLetter d) { dead_letters_.push_back(Element<DeadLetter>{std::move(d)}); }

  // Used by the task.
  Batch<T>& batch() { return *batch_; }
  Batch<DeadLetter>& deadLetters() { return dead_letters_; }
  Timestamp takeWatermark() { return std::exchange(watermark_, kMinTimestamp); }
  bool takeIdle() { return std::exchange(idle_, false); }

 private:
  Batch<T>* batch_;
  std::size_t batch_size_;
  Batch<DeadLetter> dead_letters_;
  Timestamp watermark_ = kMinTimestamp;
  bool idle_ = false;
};

/// A source of T; one instance per parallel subtask.
template <class T>
class Source {
 public:
  virtual ~Source() = default;
  virtual void open(const SourceContext&) {}
  /// Emits up to one batch (stop when out.full()).
  virtual SourceStatus poll(SourceOutput<T>& out) = 0;
  /// How long the task waits after Blocked unless woken up earlier.
  virtual Duration blockedWait() const { return Duration(10); }
  virtual void snapshot(StateWriter&) {}
  virtual void restore(StateReader&) {}
  /// Restore at another parallelism: `previous` holds the snapshots of all the old subtasks.
  /// Return false when this source cannot (the default; the restore then fails with a clear
  /// message). A source whose positions are keyed by something it owns (Kafka partitions)
  /// reads them all and uses those of what it is assigned.
  virtual bool restoreRescaled(const std::vector<std::string>& /*previous*/) { return false; }
  virtual void notifyCheckpointComplete(std::uint64_t) {}
  virtual void close() {}
};

/// Creates the Source of one subtask.
template <class T>
using SourceFactory = std::function<std::unique_ptr<Source<T>>()>;

namespace detail {
/// The SourceStatus of what IdSplit::emit() did.
inline SourceStatus sourceStatus(IdSplit::Progress p) {
  switch (p) {
    case IdSplit::Progress::More:
      return SourceStatus::HaveMoreOutput;
    case IdSplit::Progress::Throttled:
      return SourceStatus::Blocked;
    case IdSplit::Progress::Done:
      break;
  }
  return SourceStatus::Finished;
}
}  // namespace detail

/// Emits the elements of a vector; subtask i of p emits the elements i, i+p, i+2p, ... A
/// snapshot restores at any parallelism (detail/id_split.hpp).
template <class T>
class CollectionSource final : public Source<T> {
 public:
  explicit CollectionSource(std::shared_ptr<const std::vector<T>> items)
      : items_(std::move(items)), split_(items_->size(), 0) {}
  void open(const SourceContext& ctx) override { split_.open(ctx.subtask, ctx.parallelism); }
  SourceStatus poll(SourceOutput<T>& out) override {
    const auto& items = *items_;
    return detail::sourceStatus(split_.emit(out.remaining(), [&](std::uint64_t i) {
      out.collect(items[static_cast<std::size_t>(i)]);
    }));
  }
  void snapshot(StateWriter& w) override { split_.snapshot(w); }
  void restore(StateReader& r) override { split_.restore(r); }
  bool restoreRescaled(const std::vector<std::string>& previous) override {
    split_.restoreRescaled(previous);
    return true;
  }

 private:
  std::shared_ptr<const std::vector<T>> items_;
  detail::IdSplit split_;
};

/// Options of a generator source.
struct GeneratorOptions {
  /// How many elements in all subtasks together; 0 = unbounded.
  std::uint64_t count = 0;
  /// Elements per second over all subtasks; 0 = as fast as possible.
  double rate = 0;
};

/// Emits fn(i) for i = 0, 1, 2, ... (subtask s of p takes i = s, s+p, ...), at full speed or
/// at a fixed rate. A snapshot restores at any parallelism (detail/id_split.hpp).
template <class T, class F>
class GeneratorSource final : public Source<T> {
 public:
  GeneratorSource(F fn, GeneratorOptions options)
      : fn_(std::move(fn)), split_(detail::IdSplit::forCount(options.count, options.rate)) {}
  void open(const SourceContext& ctx) override { split_.open(ctx.subtask, ctx.parallelism); }
  SourceStatus poll(SourceOutput<T>& out) override {
    return detail::sourceStatus(
        split_.emit(out.remaining(), [&](std::uint64_t i) { out.collect(fn_(i)); }));
  }
  Duration blockedWait() const override { return split_.blockedWait(); }
  void snapshot(StateWriter& w) override { split_.snapshot(w); }
  void restore(StateReader& r) override { split_.restore(r); }
  bool restoreRescaled(const std::vector<std::string>& previous) override {
    split_.restoreRescaled(previous);
    return true;
  }

 private:
  F fn_;
  detail::IdSplit split_;
};

namespace detail {

/// Runs a Source in its task (internal). The task calls step() in a loop.
class SourceDriverBase : public Operator {
 public:
  void* input() override { return nullptr; }
  virtual SourceStatus step() = 0;
  virtual Duration blockedWait() const = 0;
  /// Forwards a barrier after the task snapshotted the chain.
  virtual void emitBarrier(std::uint64_t id) = 0;
  /// Called when step() returned Finished: fires and forwards end of input.
  virtual void finish() = 0;
  /// Marks the output idle (no data for a while).
  virtual void flushIdle() = 0;
};

template <class T>
class SourceDriver final : public SourceDriverBase {
 public:
  SourceDriver(const OperatorInit& init, SourceFactory<T> factory, Input<T>* out,
               Input<DeadLetter>* dead_letters)
      : init_(init), factory_(std::move(factory)), out_(out), dead_letters_(dead_letters) {
    context_.job_name = init.job_name;
    context_.operator_name = init.operator_name;
    context_.subtask = init.subtask;
    context_.parallelism = init.parallelism;
    context_.batch_size = init.batch_size;
    context_.services = init.services;
    guarded(init_.operator_name, [&] { source_ = factory_(); });
  }
  void open() override {
    guarded(init_.operator_name, [&] { source_->open(context_); });
  }
  void close() override { source_->close(); }
  bool stateful() const override { return true; }
  void snapshot(StateWriter& w) override {
    guarded(init_.operator_name, [&] { source_->snapshot(w); });
  }
  void restore(const OperatorRestore& r) override {
    if (static_cast<int>(r.previous.size()) != r.parallelism) {
      bool rescaled = false;
      guarded(init_.operator_name, [&] { rescaled = source_->restoreRescaled(r.previous); });
      if (!rescaled)
        throw ConfigError("source '" + init_.operator_name + "' was snapshotted with parallelism " +
                          std::to_string(r.previous.size()) + " and cannot be restored with " +
                          std::to_string(r.parallelism) +
                          " (this source cannot be rescaled; keep its parallelism)");
      return;
    }
    StateReader reader(r.previous[static_cast<std::size_t>(r.subtask)]);
    guarded(init_.operator_name, [&] { source_->restore(reader); });
  }
  void notifyCheckpointComplete(std::uint64_t id) override {
    guarded(init_.operator_name, [&] { source_->notifyCheckpointComplete(id); });
  }

  SourceStatus step() override {
    SourceOutput<T> output(batch_, init_.batch_size);
    SourceStatus status = SourceStatus::Finished;
    guarded(init_.operator_name, [&] { status = source_->poll(output); });
    if (!output.deadLetters().empty()) {
      if (dead_letters_ == nullptr)
        throw OperatorFailure(init_.operator_name,
                              "a dead letter was emitted but nothing consumes deadLetters()");
      dead_letters_->processBatch(output.deadLetters());
    }
    if (!batch_.empty()) {
      init_.counters->records_out.fetch_add(batch_.size(), std::memory_order_relaxed);
      out_->processBatch(batch_);
      batch_.clear();
    }
    if (Timestamp w = output.takeWatermark(); w != kMinTimestamp) out_->processWatermark(w);
    if (output.takeIdle()) out_->processIdle();
    return status;
  }
  Duration blockedWait() const override { return source_->blockedWait(); }
  void emitBarrier(std::uint64_t id) override {
    out_->processBarrier(id);
    if (dead_letters_) dead_letters_->processBarrier(id);
  }
  void finish() override {
    out_->endInput();
    if (dead_letters_) dead_letters_->endInput();
  }
  void flushIdle() override {}

 private:
  OperatorInit init_;
  SourceFactory<T> factory_;
  std::unique_ptr<Source<T>> source_;
  Input<T>* out_;
  Input<DeadLetter>* dead_letters_;
  SourceContext context_;
  Batch<T> batch_;
};

}  // namespace detail
}  // namespace lightflus
