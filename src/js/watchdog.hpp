// Watchdog: stops a call into JavaScript that runs longer than its time limit.
//
// Each JsIsolate owns one Watchdog, and so one thread that sleeps almost always. JsIsolate
// brackets every evaluation and call with start()/stop(); when a call is still running at its
// deadline the watchdog calls v8::Isolate::TerminateExecution (the one isolate method that is
// safe from another thread), V8 unwinds the script, and JsIsolate reports the time limit.
//
// start()/stop() cost two atomic operations: the watchdog thread sleeps until the deadline of
// the call it last saw and re-checks then, so a stream of short calls never wakes it more than
// once per time limit. One thread per isolate (rather than one per process) keeps ownership
// plain: the isolate's lifetime bounds the thread's, with no registry to unregister from.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>

namespace v8 {
class Isolate;
}

namespace lightflus::js {

/// Terminates JavaScript execution in one isolate when a call exceeds `limit`.
///
///   Watchdog watchdog(isolate, std::chrono::seconds(10));
///   watchdog.start();
///   function->Call(...);
///   bool timed_out = watchdog.stop();
class Watchdog {
 public:
  /// Starts the watchdog thread. A zero `limit` disables the watchdog (no thread).
  Watchdog(v8::Isolate* isolate, std::chrono::milliseconds limit);
  /// Stops and joins the thread. No call may be running.
  ~Watchdog();

  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;

  std::chrono::milliseconds limit() const noexcept { return limit_; }

  /// A call begins (on the isolate's thread). Calls do not nest: JsIsolate starts the watchdog
  /// for the outermost call only.
  void start() noexcept;

  /// The call has ended. Returns true when the watchdog requested termination of this call;
  /// the caller must then cancel any termination still pending
  /// (v8::Isolate::CancelTerminateExecution) before running JavaScript again.
  bool stop() noexcept;

 private:
  // state_ holds (call number << 2) | phase, so that the watchdog can only ever terminate the
  // very call whose deadline passed (a compare-and-swap from kRunning to kFiring).
  enum Phase : std::uint64_t { kIdle = 0, kRunning = 1, kFiring = 2, kFired = 3 };

  void run();
  void wakeIfSleeping() noexcept;

  v8::Isolate* const isolate_;
  const std::chrono::milliseconds limit_;
  std::uint64_t calls_ = 0;  // owned by the isolate's thread
  std::atomic<std::uint64_t> state_{kIdle};
  std::atomic<std::int64_t> started_ns_{0};  // steady_clock time of the current call's start
  std::atomic<bool> sleeping_{false};        // the thread waits for a call to start
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;  // guarded by mutex_
  std::thread thread_;
};

}  // namespace lightflus::js
