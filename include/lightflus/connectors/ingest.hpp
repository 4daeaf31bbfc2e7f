// Ingest: records pushed into a running job from outside it (lightflusd's
// `POST /v1/jobs/{id}/events`, or any program embedding the engine).
//
// An IngestQueue is a bounded queue that producers on any thread offer batches of records to;
// the job's IngestSource drains it. offer() takes a whole batch or nothing: it waits until the
// queue has room for it (backpressure from the job reaches the producer), up to a timeout, and
// returns once the records are in the queue, which belongs to the job: the source's snapshot
// holds the records not yet emitted, so a checkpoint never loses an accepted record.
//
//     auto queue = std::make_shared<IngestQueue<Value>>(10'000);
//     ctx.fromSource<Value>([queue] { return std::make_unique<IngestSource<Value>>(queue); },
//                           "events", {.single = true}) ...;
//     queue->offer(std::move(records), std::chrono::seconds(10));  // from the HTTP thread
//     queue->close();  // the source finishes once it has emitted everything
//
// The source runs with parallelism 1 (one subtask drains the queue, in order).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "lightflus/error.hpp"
#include "lightflus/source.hpp"

namespace lightflus {

/// What IngestQueue::offer() did with a batch.
enum class OfferResult {
  Accepted,  ///< every record is in the queue
  TimedOut,  ///< the queue had no room in time; nothing was taken
  Closed,    ///< the queue is closed (the job ended); nothing was taken
};

template <class T>
class IngestQueue {
 public:
  /// At most `capacity` records wait in the queue. A single batch larger than that is taken
  /// whole once the queue is empty.
  explicit IngestQueue(std::size_t capacity = 10'000) : capacity_(capacity) {}

  /// Appends every record of `records`, or none of them.
  OfferResult offer(std::vector<T>&& records, std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    const bool room = space_.wait_for(lock, timeout, [&] {
      return closed_ || items_.empty() || items_.size() + records.size() <= capacity_;
    });
    if (closed_) return OfferResult::Closed;
    if (!room) return OfferResult::TimedOut;
    for (auto& r : records) items_.push_back(std::move(r));
    accepted_ += records.size();
    auto wake = wake_;
    lock.unlock();
    if (wake) wake();
    return OfferResult::Accepted;
  }

  /// No more offers; the source finishes once the queue is drained.
  void close() {
    std::unique_lock lock(mutex_);
    closed_ = true;
    auto wake = wake_;
    lock.unlock();
    space_.notify_all();
    if (wake) wake();
  }

  std::size_t size() const {
    std::lock_guard lock(mutex_);
    return items_.size();
  }
  std::size_t capacity() const { return capacity_; }
  /// Records accepted since the queue was made.
  std::uint64_t accepted() const {
    std::lock_guard lock(mutex_);
    return accepted_;
  }

  // Used by IngestSource.
  template <class Emit>
  bool drain(std::size_t max, Emit&& emit) {  // false once closed and empty
    std::unique_lock lock(mutex_);
    std::size_t n = 0;
    while (n < max && !items_.empty()) {
      emit(std::move(items_.front()));
      items_.pop_front();
      ++n;
    }
    const bool more = !closed_ || !items_.empty();
    lock.unlock();
    if (n > 0) space_.notify_all();
    return more;
  }
  std::vector<T> pending() const {
    std::lock_guard lock(mutex_);
    return std::vector<T>(items_.begin(), items_.end());
  }
  void prepend(std::vector<T>&& restored) {
    std::lock_guard lock(mutex_);
    for (auto it = restored.rbegin(); it != restored.rend(); ++it)
      items_.push_front(std::move(*it));
  }
  void setWakeup(std::function<void()> wake) {
    std::lock_guard lock(mutex_);
    wake_ = std::move(wake);
  }

 private:
  const std::size_t capacity_;
  mutable std::mutex mutex_;
  std::condition_variable space_;
  std::deque<T> items_;
  std::uint64_t accepted_ = 0;
  bool closed_ = false;
  std::function<void()> wake_;
};

/// Emits what producers offer to an IngestQueue; finishes when the queue is closed and empty.
/// Its snapshot holds the records still in the queue.
template <class T>
class IngestSource final : public Source<T> {
 public:
  explicit IngestSource(std::shared_ptr<IngestQueue<T>> queue) : queue_(std::move(queue)) {}

  void open(const SourceContext& ctx) override {
    if (ctx.parallelism != 1)
      throw ConfigError("operator '" + ctx.operator_name +
                        "': an ingest (HTTP) source runs with parallelism 1, not " +
                        std::to_string(ctx.parallelism));
    queue_->setWakeup([ctx] { ctx.wakeup(); });
    if (!restored_.empty()) queue_->prepend(std::move(restored_));
  }
  SourceStatus poll(SourceOutput<T>& out) override {
    bool more = queue_->drain(out.remaining(), [&](T&& v) { out.collect(std::move(v)); });
    if (!more) return SourceStatus::Finished;
    return out.full() ? SourceStatus::HaveMoreOutput : SourceStatus::Blocked;
  }
  Duration blockedWait() const override { return Duration(100); }
  void snapshot(StateWriter& w) override {
    std::vector<T> pending = queue_->pending();
    w.writeSize(pending.size());
    for (const auto& v : pending) detail::writeIfSerializable(w, v);
  }
  void restore(StateReader& r) override {
    if constexpr (Serializable<T>) {
      const std::uint64_t n = r.readSize();
      restored_.clear();
      for (std::uint64_t i = 0; i < n; ++i) restored_.push_back(r.read<T>());
    }
  }
  void close() override { queue_->setWakeup(nullptr); }

 private:
  std::shared_ptr<IngestQueue<T>> queue_;
  std::vector<T> restored_;
};

}  // namespace lightflus
