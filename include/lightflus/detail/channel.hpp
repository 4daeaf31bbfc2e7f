// Channels between tasks (internal): input gates, exchanges and key groups.
//
// A task with upstream tasks reads from one InputGate: a bounded queue per upstream subtask.
// Tasks run cooperatively on a worker pool, so nothing here blocks a thread: a producer whose
// queue is full parks (it is not scheduled again until the consumer has taken from that
// queue), and a consumer with nothing to read parks until a producer pushes. That is
// backpressure, and it propagates hop by hop up to the sources. The gate merges watermarks (minimum
// over active inputs), tracks idleness and end of input, and aligns checkpoint barriers: an input
// that delivered the barrier is not read again until every input has (Chandy-Lamport with aligned
// barriers, as in Flink). An ExchangeOutput sits at the end of the producer's chain and partitions
// batches over the gates of the next operator's subtasks: forward, rebalance, broadcast, or by
// key group.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <vector>

#include "lightflus/detail/operator.hpp"

namespace lightflus::detail {

/// Thrown in a task when the job is cancelled.
struct LIGHTFLUS_API Cancelled {};

/// Something that can be scheduled to run again (a task).
class Waker {
 public:
  virtual ~Waker() = default;
  /// Makes the task runnable (callable from any thread).
  virtual void wake() = 0;
};

/// The end of a task's chain that sends to other tasks: buffers partial batches.
class Flushable {
 public:
  virtual ~Flushable() = default;
  virtual void flush() = 0;
  /// True when every queue this output sends to has room; otherwise registers `waker` to be
  /// woken when the full queue drains, and returns false.
  virtual bool ready(Waker* waker) = 0;
};

using SteadyTime = std::chrono::steady_clock::time_point;

/// Type-independent view of a gate, for the task loop.
class GateBase {
 public:
  enum class Poll { Dispatched, Idle, Finished, BarrierAligned };
  virtual ~GateBase() = default;
  /// The task that reads this gate; woken when a producer pushes to an empty gate.
  virtual void setConsumer(Waker* consumer) = 0;
  /// Takes one message, if any, and hands it to the head of the chain. Returns Idle when no
  /// input is ready (the consumer is woken on the next push), BarrierAligned with `barrier` set
  /// once all inputs delivered a barrier (the caller snapshots, then calls forwardBarrier()),
  /// Finished when every input has ended.
  virtual Poll tryDispatch(std::uint64_t& barrier) = 0;
  virtual void forwardBarrier(std::uint64_t barrier) = 0;
  /// Tells the head of the chain that every input has ended.
  virtual void endHead() = 0;
  virtual void cancel() = 0;
  /// Batches queued now (metrics: queue fill) and the capacity.
  virtual std::size_t queued() = 0;
  virtual std::size_t capacity() const = 0;
};

/// Bounded queues from N producers to one consumer task.
template <class T>
class InputGate final : public GateBase {
 public:
  enum class Kind : std::uint8_t { Data, Watermark, Idle, Barrier, End };
  struct Message {
    Kind kind;
    Batch<T> batch;
    std::int64_t value = 0;
  };

  InputGate(int producers, std::size_t capacity_per_producer)
      : producers_(static_cast<std::size_t>(producers)), capacity_(capacity_per_producer) {}

  void setHead(Input<T>* head) { head_ = head; }
  void setConsumer(Waker* consumer) override { consumer_ = consumer; }

  /// Called by producer `index`. Never blocks (a producer checks hasRoom() before it takes
  /// more input, so a queue exceeds its capacity by at most what one input produces).
  /// Returns false when the queue is now full.
  bool push(int index, Message message) {
    Waker* wake = nullptr;
    bool room;
    {
      std::lock_guard lock(mutex_);
      if (cancelled_) throw Cancelled{};
      auto& p = producers_[static_cast<std::size_t>(index)];
      p.queue.push_back(std::move(message));
      ++queued_;
      room = p.queue.size() < capacity_;
      if (consumer_idle_) {
        consumer_idle_ = false;
        wake = consumer_;
      }
    }
    if (wake) wake->wake();
    return room;
  }

  /// True if producer `index` may push; else `producer` is woken once its queue has room.
  bool hasRoom(int index, Waker* producer) {
    std::lock_guard lock(mutex_);
    auto& p = producers_[static_cast<std::size_t>(index)];
    if (p.queue.size() < capacity_ || cancelled_) return true;
    p.waiting = producer;
    return false;
  }

  Poll tryDispatch(std::uint64_t& barrier) override {
    Message m;
    std::size_t from;
    Waker* wake = nullptr;
    {
      std::lock_guard lock(mutex_);
      if (cancelled_) throw Cancelled{};
      if (!pickLocked(from)) {
        if (allEndedLocked()) return Poll::Finished;
        consumer_idle_ = true;
        return Poll::Idle;
      }
      auto& p = producers_[from];
      m = std::move(p.queue.front());
      p.queue.pop_front();
      --queued_;
      if (p.waiting && p.queue.size() < capacity_) wake = std::exchange(p.waiting, nullptr);
    }
    if (wake) wake->wake();
    return dispatch(from, std::move(m), barrier);
  }

  void forwardBarrier(std::uint64_t id) override { head_->processBarrier(id); }
  void endHead() override { head_->endInput(); }

  void cancel() override {
    std::vector<Waker*> wake;
    {
      std::lock_guard lock(mutex_);
      cancelled_ = true;
      for (auto& p : producers_)
        if (p.waiting) wake.push_back(std::exchange(p.waiting, nullptr));
      if (consumer_) wake.push_back(consumer_);
    }
    for (auto* w : wake) w->wake();
  }

  std::size_t queued() override {
    std::lock_guard lock(mutex_);
    return queued_;
  }
  std::size_t capacity() const override { return capacity_ * producers_.size(); }

 private:
  struct Producer {
    std::deque<Message> queue;
    Timestamp watermark = kMinTimestamp;
    bool idle = false;
    bool ended = false;
    bool blocked = false;      // delivered the current barrier
    Waker* waiting = nullptr;  // a producer parked on this full queue
  };

  bool pickLocked(std::size_t& from) {
    const std::size_t n = producers_.size();
    for (std::size_t i = 0; i < n; ++i) {
      std::size_t k = (next_ + i) % n;
      auto& p = producers_[k];
      if (!p.blocked && !p.queue.empty()) {
        next_ = (k + 1) % n;
        from = k;
        return true;
      }
    }
    return false;
  }

  bool allEndedLocked() const {
    for (const auto& p : producers_)
      if (!p.ended || !p.queue.empty()) return false;
    return true;
  }

  Poll dispatch(std::size_t from, Message m, std::uint64_t& barrier) {
    auto& p = producers_[from];  // only the consumer touches these fields (but `blocked`)
    switch (m.kind) {
      case Kind::Data:
        if (p.idle) p.idle = false;
        head_->processBatch(m.batch);
        return Poll::Dispatched;
      case Kind::Watermark:
        p.idle = false;
        if (m.value > p.watermark) p.watermark = m.value;
        advanceWatermark();
        return Poll::Dispatched;
      case Kind::Idle:
        p.idle = true;
        advanceWatermark();
        return Poll::Dispatched;
      case Kind::Barrier: {
        std::lock_guard lock(mutex_);
        p.blocked = true;
        pending_barrier_ = static_cast<std::uint64_t>(m.value);
        return checkAlignedLocked(barrier);
      }
      case Kind::End: {
        p.ended = true;
        advanceWatermark();
        std::lock_guard lock(mutex_);
        if (pending_barrier_ != 0) {
          Poll r = checkAlignedLocked(barrier);
          if (r == Poll::BarrierAligned) return r;
        }
        if (allEndedLocked()) return Poll::Finished;
        return Poll::Dispatched;
      }
    }
    return Poll::Dispatched;
  }

  Poll checkAlignedLocked(std::uint64_t& barrier) {
    for (const auto& p : producers_)
      if (!p.blocked && !p.ended) return Poll::Dispatched;
    for (auto& p : producers_) p.blocked = false;
    barrier = pending_barrier_;
    pending_barrier_ = 0;
    return Poll::BarrierAligned;
  }

  void advanceWatermark() {
    Timestamp combined = kMaxTimestamp;
    bool any_active = false, any_open = false;
    for (const auto& p : producers_) {
      if (p.ended) continue;
      any_open = true;
      if (p.idle) continue;
      any_active = true;
      combined = std::min(combined, p.watermark);
    }
    if (!any_open) return;  // end of input: the task calls endInput()
    if (!any_active) {
      // Every open input is idle, so none holds the watermark back: advance to the highest
      // watermark any input reached, ended ones included (as Flink does). Otherwise data that a
      // finished input delivered would wait for an idle one.
      Timestamp highest = kMinTimestamp;
      for (const auto& p : producers_) highest = std::max(highest, p.watermark);
      if (highest > emitted_watermark_) {
        emitted_watermark_ = highest;
        head_->processWatermark(highest);
      }
      if (!idle_forwarded_) {
        idle_forwarded_ = true;
        head_->processIdle();
      }
      return;
    }
    idle_forwarded_ = false;
    if (combined > emitted_watermark_) {
      emitted_watermark_ = combined;
      head_->processWatermark(combined);
    }
  }

  std::mutex mutex_;
  std::vector<Producer> producers_;
  std::size_t capacity_;
  std::size_t queued_ = 0;
  std::size_t next_ = 0;
  Waker* consumer_ = nullptr;
  bool consumer_idle_ = false;
  bool cancelled_ = false;
  bool idle_forwarded_ = false;
  std::uint64_t pending_barrier_ = 0;
  Timestamp emitted_watermark_ = kMinTimestamp;
  Input<T>* head_ = nullptr;
};

/// Mixes a hash (std::hash is the identity for integers) and maps it to a key group.
inline int keyGroupOf(std::size_t hash, int max_parallelism) {
  std::uint64_t h = hash;
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ULL;
  h ^= h >> 33;
  // A mask for a power of two (the default 128): the same result as %, without a division.
  const auto m = static_cast<std::uint64_t>(max_parallelism);
  return static_cast<int>((m & (m - 1)) == 0 ? h & (m - 1) : h % m);
}

/// The subtask that owns a key group (contiguous ranges, as in Flink).
inline int subtaskOfKeyGroup(int key_group, int parallelism, int max_parallelism) {
  return key_group * parallelism / max_parallelism;
}

enum class Partitioning { Forward, Rebalance, Broadcast, Hash };

/// Sends a chain's output to the gates of the next operator's subtasks.
template <class T, class KeyHash = void>
class ExchangeOutput final : public Input<T>, public Flushable {
 public:
  /// `key_hash` is used only for Partitioning::Hash: a callable size_t(const T&).
  ExchangeOutput(Partitioning partitioning, std::vector<InputGate<T>*> targets, int producer_index,
                 int own_subtask, int max_parallelism, std::size_t batch_size,
                 std::atomic<std::int64_t>* backpressure_ns, const KeyHash* key_hash = nullptr)
      : partitioning_(partitioning),
        targets_(std::move(targets)),
        buffers_(targets_.size()),
        producer_index_(producer_index),
        max_parallelism_(max_parallelism),
        batch_size_(batch_size),
        backpressure_ns_(backpressure_ns),
        next_(static_cast<std::size_t>(own_subtask) % targets_.size()),
        forward_target_(static_cast<std::size_t>(own_subtask) % targets_.size()) {
    if constexpr (!std::is_void_v<KeyHash>) {
      if (key_hash) key_hash_.emplace(*key_hash);
      // The target of every key group, so that routing an element takes no division.
      const int n = static_cast<int>(targets_.size());
      if (partitioning_ == Partitioning::Hash)
        for (int kg = 0; kg < max_parallelism; ++kg)
          target_of_key_group_.push_back(
              static_cast<std::uint32_t>(subtaskOfKeyGroup(kg, n, max_parallelism)));
    }
  }

  void processBatch(Batch<T>& batch) override {
    switch (partitioning_) {
      case Partitioning::Forward:
        append(forward_target_, batch);
        break;
      case Partitioning::Rebalance:
        append(next_, batch);
        if (buffers_[next_].empty()) next_ = (next_ + 1) % targets_.size();
        break;
      case Partitioning::Broadcast:
        for (std::size_t i = 0; i < targets_.size(); ++i) {
          Batch<T> copy = batch;
          append(i, copy);
        }
        break;
      case Partitioning::Hash:
        if constexpr (!std::is_void_v<KeyHash>) {
          for (auto& e : batch) {
            int kg = keyGroupOf((*key_hash_)(e.value), max_parallelism_);
            std::size_t t = target_of_key_group_[static_cast<std::size_t>(kg)];
            auto& buf = buffers_[t];
            buf.push_back(std::move(e));
            if (buf.size() >= batch_size_) send(t);
          }
        }
        break;
    }
    batch.clear();
  }

  void processWatermark(Timestamp w) override { broadcastControl(Kind::Watermark, w); }
  void processIdle() override { broadcastControl(Kind::Idle, 0); }
  void processBarrier(std::uint64_t id) override {
    broadcastControl(Kind::Barrier, static_cast<std::int64_t>(id));
  }
  void endInput() override { broadcastControl(Kind::End, 0); }

  void flush() override {
    for (std::size_t i = 0; i < buffers_.size(); ++i)
      if (!buffers_[i].empty()) send(i);
  }

  bool ready(Waker* waker) override {
    if (!full_) return true;
    for (auto* t : targets_)
      if (!t->hasRoom(producer_index_, waker)) {
        if (blocked_since_ == SteadyTime{}) blocked_since_ = std::chrono::steady_clock::now();
        return false;
      }
    full_ = false;
    if (blocked_since_ != SteadyTime{}) {
      if (backpressure_ns_)
        backpressure_ns_->fetch_add(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                        std::chrono::steady_clock::now() - blocked_since_)
                                        .count(),
                                    std::memory_order_relaxed);
      blocked_since_ = SteadyTime{};
    }
    return true;
  }

 private:
  using Kind = typename InputGate<T>::Kind;

  void append(std::size_t target, Batch<T>& batch) {
    auto& buf = buffers_[target];
    if (buf.empty() && batch.size() >= batch_size_ / 2) {
      buf.swap(batch);  // hand over whole batches without copying
    } else {
      buf.insert(buf.end(), std::make_move_iterator(batch.begin()),
                 std::make_move_iterator(batch.end()));
    }
    if (buf.size() >= batch_size_ / 2) send(target);
  }

  void send(std::size_t target) {
    typename InputGate<T>::Message m{Kind::Data, std::move(buffers_[target]), 0};
    buffers_[target] = Batch<T>();
    buffers_[target].reserve(batch_size_);
    pushTo(target, std::move(m));
  }

  void broadcastControl(Kind kind, std::int64_t value) {
    flush();
    for (std::size_t i = 0; i < targets_.size(); ++i)
      pushTo(i, typename InputGate<T>::Message{kind, {}, value});
  }

  void pushTo(std::size_t target, typename InputGate<T>::Message m) {
    if (!targets_[target]->push(producer_index_, std::move(m))) full_ = true;
  }

  Partitioning partitioning_;
  std::vector<InputGate<T>*> targets_;
  std::vector<Batch<T>> buffers_;
  int producer_index_;
  int max_parallelism_;
  std::size_t batch_size_;
  std::atomic<std::int64_t>* backpressure_ns_;
  std::size_t next_;
  std::size_t forward_target_;
  bool full_ = false;
  SteadyTime blocked_since_{};
  std::vector<std::uint32_t> target_of_key_group_;  // Partitioning::Hash only
  struct NoHash {};
  std::conditional_t<std::is_void_v<KeyHash>, std::optional<NoHash>, std::optional<KeyHash>>
      key_hash_;
};

}  // namespace lightflus::detail
