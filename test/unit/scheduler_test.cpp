// The worker pool: pinned runnables (tasks whose state is bound to a thread, such as window
// state inside a per-thread V8 isolate) always run on one worker; the others still run.
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <future>
#include <set>
#include <thread>

#include "../../src/runtime/scheduler.hpp"

using namespace lightflus::detail;

namespace {

// Yields `steps` times, noting the threads it ran on.
class Stepper final : public Runnable {
 public:
  Stepper(Scheduler& s, int steps) : Runnable(s), left_(steps) {}
  Step step(SteadyTime&) override {
    threads_.insert(std::this_thread::get_id());
    // A little work, so that both workers are busy at once.
    for (int i = 0; i < 2000; ++i) sink_.fetch_add(1, std::memory_order_relaxed);
    return --left_ > 0 ? Step::Yield : Step::Done;
  }
  void done() override { finished_.set_value(); }
  std::set<std::thread::id> threads() const { return threads_; }
  void wait() {
    REQUIRE(finished_.get_future().wait_for(std::chrono::seconds(60)) == std::future_status::ready);
  }

 private:
  int left_;
  std::atomic<int> sink_{0};
  std::set<std::thread::id> threads_;
  std::promise<void> finished_;
};

}  // namespace

TEST_CASE("a pinned runnable runs on one worker while others run on any", "[scheduler]") {
  Scheduler scheduler(2);
  Stepper pinned_a(scheduler, 3000), pinned_b(scheduler, 3000);
  Stepper free_a(scheduler, 3000), free_b(scheduler, 3000), free_c(scheduler, 3000);
  pinned_a.pinTo(scheduler.nextPin());
  pinned_b.pinTo(scheduler.nextPin());
  for (Stepper* s : {&pinned_a, &pinned_b, &free_a, &free_b, &free_c}) scheduler.schedule(s);
  for (Stepper* s : {&pinned_a, &pinned_b, &free_a, &free_b, &free_c}) s->wait();
  CHECK(pinned_a.threads().size() == 1);
  CHECK(pinned_b.threads().size() == 1);
  // Round robin: the two pinned runnables have a worker each.
  CHECK(*pinned_a.threads().begin() != *pinned_b.threads().begin());
}

TEST_CASE("with one worker, pinned and free runnables both finish", "[scheduler]") {
  Scheduler scheduler(1);
  Stepper pinned(scheduler, 500), free(scheduler, 500);
  pinned.pinTo(scheduler.nextPin());
  scheduler.schedule(&pinned);
  scheduler.schedule(&free);
  pinned.wait();
  free.wait();
  CHECK(pinned.threads() == free.threads());
}
