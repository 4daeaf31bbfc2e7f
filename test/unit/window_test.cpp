// Tests of windows (window.hpp): tumbling, sliding, session, count and global windows; late
// data (side output, metrics, allowed lateness); the window functions (aggregate with the
// window, reduce, process); the end of a bounded input; results independent of parallelism;
// processing-time windows. Every expected result is written out by hand or computed by a
// plain loop.
#include "lightflus/window.hpp"

#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#define CATCH_CONFIG_ENABLE_PAIR_STRINGMAKER
#define CATCH_CONFIG_ENABLE_TUPLE_STRINGMAKER
#include <catch2/catch.hpp>

#include "lightflus/datastream.hpp"

using namespace lightflus;

namespace {

/// A keyed event at `ts` (ms) carrying a number.
struct Event {
  std::string key;
  Timestamp ts = 0;
  int value = 1;
};

/// What a window emits in most tests: a count per key and window.
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

/// A key, a window and the values of the window's elements (sorted).
struct WindowValues {
  std::string key;
  Timestamp start = 0;
  Timestamp end = 0;
  std::vector<int> values;
  friend bool operator==(const WindowValues&, const WindowValues&) = default;
  friend auto operator<=>(const WindowValues&, const WindowValues&) = default;
  friend std::ostream& operator<<(std::ostream& os, const WindowValues& w) {
    os << "{" << w.key << " [" << w.start << "," << w.end << ")";
    for (int v : w.values) os << " " << v;
    return os << "}";
  }
};

/// An element type without a Serializer (only to check the concept).
struct Opaque {
  std::string text;
};

std::ostream& operator<<(std::ostream& os, const Event& e) {
  return os << "{" << e.key << " @" << e.ts << " " << e.value << "}";
}
bool operator==(const Event& a, const Event& b) {
  return std::tie(a.key, a.ts, a.value) == std::tie(b.key, b.ts, b.value);
}
bool operator<(const Event& a, const Event& b) {
  return std::tie(a.key, a.ts, a.value) < std::tie(b.key, b.ts, b.value);
}

}  // namespace

// Window state is snapshotted with Serializer<T>. Windows over a type without one should
// still compile (a snapshot would then fail with a ConfigError), but the container
// Serializers (std::optional, std::vector, ...) do not check their element type, so reduce and
// process windows need this (see the test "window accumulators of a type without a
// Serializer ..." below).
template <>
struct lightflus::Serializer<Event> {
  static void write(StateWriter& w, const Event& e) {
    w.write(e.key);
    w.write(e.ts);
    w.write(e.value);
  }
  static Event read(StateReader& r) {
    Event e;
    e.key = r.read<std::string>();
    e.ts = r.read<Timestamp>();
    e.value = r.read<int>();
    return e;
  }
};

namespace {

const auto kKey = [](const Event& e) { return e.key; };
const auto kTimestamp = [](const Event& e) { return e.ts; };
const auto kCountPerWindow = [](const std::string& key, const TimeWindow& w, std::int64_t n) {
  return WindowCount{key, w.start, w.end, n};
};

/// Sums the counts of WindowCounts (an aggregate function).
struct SumOfCounts {
  std::int64_t createAccumulator() const { return 0; }
  void add(std::int64_t& acc, const WindowCount& w) const { acc += w.count; }
  std::int64_t getResult(const std::int64_t& acc) const { return acc; }
};

template <class T>
std::vector<T> sorted(std::vector<T> v) {
  std::sort(v.begin(), v.end());
  return v;
}

/// One element per batch, so that the watermark follows every element.
ExecutionOptions perElementWatermarks() {
  return ExecutionOptions{.batch_size = 1};
}

const OperatorMetrics& metricsOf(const std::vector<OperatorMetrics>& all, const std::string& kind) {
  for (const auto& m : all)
    if (m.kind == kind) return m;
  FAIL("no operator of kind " << kind);
  return all.front();
}

/// The out-of-order input of the tumbling-window tests (bound 5 s, windows of 10 s). The
/// comments give the watermark after each element (max timestamp - 5000 - 1).
std::vector<Event> outOfOrderInput() {
  return {
      {"a", 1000},   // W = -4001
      {"b", 2000},   // W = -3001
      {"a", 8000},   // W = 2999
      {"a", 12000},  // W = 6999
      {"b", 6000},   // out of order, but window [0,10000) is still open
      {"a", 15000},  // W = 9999: [0,10000) fires
      {"b", 9000},   // late: its window fired
      {"b", 14000},  //
      {"a", 21000},  // W = 15999
      {"a", 3000},   // late
  };
}

}  // namespace

TEST_CASE("tumbling event-time windows count per key and window despite out-of-order input",
          "[window]") {
  ExecutionContext ctx("tumbling");
  OutputTag<Event> late("late");
  auto counts =
      ctx.fromCollection<Event>(outOfOrderInput())
          .assignTimestamps(kTimestamp, WatermarkStrategy::boundedOutOfOrderness(Time::seconds(5)))
          .keyBy(kKey)
          .window(TumblingEventTimeWindows::of(Time::seconds(10)))
          .sideOutputLateData(late)
          .aggregate(Count{}, kCountPerWindow);
  auto result = counts.collect();
  auto late_result = counts.getSideOutput(late).collect();
  ctx.execute(perElementWatermarks());

  CHECK(sorted(result.values()) == std::vector<WindowCount>{
                                       {"a", 0, 10000, 2},
                                       {"a", 10000, 20000, 2},
                                       {"a", 20000, 30000, 1},
                                       {"b", 0, 10000, 2},
                                       {"b", 10000, 20000, 1},
                                   });
  CHECK(sorted(late_result.values()) == std::vector<Event>{{"a", 3000}, {"b", 9000}});
}

TEST_CASE("late elements are counted as dropped when there is no late-data side output",
          "[window]") {
  ExecutionContext ctx("late-dropped");
  auto result =
      ctx.fromCollection<Event>(outOfOrderInput())
          .assignTimestamps(kTimestamp, WatermarkStrategy::boundedOutOfOrderness(Time::seconds(5)))
          .keyBy(kKey)
          .window(TumblingEventTimeWindows::of(Time::seconds(10)))
          .aggregate(Count{}, kCountPerWindow)
          .collect();
  JobHandle handle = ctx.start(perElementWatermarks());
  handle.wait();

  auto metrics = handle.metrics();
  const auto& window = metricsOf(metrics, "window");
  CHECK(window.late_dropped == 2);
  CHECK(window.records_in == 10);
  CHECK(window.records_out == 5);
  CHECK(result.size() == 5);
}

TEST_CASE("late elements reach a side output consumed through a chained map exactly once",
          "[window]") {
  ExecutionContext ctx("late-through-map");
  OutputTag<Event> late("late");
  auto counts =
      ctx.fromCollection<Event>(outOfOrderInput())
          .assignTimestamps(kTimestamp, WatermarkStrategy::boundedOutOfOrderness(Time::seconds(5)))
          .keyBy(kKey)
          .window(TumblingEventTimeWindows::of(Time::seconds(10)))
          .sideOutputLateData(late)
          .aggregate(Count{}, kCountPerWindow);
  auto late_ts = counts.getSideOutput(late).map([](const Event& e) { return e.ts; }).collect();
  auto result = counts.collect();
  ctx.execute(perElementWatermarks());

  CHECK(sorted(late_ts.values()) == std::vector<Timestamp>{3000, 9000});
  CHECK(result.size() == 5);
}

TEST_CASE("a late element within the allowed lateness fires its window again with the update",
          "[window]") {
  // Monotonous watermarks (W = max - 1), windows of 10 s, lateness 5 s: window [0,10000) fires
  // at W = 10999 and is kept until W >= 9999 + 5000 = 14999.
  ExecutionContext ctx("allowed-lateness");
  OutputTag<Event> late("late");
  auto counts = ctx.fromCollection<Event>({
                                              {"a", 1000},   // W = 999
                                              {"a", 5000},   // W = 4999
                                              {"a", 11000},  // W = 10999: fires a [0,10000) = 2
                                              {"a", 4000},   // late, within lateness: fires 3
                                              {"b", 3000},   // a new window, within lateness
                                              {"a", 16000},  // W = 15999: [0,10000) is gone
                                              {"a", 2000},   // later than the lateness
                                          })
                    .assignTimestamps(kTimestamp, WatermarkStrategy::forMonotonousTimestamps())
                    .keyBy(kKey)
                    .window(TumblingEventTimeWindows::of(Time::seconds(10)))
                    .allowedLateness(Time::seconds(5))
                    .sideOutputLateData(late)
                    .aggregate(Count{}, kCountPerWindow);
  auto result = counts.collect();
  auto late_result = counts.getSideOutput(late).collect();
  ctx.execute(perElementWatermarks());

  // The first two results of "a" are the same window before and after the late element.
  CHECK(sorted(result.values()) == std::vector<WindowCount>{
                                       {"a", 0, 10000, 2},
                                       {"a", 0, 10000, 3},
                                       {"a", 10000, 20000, 2},
                                       {"b", 0, 10000, 1},
                                   });
  CHECK(late_result.values() == std::vector<Event>{{"a", 2000}});
}

TEST_CASE(
    "a late element within the allowed lateness fires a window that had no elements yet "
    "right away",
    "[window]") {
  // b@3000 arrives when W = 10999: its window [0,10000) has passed but is within the lateness,
  // so it fires at once, before the re-firing of a's window by a@2000 (and not only when the
  // watermark moves on or the input ends).
  ExecutionContext ctx("lateness-new-window");
  auto result = ctx.fromCollection<Event>({{"a", 1000}, {"a", 11000}, {"b", 3000}, {"a", 2000}})
                    .assignTimestamps(kTimestamp, WatermarkStrategy::forMonotonousTimestamps())
                    .keyBy(kKey)
                    .window(TumblingEventTimeWindows::of(Time::seconds(10)))
                    .allowedLateness(Time::seconds(5))
                    .aggregate(Count{}, kCountPerWindow)
                    .collect();
  ctx.execute(perElementWatermarks());

  // One subtask: the order of the results is the order in which the windows fired.
  CHECK(result.values() == std::vector<WindowCount>{
                               {"a", 0, 10000, 1},
                               {"b", 0, 10000, 1},
                               {"a", 0, 10000, 2},
                               {"a", 10000, 20000, 1},
                           });
}

TEST_CASE("window results reach the next window before the watermark that fired them", "[window]") {
  // One batch: after it, W = 24999 fires [0,10000) of the first window. Its results (at
  // 9999) must reach the second window before W does, or they are late there.
  ExecutionContext ctx("cascade");
  auto totals =
      ctx.fromCollection<Event>({{"a", 1000}, {"b", 2000}, {"a", 25000}})
          .assignTimestamps(kTimestamp, WatermarkStrategy::forMonotonousTimestamps())
          .keyBy(kKey)
          .window(TumblingEventTimeWindows::of(Time::seconds(10)))
          .aggregate(Count{}, kCountPerWindow)
          .keyBy([](const WindowCount&) { return 0; })
          .window(TumblingEventTimeWindows::of(Time::seconds(10)))
          .aggregate(SumOfCounts{}, [](int, const TimeWindow& w,
                                       std::int64_t total) { return std::pair(w.start, total); })
          .collect();
  JobHandle handle = ctx.start();
  handle.wait();

  CHECK(sorted(totals.values()) ==
        std::vector<std::pair<Timestamp, std::int64_t>>{{0, 2}, {20000, 1}});
  std::uint64_t dropped = 0;
  for (const auto& m : handle.metrics()) dropped += m.late_dropped;
  CHECK(dropped == 0);
}

TEST_CASE("sliding windows put every element into size/slide windows", "[window]") {
  // Size 10 s, slide 5 s: an element at t belongs to the windows starting at
  // floor(t / 5000) * 5000 and 5000 before that. b@3000 is 4 s out of order (bound 5 s).
  ExecutionContext ctx("sliding");
  auto result =
      ctx.fromCollection<Event>({
                                    {"a", 1000},   // [-5000,5000) [0,10000)
                                    {"a", 7000},   // [0,10000) [5000,15000)
                                    {"b", 3000},   // [-5000,5000) [0,10000)
                                    {"a", 12000},  // [5000,15000) [10000,20000)
                                    {"b", 14000},  // [5000,15000) [10000,20000)
                                    {"a", 26000},  // [20000,30000) [25000,35000)
                                })
          .assignTimestamps(kTimestamp, WatermarkStrategy::boundedOutOfOrderness(Time::seconds(5)))
          .keyBy(kKey)
          .window(SlidingEventTimeWindows::of(Time::seconds(10), Time::seconds(5)))
          .aggregate(Count{}, kCountPerWindow)
          .collect();
  ctx.execute(perElementWatermarks());

  CHECK(sorted(result.values()) == std::vector<WindowCount>{
                                       {"a", -5000, 5000, 1},
                                       {"a", 0, 10000, 2},
                                       {"a", 5000, 15000, 2},
                                       {"a", 10000, 20000, 1},
                                       {"a", 20000, 30000, 1},
                                       {"a", 25000, 35000, 1},
                                       {"b", -5000, 5000, 1},
                                       {"b", 0, 10000, 1},
                                       {"b", 5000, 15000, 1},
                                       {"b", 10000, 20000, 1},
                                   });
}

TEST_CASE(
    "an element between the windows of a sliding window is dropped, and late only by its own time",
    "[window]") {
  // Size 2 s, slide 5 s: windows [0,2000), [5000,7000), [10000,12000) with gaps between them.
  // Monotonous watermarks: W = max - 1 after each element (Flink's rule for such elements: drop
  // them silently unless their own timestamp is behind the watermark).
  const std::vector<Event> input = {
      {"a", 1000},   // [0,2000); W = 999
      {"a", 3000},   // a gap, not late (3000 > 999): dropped, not counted; W = 2999
      {"a", 6000},   // [5000,7000); W = 5999
      {"a", 4000},   // a gap, and late (4000 <= 5999)
      {"a", 1500},   // late: [0,2000) fired at W = 2999
      {"a", 5500},   // [5000,7000)
      {"a", 8000},   // a gap, not late: dropped; W = 7999
      {"a", 11000},  // [10000,12000); W = 10999
  };
  const std::vector<WindowCount> expected = {
      {"a", 0, 2000, 1}, {"a", 5000, 7000, 2}, {"a", 10000, 12000, 1}};
  auto windowed = [](ExecutionContext& ctx, const std::vector<Event>& events) {
    return ctx.fromCollection<Event>(events)
        .assignTimestamps(kTimestamp, WatermarkStrategy::forMonotonousTimestamps())
        .keyBy(kKey)
        .window(SlidingEventTimeWindows::of(Time::seconds(2), Time::seconds(5)));
  };

  SECTION("to a late-data side output") {
    ExecutionContext ctx("sliding-gaps-side-output");
    OutputTag<Event> late("late");
    auto counts = windowed(ctx, input).sideOutputLateData(late).aggregate(Count{}, kCountPerWindow);
    auto result = counts.collect();
    auto late_result = counts.getSideOutput(late).collect();
    ctx.execute(perElementWatermarks());
    CHECK(sorted(result.values()) == expected);
    CHECK(sorted(late_result.values()) == std::vector<Event>{{"a", 1500}, {"a", 4000}});
  }
  SECTION("counted as late drops") {
    ExecutionContext ctx("sliding-gaps-counted");
    auto result = windowed(ctx, input).aggregate(Count{}, kCountPerWindow).collect();
    JobHandle handle = ctx.start(perElementWatermarks());
    handle.wait();
    CHECK(sorted(result.values()) == expected);
    auto metrics = handle.metrics();  // metricsOf returns a reference into it
    const auto& window = metricsOf(metrics, "window");
    CHECK(window.records_in == 8);
    CHECK(window.late_dropped == 2);
  }
  SECTION("with allowed lateness, by the element's time plus the lateness") {
    // Lateness 1 s: [0,2000) is kept until W = 2999.
    ExecutionContext ctx("sliding-gaps-lateness");
    auto result = windowed(ctx,
                           {
                               {"a", 1000},  // [0,2000); W = 999
                               {"a", 3000},  // a gap, dropped; W = 2999: [0,2000) is gone
                               {"a", 2500},  // a gap, 2500 + 1000 > 2999: dropped
                               {"a", 1500},  // late (by its window and by its time)
                               {"a", 6000},  // [5000,7000); W = 5999
                               {"a", 4500},  // a gap, 4500 + 1000 <= 5999: late
                           })
                      .allowedLateness(Time::seconds(1))
                      .aggregate(Count{}, kCountPerWindow)
                      .collect();
    JobHandle handle = ctx.start(perElementWatermarks());
    handle.wait();
    CHECK(result.values() == std::vector<WindowCount>{{"a", 0, 2000, 1}, {"a", 5000, 7000, 1}});
    CHECK(metricsOf(handle.metrics(), "window").late_dropped == 2);
  }
}

TEST_CASE("session windows merge elements closer than the gap", "[window]") {
  ExecutionContext ctx("sessions");
  auto result =
      ctx.fromCollection<Event>({
                                    {"a", 0},      // [0,10000)
                                    {"b", 1000},   // [1000,11000)
                                    {"a", 4000},   // merges: [0,14000)
                                    {"a", 9000},   // merges: [0,19000)
                                    {"a", 30000},  // a new session [30000,40000)
                                    {"b", 21000},  // a new session [21000,31000)
                                })
          .assignTimestamps(kTimestamp, WatermarkStrategy::boundedOutOfOrderness(Time::seconds(10)))
          .keyBy(kKey)
          .window(EventTimeSessionWindows::withGap(Time::seconds(10)))
          .aggregate(Count{}, kCountPerWindow)
          .collect();
  ctx.execute(perElementWatermarks());

  CHECK(sorted(result.values()) == std::vector<WindowCount>{
                                       {"a", 0, 19000, 3},
                                       {"a", 30000, 40000, 1},
                                       {"b", 1000, 11000, 1},
                                       {"b", 21000, 31000, 1},
                                   });
}

TEST_CASE("session windows merge when a late element bridges two sessions", "[window]") {
  // Gap 10 s, bound 20 s. Sessions [0,10000) and [15000,25000) are apart until a@7000
  // ([7000,17000)) arrives out of order and touches both: one session [0,25000) of 3.
  ExecutionContext ctx("session-bridge");
  auto result =
      ctx.fromCollection<Event>({
                                    {"a", 0, 1},
                                    {"a", 15000, 2},
                                    {"a", 7000, 3},   // W = -5001: the bridge
                                    {"a", 60000, 4},  // W = 39999: [0,25000) fires
                                })
          .assignTimestamps(kTimestamp, WatermarkStrategy::boundedOutOfOrderness(Time::seconds(20)))
          .keyBy(kKey)
          .window(EventTimeSessionWindows::withGap(Time::seconds(10)))
          .process<WindowValues>([](const std::string& key, const TimeWindow& w,
                                    const std::vector<Event>& elements,
                                    Collector<WindowValues>& out) {
            WindowValues r{key, w.start, w.end, {}};
            for (const auto& e : elements) r.values.push_back(e.value);
            std::sort(r.values.begin(), r.values.end());
            out.collect(std::move(r));
          })
          .collect();
  ctx.execute(perElementWatermarks());

  CHECK(sorted(result.values()) == std::vector<WindowValues>{
                                       {"a", 0, 25000, {1, 2, 3}},
                                       {"a", 60000, 70000, {4}},
                                   });
}

TEST_CASE("a late element within the allowed lateness extends a fired session and fires it again",
          "[window]") {
  // Gap 10 s, lateness 10 s, monotonous watermarks. a@15000 (W = 14999) fires [0,10000);
  // a@3000 is late but within the lateness: the session grows to [0,13000) and fires again.
  ExecutionContext ctx("session-lateness");
  auto result = ctx.fromCollection<Event>({{"a", 0}, {"a", 15000}, {"a", 3000}})
                    .assignTimestamps(kTimestamp, WatermarkStrategy::forMonotonousTimestamps())
                    .keyBy(kKey)
                    .window(EventTimeSessionWindows::withGap(Time::seconds(10)))
                    .allowedLateness(Time::seconds(10))
                    .aggregate(Count{}, kCountPerWindow)
                    .collect();
  ctx.execute(perElementWatermarks());

  CHECK(result.values() == std::vector<WindowCount>{
                               {"a", 0, 10000, 1},
                               {"a", 0, 13000, 2},
                               {"a", 15000, 25000, 1},
                           });
}

TEST_CASE("aggregate with a window function receives the key and the window bounds", "[window]") {
  ExecutionContext ctx("aggregate-window");
  auto result =
      ctx.fromCollection<Event>({{"x", 100, 5}, {"x", 4999, 7}, {"y", 5000, 1}, {"x", 5001, 2}})
          .assignTimestamps(kTimestamp, WatermarkStrategy::forMonotonousTimestamps())
          .keyBy(kKey)
          .window(TumblingEventTimeWindows::of(Time::seconds(5)))
          .aggregate(Count{},
                     [](const std::string& key, const TimeWindow& w, std::int64_t n) {
                       return std::tuple(key, w.start, w.end, w.maxTimestamp(), n);
                     })
          .collect();
  ctx.execute();

  using R = std::tuple<std::string, Timestamp, Timestamp, Timestamp, std::int64_t>;
  CHECK(sorted(result.values()) == std::vector<R>{
                                       {"x", 0, 5000, 4999, 2},
                                       {"x", 5000, 10000, 9999, 1},
                                       {"y", 5000, 10000, 9999, 1},
                                   });
}

TEST_CASE("reduce on windows combines the elements of each window into one", "[window]") {
  ExecutionContext ctx("reduce-window");
  auto result = ctx.fromCollection<Event>({{"x", 100, 5},
                                           {"x", 4999, 7},
                                           {"y", 5000, 1},
                                           {"x", 5001, 2},
                                           {"y", 9000, 10},
                                           {"y", 12000, 100}})
                    .assignTimestamps(kTimestamp, WatermarkStrategy::forMonotonousTimestamps())
                    .keyBy(kKey)
                    .window(TumblingEventTimeWindows::of(Time::seconds(5)))
                    .reduce([](const Event& acc, const Event& e) {
                      return Event{acc.key, std::max(acc.ts, e.ts), acc.value + e.value};
                    })
                    .collect();
  ctx.execute(perElementWatermarks());

  auto elements = result.elements();
  std::vector<std::tuple<std::string, int, Timestamp>> got;
  for (const auto& e : elements) got.emplace_back(e.value.key, e.value.value, e.timestamp);
  // Each result carries its window's last timestamp.
  CHECK(sorted(got) == std::vector<std::tuple<std::string, int, Timestamp>>{
                           {"x", 2, 9999},
                           {"x", 12, 4999},
                           {"y", 11, 9999},
                           {"y", 100, 14999},
                       });
}

TEST_CASE("process on windows sees all elements of the window", "[window]") {
  ExecutionContext ctx("process-window");
  auto result = ctx.fromCollection<Event>({{"x", 100, 5},
                                           {"x", 2500, 6},
                                           {"x", 4999, 7},
                                           {"y", 5000, 1},
                                           {"x", 5001, 2},
                                           {"y", 9000, 3}})
                    .assignTimestamps(kTimestamp, WatermarkStrategy::forMonotonousTimestamps())
                    .keyBy(kKey)
                    .window(TumblingEventTimeWindows::of(Time::seconds(5)))
                    .process<WindowValues>([](const std::string& key, const TimeWindow& w,
                                              const std::vector<Event>& elements,
                                              Collector<WindowValues>& out) {
                      WindowValues r{key, w.start, w.end, {}};
                      for (const auto& e : elements) r.values.push_back(e.value);
                      std::sort(r.values.begin(), r.values.end());
                      out.collect(std::move(r));
                    })
                    .collect();
  ctx.execute(perElementWatermarks());

  CHECK(sorted(result.values()) == std::vector<WindowValues>{
                                       {"x", 0, 5000, {5, 6, 7}},
                                       {"x", 5000, 10000, {2}},
                                       {"y", 5000, 10000, {1, 3}},
                                   });
}

TEST_CASE("count windows fire every n elements per key and the rest at the end of input",
          "[window]") {
  std::vector<Event> input;
  for (int i = 1; i <= 7; ++i) input.push_back({"a", 0, i});
  for (int i = 11; i <= 14; ++i) input.push_back({"b", 0, i});
  ExecutionContext ctx("count-window");
  auto result =
      ctx.fromCollection<Event>(input)
          .keyBy(kKey)
          .countWindow(3)
          .process<std::pair<std::string, std::vector<int>>>(
              [](const std::string& key, const GlobalWindow&, const std::vector<Event>& elements,
                 Collector<std::pair<std::string, std::vector<int>>>& out) {
                std::vector<int> values;
                for (const auto& e : elements) values.push_back(e.value);
                out.collect({key, values});
              })
          .collect();
  ctx.execute(ExecutionOptions{.batch_size = 2});

  using R = std::pair<std::string, std::vector<int>>;
  CHECK(sorted(result.values()) == std::vector<R>{
                                       {"a", {1, 2, 3}},
                                       {"a", {4, 5, 6}},
                                       {"a", {7}},
                                       {"b", {11, 12, 13}},
                                       {"b", {14}},
                                   });
}

TEST_CASE("a global window fires only at the end of input, whatever the watermark", "[window]") {
  ExecutionContext ctx("global-window");
  auto result = ctx.fromCollection<Event>({{"a", 1000, 1},
                                           {"b", 2000, 10},
                                           {"a", 500000, 2},
                                           {"a", 9000000, 3},
                                           {"b", 9500000, 20}})
                    .assignTimestamps(kTimestamp, WatermarkStrategy::forMonotonousTimestamps())
                    .keyBy(kKey)
                    .window(GlobalWindows::create())
                    .reduce([](const Event& acc, const Event& e) {
                      return Event{acc.key, 0, acc.value + e.value};
                    })
                    .collect();
  ctx.execute(perElementWatermarks());

  std::vector<std::pair<std::string, int>> got;
  for (const auto& e : result.values()) got.emplace_back(e.key, e.value);
  CHECK(sorted(got) == std::vector<std::pair<std::string, int>>{{"a", 6}, {"b", 30}});
}

TEST_CASE("the end of a bounded input fires every event-time window that is left", "[window]") {
  // The bound of an hour keeps the watermark below every window's end: only the end of the
  // input can fire them.
  ExecutionContext ctx("end-fires");
  auto result =
      ctx.fromCollection<Event>(
             {{"a", 1000}, {"a", 61000}, {"b", 62000}, {"a", 125000}, {"b", 1000}, {"a", 2000}})
          .assignTimestamps(kTimestamp, WatermarkStrategy::boundedOutOfOrderness(Time::hours(1)))
          .keyBy(kKey)
          .window(TumblingEventTimeWindows::of(Time::minutes(1)))
          .aggregate(Count{}, kCountPerWindow)
          .collect();
  ctx.execute(perElementWatermarks());

  CHECK(sorted(result.values()) == std::vector<WindowCount>{
                                       {"a", 0, 60000, 2},
                                       {"a", 60000, 120000, 1},
                                       {"a", 120000, 180000, 1},
                                       {"b", 0, 60000, 1},
                                       {"b", 60000, 120000, 1},
                                   });
}

TEST_CASE("a windowed job gives the same results with parallelism 1 and 4", "[window]") {
  constexpr std::uint64_t kCount = 10'000;
  constexpr Timestamp kWindow = 1000;
  // Element i: key i % 5 at 10 * i plus up to 49 ms of jitter, so at most 49 ms out of order
  // (well within the 100 ms bound: nothing is late).
  auto event = [](std::uint64_t i) {
    return Event{"k" + std::to_string(i % 5), static_cast<Timestamp>(i * 10 + (i * 37) % 50),
                 static_cast<int>(i % 3)};
  };

  std::map<std::pair<std::string, Timestamp>, std::int64_t> counted;
  for (std::uint64_t i = 0; i < kCount; ++i) {
    Event e = event(i);
    ++counted[{e.key, e.ts - e.ts % kWindow}];
  }
  std::vector<WindowCount> expected;
  for (const auto& [kw, n] : counted)
    expected.push_back({kw.first, kw.second, kw.second + kWindow, n});

  auto run = [&](int ctx_parallelism, ExecutionOptions options) {
    ExecutionContext ctx("parallel-windows");
    ctx.parallelism(ctx_parallelism);
    auto result =
        ctx.generate(event, GeneratorOptions{.count = kCount})
            .assignTimestamps(kTimestamp,
                              WatermarkStrategy::boundedOutOfOrderness(Time::milliseconds(100)))
            .keyBy(kKey)
            .window(TumblingEventTimeWindows::of(Time::milliseconds(kWindow)))
            .aggregate(Count{}, kCountPerWindow)
            .collect();
    JobHandle handle = ctx.start(std::move(options));
    handle.wait();
    CHECK(metricsOf(handle.metrics(), "window").late_dropped == 0);
    return sorted(result.values());
  };

  CHECK(run(1, {}) == expected);
  CHECK(run(4, {}) == expected);
  CHECK(run(1, ExecutionOptions{.parallelism = 4, .batch_size = 64}) == expected);
}

TEST_CASE("processing-time windows count every element exactly once", "[window]") {
  constexpr std::uint64_t kCount = 120;
  ExecutionContext ctx("processing-time");
  // 400 elements per second: about 300 ms, so several 50 ms windows fire by the wall clock.
  auto result = ctx.generate([](std::uint64_t i) { return Event{"k" + std::to_string(i % 3)}; },
                             GeneratorOptions{.count = kCount, .rate = 400})
                    .keyBy(kKey)
                    .window(TumblingProcessingTimeWindows::of(Time::milliseconds(50)))
                    .aggregate(Count{}, kCountPerWindow)
                    .collect();
  ctx.execute();

  std::map<std::string, std::int64_t> per_key;
  for (const auto& w : result.values()) {
    CHECK(w.end - w.start == 50);
    CHECK(w.count > 0);
    per_key[w.key] += w.count;
  }
  CHECK(per_key == std::map<std::string, std::int64_t>{{"k0", 40}, {"k1", 40}, {"k2", 40}});
}

// Containers of a type without a Serializer are not serializable either, so reduce and process
// windows over such a type compile and report a ConfigError only if a snapshot is taken.
TEST_CASE("window accumulators of a type without a Serializer are not considered serializable",
          "[window]") {
  CHECK_FALSE(Serializable<Opaque>);
  CHECK_FALSE(Serializable<std::optional<Opaque>>);
  CHECK_FALSE(Serializable<std::vector<Opaque>>);
}
