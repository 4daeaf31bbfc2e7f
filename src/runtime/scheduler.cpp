// The worker pool.
#include "scheduler.hpp"

#include <cstdlib>
#include <string>

namespace lightflus::detail {

Runnable::~Runnable() {
  scheduler_.cancelTimer(this);
}

void Runnable::wake() {
  scheduler_.schedule(this);
}

Scheduler& Scheduler::shared() {
  static Scheduler instance([] {
    if (const char* env = std::getenv("LIGHTFLUS_WORKERS")) {
      int n = std::atoi(env);
      if (n > 0) return static_cast<unsigned>(n);
    }
    return std::max(2u, std::thread::hardware_concurrency());
  }());
  return instance;
}

Scheduler::Scheduler(unsigned workers) : pinned_queues_(workers) {
  for (unsigned i = 0; i < workers; ++i) workers_.emplace_back([this, i] { workerLoop(i); });
  timer_thread_ = std::thread([this] { timerLoop(); });
}

Scheduler::~Scheduler() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_all();
  { std::lock_guard lock(timer_mutex_); }
  timer_cv_.notify_all();
  for (auto& t : workers_) t.join();
  timer_thread_.join();
}

void Scheduler::schedule(Runnable* r) {
  for (;;) {
    int s = r->state_.load(std::memory_order_acquire);
    if (s == Runnable::kIdle) {
      if (r->state_.compare_exchange_weak(s, Runnable::kQueued)) {
        enqueue(r);
        return;
      }
    } else if (s == Runnable::kRunning) {
      if (r->state_.compare_exchange_weak(s, Runnable::kRunningWoken)) return;
    } else {
      return;  // queued, already woken, or done
    }
  }
}

void Scheduler::enqueue(Runnable* r) {
  {
    std::lock_guard lock(mutex_);
    if (r->pinned_ >= 0)
      pinned_queues_[static_cast<std::size_t>(r->pinned_) % pinned_queues_.size()].push_back(r);
    else
      queue_.push_back(r);
  }
  // A pinned runnable needs its own worker, which notify_one might not pick.
  if (r->pinned_ >= 0)
    cv_.notify_all();
  else
    cv_.notify_one();
}

void Scheduler::workerLoop(unsigned index) {
  std::deque<Runnable*>& mine = pinned_queues_[index];
  bool mine_first = true;  // alternates, so that neither queue starves the other
  for (;;) {
    Runnable* r;
    {
      std::unique_lock lock(mutex_);
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty() || !mine.empty(); });
      if (queue_.empty() && mine.empty()) return;  // stopping
      std::deque<Runnable*>& from = mine.empty()                   ? queue_
                                    : queue_.empty() || mine_first ? mine
                                                                   : queue_;
      mine_first = !mine_first;
      r = from.front();
      from.pop_front();
    }
    r->state_.store(Runnable::kRunning, std::memory_order_release);
    SteadyTime wake_at{};
    Runnable::Step step = r->step(wake_at);
    if (step == Runnable::Step::Done) {
      r->state_.store(Runnable::kDone, std::memory_order_release);
      r->done();  // the owner may destroy it from here on: touch nothing after
      continue;
    }
    if (step == Runnable::Step::Yield) {
      r->state_.store(Runnable::kQueued, std::memory_order_release);
      enqueue(r);
      continue;
    }
    if (wake_at != SteadyTime{}) wakeAt(r, wake_at);
    int expected = Runnable::kRunning;
    if (!r->state_.compare_exchange_strong(expected, Runnable::kIdle)) {
      // Woken while it ran: run it again.
      r->state_.store(Runnable::kQueued, std::memory_order_release);
      enqueue(r);
    }
  }
}

void Scheduler::wakeAt(Runnable* r, SteadyTime when) {
  bool earliest;
  {
    std::lock_guard lock(timer_mutex_);
    if (r->has_timer_) {
      if (r->timer_->first <= when) return;  // an earlier wake-up is already due
      timers_.erase(r->timer_);
    }
    r->timer_ = timers_.emplace(when, r);
    r->has_timer_ = true;
    earliest = r->timer_ == timers_.begin();
  }
  if (earliest) timer_cv_.notify_one();
}

void Scheduler::cancelTimer(Runnable* r) {
  std::lock_guard lock(timer_mutex_);
  if (r->has_timer_) {
    timers_.erase(r->timer_);
    r->has_timer_ = false;
  }
}

void Scheduler::timerLoop() {
  std::unique_lock lock(timer_mutex_);
  for (;;) {
    {
      std::lock_guard stop_lock(mutex_);
      if (stopping_) return;
    }
    if (timers_.empty()) {
      timer_cv_.wait_for(lock, std::chrono::milliseconds(100));
      continue;
    }
    auto now = std::chrono::steady_clock::now();
    auto first = timers_.begin();
    if (first->first > now) {
      // Copy the deadline: cancelTimer() may erase the entry while we wait.
      SteadyTime deadline = first->first;
      timer_cv_.wait_until(lock, deadline);
      continue;
    }
    Runnable* r = first->second;
    r->has_timer_ = false;
    timers_.erase(first);
    // schedule() only touches the runnable's state; its owner cancels timers before
    // destroying it, which needs this mutex, so the runnable is alive here.
    schedule(r);
  }
}

}  // namespace lightflus::detail
