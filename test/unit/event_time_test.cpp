// Tests of event time (time.hpp): watermarks from assignTimestamps() and from sources, the
// minimum over parallel inputs, idle inputs (WatermarkStrategy::withIdleness), event-time
// timers of keyed process functions, and the end of a bounded input. Sources written here
// control exactly which elements and watermarks arrive; expected results are written by hand.
#include "lightflus/time.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#define CATCH_CONFIG_ENABLE_PAIR_STRINGMAKER
#define CATCH_CONFIG_ENABLE_TUPLE_STRINGMAKER
#include <catch2/catch.hpp>

#include "lightflus/datastream.hpp"

using namespace lightflus;

namespace {

/// A keyed event at `ts` (ms).
struct Event {
  std::string key;
  Timestamp ts = 0;
  friend bool operator==(const Event&, const Event&) = default;
  friend auto operator<=>(const Event&, const Event&) = default;
  friend std::ostream& operator<<(std::ostream& os, const Event& e) {
    return os << "{" << e.key << " @" << e.ts << "}";
  }
};

/// A count per key and window.
struct WindowCount {
  std::string key;
  Timestamp start = 0;
  Timestamp end = 0;
  std::int64_t count = 0;
  friend bool operator==(const WindowCount&, const WindowCount&) = default;
  friend auto operator<=>(const WindowCount&, const WindowCount&) = default;
  friend std::ostream& operator<<(std::ostream& os, const WindowCount& w) {
    return os << "{" << w.key << " [" << w.start << "," << w.end << ") " << w.count << "}";
  }
};

const auto kKey = [](const Event& e) { return e.key; };
const auto kTimestamp = [](const Event& e) { return e.ts; };
const auto kCountPerWindow = [](const std::string& key, const TimeWindow& w, std::int64_t n) {
  return WindowCount{key, w.start, w.end, n};
};
const auto kTenSeconds = TumblingEventTimeWindows::of(Time::seconds(10));

template <class T>
std::vector<T> sorted(std::vector<T> v) {
  std::sort(v.begin(), v.end());
  return v;
}

/// What one poll of a ScriptedSource emits: elements with timestamps, then maybe a watermark.
struct Poll {
  std::vector<Event> elements;
  std::optional<Timestamp> watermark;
};

/// Emits one Poll per poll() (elements carry their `ts` as timestamp), then finishes.
class ScriptedSource final : public Source<Event> {
 public:
  explicit ScriptedSource(std::vector<Poll> polls) : polls_(std::move(polls)) {}
  SourceStatus poll(SourceOutput<Event>& out) override {
    if (next_ < polls_.size()) {
      const Poll& p = polls_[next_++];
      for (const auto& e : p.elements) out.collect(e, e.ts);
      if (p.watermark) out.emitWatermark(*p.watermark);
    }
    return next_ < polls_.size() ? SourceStatus::HaveMoreOutput : SourceStatus::Finished;
  }

 private:
  std::vector<Poll> polls_;
  std::size_t next_ = 0;
};

DataStream<Event> scripted(ExecutionContext& ctx, std::vector<Poll> polls) {
  return ctx.fromSource<Event>([polls] { return std::make_unique<ScriptedSource>(polls); },
                               "scripted", SourceOptions{.single = true});
}

/// Subtask 0 emits `events` (without timestamps) at once; other subtasks emit nothing. All
/// stay Blocked until the test releases them, then finish.
class HeldSource final : public Source<Event> {
 public:
  HeldSource(std::vector<Event> events, std::shared_ptr<std::atomic<bool>> released)
      : events_(std::move(events)), released_(std::move(released)) {}
  void open(const SourceContext& ctx) override { subtask_ = ctx.subtask; }
  SourceStatus poll(SourceOutput<Event>& out) override {
    if (subtask_ == 0 && !emitted_) {
      for (const auto& e : events_) out.collect(e);
      emitted_ = true;
      return SourceStatus::HaveMoreOutput;
    }
    return released_->load() ? SourceStatus::Finished : SourceStatus::Blocked;
  }
  Duration blockedWait() const override { return Duration(5); }

 private:
  std::vector<Event> events_;
  std::shared_ptr<std::atomic<bool>> released_;
  int subtask_ = 0;
  bool emitted_ = false;
};

/// Releases held sources when the test leaves its scope, also when it fails early.
struct ReleaseOnExit {
  std::shared_ptr<std::atomic<bool>> released = std::make_shared<std::atomic<bool>>(false);
  ~ReleaseOnExit() { released->store(true); }
};

template <class Pred>
bool waitUntil(Pred pred, std::chrono::milliseconds timeout) {
  auto until = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    if (std::chrono::steady_clock::now() >= until) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

/// The input of the idleness tests: with monotonous watermarks, W = 11999 after it, so window
/// [0,10000) can fire and [10000,20000) cannot.
std::vector<Event> idleTestInput() {
  return {{"a", 1000}, {"b", 1500}, {"a", 2000}, {"a", 12000}};
}
const std::vector<WindowCount> kFirstWindow = {{"a", 0, 10000, 2}, {"b", 0, 10000, 1}};
const std::vector<WindowCount> kAllWindows = {
    {"a", 0, 10000, 2}, {"a", 10000, 20000, 1}, {"b", 0, 10000, 1}};

}  // namespace

TEST_CASE("an element is late once the watermark reaches its window's last millisecond",
          "[event-time]") {
  // Bound 5 s: W = max - 5000 - 1. The window [0,10000) ends at 9999.
  auto run = [](Timestamp second) {
    ExecutionContext ctx("watermark-boundary");
    OutputTag<Event> late("late");
    auto counts = ctx.fromCollection<Event>({{"a", 1000}, {"a", second}, {"a", 9999}})
                      .assignTimestamps(kTimestamp,
                                        WatermarkStrategy::boundedOutOfOrderness(Time::seconds(5)))
                      .keyBy(kKey)
                      .window(kTenSeconds)
                      .sideOutputLateData(late)
                      .aggregate(Count{}, kCountPerWindow);
    auto result = counts.collect();
    auto late_result = counts.getSideOutput(late).collect();
    ctx.execute(ExecutionOptions{.batch_size = 1});
    return std::pair(sorted(result.values()), late_result.values());
  };

  SECTION("W = 9999 after a@15000: a@9999 is late") {
    auto [counts, late] = run(15000);
    CHECK(counts == std::vector<WindowCount>{{"a", 0, 10000, 1}, {"a", 10000, 20000, 1}});
    CHECK(late == std::vector<Event>{{"a", 9999}});
  }
  SECTION("W = 9998 after a@14999: a@9999 is on time") {
    auto [counts, late] = run(14999);
    CHECK(counts == std::vector<WindowCount>{{"a", 0, 10000, 2}, {"a", 10000, 20000, 1}});
    CHECK(late.empty());
  }
}

TEST_CASE("monotonous timestamps make the watermark the largest timestamp seen minus 1 ms",
          "[event-time]") {
  // Flink's rule (bounded out-of-orderness of 0): after a@9999 W = 9998, so another a@9999 is
  // on time; after a@10000 W = 9999 fires [0,10000) and a third a@9999 is late.
  ExecutionContext ctx("monotonous");
  OutputTag<Event> late("late");
  auto counts =
      ctx.fromCollection<Event>({{"a", 1000}, {"a", 9999}, {"a", 9999}, {"a", 10000}, {"a", 9999}})
          .assignTimestamps(kTimestamp, WatermarkStrategy::forMonotonousTimestamps())
          .keyBy(kKey)
          .window(kTenSeconds)
          .sideOutputLateData(late)
          .aggregate(Count{}, kCountPerWindow);
  auto result = counts.collect();
  auto late_result = counts.getSideOutput(late).collect();
  ctx.execute(ExecutionOptions{.batch_size = 1});

  CHECK(result.values() == std::vector<WindowCount>{{"a", 0, 10000, 3}, {"a", 10000, 20000, 1}});
  CHECK(late_result.values() == std::vector<Event>{{"a", 9999}});
}

TEST_CASE("the watermark follows a whole batch, so disorder within one batch is never late",
          "[event-time]") {
  auto run = [](std::size_t batch_size) {
    ExecutionContext ctx("watermark-per-batch");
    auto result = ctx.fromCollection<Event>({{"a", 20000}, {"a", 1000}, {"a", 25000}})
                      .assignTimestamps(kTimestamp, WatermarkStrategy::forMonotonousTimestamps())
                      .keyBy(kKey)
                      .window(kTenSeconds)
                      .aggregate(Count{}, kCountPerWindow)
                      .collect();
    JobHandle handle = ctx.start(ExecutionOptions{.batch_size = batch_size});
    handle.wait();
    std::uint64_t dropped = 0;
    for (const auto& m : handle.metrics()) dropped += m.late_dropped;
    return std::pair(sorted(result.values()), dropped);
  };

  auto [one_batch, dropped_in_one_batch] = run(1024);
  CHECK(one_batch == std::vector<WindowCount>{{"a", 0, 10000, 1}, {"a", 20000, 30000, 2}});
  CHECK(dropped_in_one_batch == 0);

  auto [per_element, dropped_per_element] = run(1);
  CHECK(per_element == std::vector<WindowCount>{{"a", 20000, 30000, 2}});
  CHECK(dropped_per_element == 1);
}

TEST_CASE("watermarks emitted by a source fire event-time windows", "[event-time]") {
  ExecutionContext ctx("source-watermarks");
  OutputTag<Event> late("late");
  auto counts = scripted(ctx,
                         {
                             {{{"a", 1000}, {"a", 2000}}, 9998},
                             {{{"a", 9999}}, 9999},  // on time; then [0,10000) fires
                             {{{"a", 5000}, {"a", 10000}}, std::nullopt},  // 5000 is late
                         })
                    .keyBy(kKey)
                    .window(kTenSeconds)
                    .sideOutputLateData(late)
                    .aggregate(Count{}, kCountPerWindow);
  auto result = counts.collect();
  auto late_result = counts.getSideOutput(late).collect();
  ctx.execute();

  CHECK(sorted(result.values()) ==
        std::vector<WindowCount>{{"a", 0, 10000, 3}, {"a", 10000, 20000, 1}});
  CHECK(late_result.values() == std::vector<Event>{{"a", 5000}});
}

TEST_CASE("a bounded source without watermarks fires its windows at its end", "[event-time]") {
  ExecutionContext ctx("no-watermarks");
  auto result = scripted(ctx,
                         {
                             {{{"a", 1000}, {"b", 31000}}, std::nullopt},
                             {{{"a", 25000}, {"a", 2000}}, std::nullopt},
                         })
                    .keyBy(kKey)
                    .window(kTenSeconds)
                    .aggregate(Count{}, kCountPerWindow)
                    .collect();
  ctx.execute();

  CHECK(sorted(result.values()) == std::vector<WindowCount>{{"a", 0, 10000, 2},
                                                            {"a", 20000, 30000, 1},
                                                            {"b", 30000, 40000, 1}});
}

namespace {

/// Subtask 0 emits a@1000 and watermark 50000, then waits for subtask 1; subtask 1 waits
/// until subtask 0 is done (and a little longer), then emits b@5000 and watermark 50000.
class TwoPaceSource final : public Source<Event> {
 public:
  struct Shared {
    std::atomic<bool> fast_done{false};
    std::atomic<bool> slow_done{false};
  };
  explicit TwoPaceSource(std::shared_ptr<Shared> shared) : shared_(std::move(shared)) {}
  void open(const SourceContext& ctx) override { subtask_ = ctx.subtask; }
  SourceStatus poll(SourceOutput<Event>& out) override {
    if (subtask_ == 0) {
      if (!emitted_) {
        out.collect({"a", 1000}, 1000);
        out.emitWatermark(50000);
        emitted_ = true;
        return SourceStatus::HaveMoreOutput;
      }
      if (!fast_marked_) {  // the watermark has been sent when poll() runs again
        shared_->fast_done.store(true);
        fast_marked_ = true;
      }
      return shared_->slow_done.load() ? SourceStatus::Finished : SourceStatus::Blocked;
    }
    if (!shared_->fast_done.load()) return SourceStatus::Blocked;
    if (++waits_ < 5) return SourceStatus::Blocked;  // give the watermark time to arrive
    out.collect({"b", 5000}, 5000);
    out.emitWatermark(50000);
    shared_->slow_done.store(true);
    return SourceStatus::Finished;
  }
  Duration blockedWait() const override { return Duration(5); }

 private:
  std::shared_ptr<Shared> shared_;
  int subtask_ = 0;
  bool emitted_ = false;
  bool fast_marked_ = false;
  int waits_ = 0;
};

}  // namespace

TEST_CASE("an operator with parallel inputs follows the slowest input's watermark",
          "[event-time]") {
  ExecutionContext ctx("min-watermark");
  ctx.parallelism(2);
  auto shared = std::make_shared<TwoPaceSource::Shared>();
  auto result =
      ctx.fromSource<Event>([shared] { return std::make_unique<TwoPaceSource>(shared); }, "paced")
          .keyBy(kKey)
          .window(kTenSeconds)
          .aggregate(Count{}, kCountPerWindow)
          .collect();
  JobHandle handle = ctx.start();
  handle.wait();

  // b@5000 is behind the first subtask's watermark 50000 but not behind its own.
  CHECK(sorted(result.values()) ==
        std::vector<WindowCount>{{"a", 0, 10000, 1}, {"b", 0, 10000, 1}});
  std::uint64_t dropped = 0;
  for (const auto& m : handle.metrics()) dropped += m.late_dropped;
  CHECK(dropped == 0);
}

TEST_CASE("windows fire while an idle source subtask is open when idleness is set",
          "[event-time]") {
  ReleaseOnExit held;
  ExecutionContext ctx("idle-subtask");
  ctx.parallelism(2);
  auto events = idleTestInput();
  auto released = held.released;
  auto result =
      ctx.fromSource<Event>(
             [events, released] { return std::make_unique<HeldSource>(events, released); }, "held")
          .assignTimestamps(kTimestamp, WatermarkStrategy::forMonotonousTimestamps().withIdleness(
                                            Time::milliseconds(50)))
          .keyBy(kKey)
          .window(kTenSeconds)
          .aggregate(Count{}, kCountPerWindow)
          .collect();
  JobHandle handle = ctx.start();

  // Subtask 1 has sent nothing; once it is idle, subtask 0's watermark 11999 fires [0,10000).
  bool fired = waitUntil([&] { return result.size() >= 2; }, std::chrono::seconds(2));
  auto before_end = sorted(result.values());
  held.released->store(true);
  handle.wait();

  CHECK(fired);
  CHECK(before_end == kFirstWindow);
  CHECK(sorted(result.values()) == kAllWindows);
}

TEST_CASE("without idleness an empty source subtask holds windows back until the end",
          "[event-time]") {
  ReleaseOnExit held;
  ExecutionContext ctx("no-idleness");
  ctx.parallelism(2);
  auto events = idleTestInput();
  auto released = held.released;
  auto result =
      ctx.fromSource<Event>(
             [events, released] { return std::make_unique<HeldSource>(events, released); }, "held")
          .assignTimestamps(kTimestamp, WatermarkStrategy::forMonotonousTimestamps())
          .keyBy(kKey)
          .window(kTenSeconds)
          .aggregate(Count{}, kCountPerWindow)
          .collect();
  JobHandle handle = ctx.start();

  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  auto before_end = result.values();
  held.released->store(true);
  handle.wait();

  CHECK(before_end.empty());
  CHECK(sorted(result.values()) == kAllWindows);
}

TEST_CASE("windows over a union of a finished and an idle stream fire once the open one is idle",
          "[event-time]") {
  ReleaseOnExit held;
  ExecutionContext ctx("union-idle");
  auto strategy = WatermarkStrategy::forMonotonousTimestamps().withIdleness(Time::milliseconds(50));
  auto released = held.released;
  auto finished = ctx.fromCollection<Event>(idleTestInput()).assignTimestamps(kTimestamp, strategy);
  auto idle =
      ctx.fromSource<Event>(
             [released] { return std::make_unique<HeldSource>(std::vector<Event>{}, released); },
             "idle")
          .assignTimestamps(kTimestamp, strategy);
  auto result = finished.unionWith(idle)
                    .keyBy(kKey)
                    .window(kTenSeconds)
                    .aggregate(Count{}, kCountPerWindow)
                    .collect();
  JobHandle handle = ctx.start();

  // The finished stream reached W = 11999; the open one sends nothing and becomes idle.
  bool fired = waitUntil([&] { return result.size() >= 2; }, std::chrono::seconds(2));
  auto before_end = sorted(result.values());
  held.released->store(true);
  handle.wait();

  CHECK(fired);
  CHECK(before_end == kFirstWindow);
  CHECK(sorted(result.values()) == kAllWindows);
}

namespace {

/// The count of a key when one of its timers fired.
struct Report {
  std::string key;
  Timestamp timer = 0;
  std::int64_t count = 0;
  friend bool operator==(const Report&, const Report&) = default;
  friend auto operator<=>(const Report&, const Report&) = default;
  friend std::ostream& operator<<(std::ostream& os, const Report& r) {
    return os << "{" << r.key << " @" << r.timer << " " << r.count << "}";
  }
};

/// Counts elements per key and reports the count 10 ms (event time) after each element.
struct CountAfterTen {
  void processElement(const Event& e, KeyedContext<std::string, Report>& ctx) {
    auto count = ctx.valueState<std::int64_t>("count");
    count.update(count.value(0) + 1);
    ctx.registerEventTimeTimer(e.ts + 10);
  }
  void onTimer(Timestamp t, KeyedContext<std::string, Report>& ctx) {
    ctx.collect(Report{ctx.key(), t, ctx.valueState<std::int64_t>("count").value(0)});
  }
};

}  // namespace

TEST_CASE(
    "event-time timers of a keyed process function fire in time order as the watermark "
    "passes them",
    "[event-time]") {
  ExecutionContext ctx("process-timers");
  auto result = scripted(ctx,
                         {
                             {{{"a", 100}, {"a", 105}, {"b", 103}}, 112},  // a@110 fires
                             {{{"a", 120}}, 200},           // b@113, a@115, a@130 fire
                             {{{"b", 300}}, std::nullopt},  // b@310 fires at the end
                         })
                    .keyBy(kKey)
                    .process<Report>(CountAfterTen{})
                    .collect();
  ctx.execute();

  // One subtask: the arrival order is the firing order.
  CHECK(result.values() ==
        std::vector<Report>{
            {"a", 110, 2}, {"b", 113, 1}, {"a", 115, 3}, {"a", 130, 3}, {"b", 310, 2}});
  std::vector<Timestamp> timestamps;
  for (const auto& e : result.elements()) timestamps.push_back(e.timestamp);
  CHECK(timestamps == std::vector<Timestamp>{110, 113, 115, 130, 310});
}

TEST_CASE("an event-time timer registered twice for the same key and time fires once",
          "[event-time]") {
  struct ReportAtNextSecond {
    void processElement(const Event& e, KeyedContext<std::string, Report>& ctx) {
      ctx.registerEventTimeTimer((e.ts / 1000 + 1) * 1000);
    }
    void onTimer(Timestamp t, KeyedContext<std::string, Report>& ctx) {
      ctx.collect(Report{ctx.key(), t, 0});
    }
  };
  ExecutionContext ctx("timer-dedup");
  auto result = scripted(ctx,
                         {
                             {{{"a", 100}, {"a", 900}, {"b", 500}}, 999},
                             {{{"a", 1500}}, 5000},
                         })
                    .keyBy(kKey)
                    .process<Report>(ReportAtNextSecond{})
                    .collect();
  ctx.execute();

  CHECK(sorted(result.values()) ==
        std::vector<Report>{{"a", 1000, 0}, {"a", 2000, 0}, {"b", 1000, 0}});
}
