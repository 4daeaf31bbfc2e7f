#include "watchdog.hpp"

#include <v8-isolate.h>

namespace lightflus::js {

namespace {

using Clock = std::chrono::steady_clock;

std::int64_t nowNs() noexcept {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
      .count();
}

}  // namespace

Watchdog::Watchdog(v8::Isolate* isolate, std::chrono::milliseconds limit)
    : isolate_(isolate), limit_(limit) {
  if (limit_.count() > 0) thread_ = std::thread([this] { run(); });
}

Watchdog::~Watchdog() {
  if (!thread_.joinable()) return;
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  thread_.join();
}

void Watchdog::start() noexcept {
  if (!thread_.joinable()) return;
  ++calls_;
  started_ns_.store(nowNs(), std::memory_order_relaxed);
  // seq_cst pairs with the thread's store to sleeping_ and reload of state_ in run(): at least
  // one side sees the other, so a call never starts unwatched.
  state_.store(calls_ << 2 | kRunning, std::memory_order_seq_cst);
  if (sleeping_.load(std::memory_order_seq_cst)) wakeIfSleeping();
}

bool Watchdog::stop() noexcept {
  if (!thread_.joinable()) return false;
  std::uint64_t running = calls_ << 2 | kRunning;
  if (state_.compare_exchange_strong(running, calls_ << 2 | kIdle)) return false;
  // The watchdog claimed this call: wait until its TerminateExecution has been issued, so that
  // the caller's CancelTerminateExecution comes after it.
  while ((state_.load() & 3) == kFiring) std::this_thread::yield();
  state_.store(calls_ << 2 | kIdle);
  return true;
}

void Watchdog::wakeIfSleeping() noexcept {
  {
    std::lock_guard lock(mutex_);
    sleeping_.store(false, std::memory_order_seq_cst);
  }
  wake_.notify_one();
}

void Watchdog::run() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    // Read the call and its start time consistently (the start time is written first).
    std::uint64_t state = state_.load();
    std::int64_t started = started_ns_.load(std::memory_order_relaxed);
    if (state_.load() != state) continue;

    if ((state & 3) == kRunning) {
      auto deadline = Clock::time_point(std::chrono::nanoseconds(started)) + limit_;
      if (Clock::now() < deadline) {
        wake_.wait_until(lock, deadline);
        continue;
      }
      if (state_.compare_exchange_strong(state, (state & ~std::uint64_t{3}) | kFiring)) {
        isolate_->TerminateExecution();
        state_.store((state & ~std::uint64_t{3}) | kFired);
      }
      continue;
    }

    // No call is running: sleep until one starts.
    sleeping_.store(true, std::memory_order_seq_cst);
    if (state_.load(std::memory_order_seq_cst) != state) {
      sleeping_.store(false);
      continue;
    }
    wake_.wait(lock, [this] { return stopping_ || !sleeping_.load(); });
  }
}

}  // namespace lightflus::js
