// The worker pool (internal): runs tasks cooperatively on a fixed number of threads.
//
// A task is a Runnable: a worker calls step(), which does a bounded amount of work and says
// whether to run again (Yield), to wait until someone wakes it or its timer expires (Park), or
// that it is finished (Done). Channels wake parked tasks when data or room arrives; a timer
// thread wakes tasks whose processing-time timers, flush deadlines or source retry waits are
// due. The pool is shared by all jobs of the process (one per core by default).
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "lightflus/detail/channel.hpp"

namespace lightflus::detail {

class Scheduler;

class Runnable : public Waker {
 public:
  enum class Step { Yield, Park, Done };
  explicit Runnable(Scheduler& scheduler) : scheduler_(scheduler) {}
  ~Runnable() override;
  /// Does some work; with Park, `wake_at` (if set) asks for a wake-up at that time.
  virtual Step step(SteadyTime& wake_at) = 0;
  /// Called by the worker after step() returned Done, as its very last access to this object:
  /// the owner may destroy it from then on.
  virtual void done() = 0;
  void wake() override;
  /// Runs this runnable on one worker thread only (worker index modulo the pool size), from
  /// its next scheduling on. For tasks that hold a thread-bound resource, such as state inside
  /// a V8 isolate (one isolate per worker thread).
  void pinTo(unsigned worker) { pinned_ = static_cast<int>(worker); }
  bool pinned() const { return pinned_ >= 0; }

 private:
  friend class Scheduler;
  enum State : int { kIdle, kQueued, kRunning, kRunningWoken, kDone };
  Scheduler& scheduler_;
  std::atomic<int> state_{kIdle};
  std::multimap<SteadyTime, Runnable*>::iterator timer_;
  bool has_timer_ = false;  // guarded by the scheduler's timer mutex
  int pinned_ = -1;         // the worker it must run on, or -1
};

class Scheduler {
 public:
  /// The process-wide pool: LIGHTFLUS_WORKERS threads, else one per core (at least 2).
  static Scheduler& shared();
  explicit Scheduler(unsigned workers);
  ~Scheduler();
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  void schedule(Runnable* r);
  void wakeAt(Runnable* r, SteadyTime when);
  void cancelTimer(Runnable* r);
  unsigned workers() const { return static_cast<unsigned>(workers_.size()); }
  /// The worker for the next runnable to pin (round robin, so pinned tasks spread out).
  unsigned nextPin() { return next_pin_.fetch_add(1, std::memory_order_relaxed) % workers(); }

 private:
  void enqueue(Runnable* r);
  void workerLoop(unsigned index);
  void timerLoop();

  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<Runnable*> queue_;
  std::vector<std::deque<Runnable*>> pinned_queues_;  // one per worker
  std::atomic<unsigned> next_pin_{0};
  bool stopping_ = false;
  std::vector<std::thread> workers_;

  std::mutex timer_mutex_;
  std::condition_variable timer_cv_;
  std::multimap<SteadyTime, Runnable*> timers_;
  std::thread timer_thread_;
};

}  // namespace lightflus::detail
