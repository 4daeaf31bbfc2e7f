// Tests of the interval join (interval_join.hpp), from Flink's semantics: b joins a when
// a.ts + lower <= b.ts <= a.ts + upper (inclusive unless made exclusive), the result takes the
// larger timestamp, buffered elements are dropped once the watermark passes them, and late
// elements join nothing and are counted (or sent to a side output). Expected results are
// computed by plain loops or by hand.
#include "lightflus/interval_join.hpp"

#include <algorithm>
#include <chrono>
#include <ostream>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#define CATCH_CONFIG_ENABLE_PAIR_STRINGMAKER
#define CATCH_CONFIG_ENABLE_TUPLE_STRINGMAKER
#include <catch2/catch.hpp>

#include "../support/step_source.hpp"
#include "../support/test_helpers.hpp"
#include "lightflus/lightflus.hpp"

using namespace lightflus;
using lightflus::test::sorted;
using lightflus::test::Step;

namespace {

struct Click {
  std::string user;
  Timestamp ts = 0;
};
struct View {
  std::string user;
  Timestamp ts = 0;
};
}  // namespace

// Buffered elements are snapshotted with Serializer<T>.
template <>
struct lightflus::Serializer<Click> {
  static void write(StateWriter& w, const Click& c) {
    w.write(c.user);
    w.write(c.ts);
  }
  static Click read(StateReader& r) {
    Click c;
    c.user = r.read<std::string>();
    c.ts = r.read<Timestamp>();
    return c;
  }
};
template <>
struct lightflus::Serializer<View> {
  static void write(StateWriter& w, const View& v) {
    w.write(v.user);
    w.write(v.ts);
  }
  static View read(StateReader& r) {
    View v;
    v.user = r.read<std::string>();
    v.ts = r.read<Timestamp>();
    return v;
  }
};

namespace {

/// user, click time, view time, result timestamp.
using Joined = std::tuple<std::string, Timestamp, Timestamp, Timestamp>;

const auto kClickUser = [](const Click& c) { return c.user; };
const auto kViewUser = [](const View& v) { return v.user; };
const auto kJoin = [](const Click& c, const View& v, Collector<Joined>& out) {
  out.collect(Joined{c.user, c.ts, v.ts, out.timestamp()});
};

std::vector<Click> clicks() {
  std::vector<Click> all;
  for (Timestamp t = 0; t < 40; ++t) all.push_back(Click{"u" + std::to_string(t % 3), t * 10});
  return all;
}
std::vector<View> views() {
  std::vector<View> all;
  for (Timestamp t = 0; t < 60; ++t) all.push_back(View{"u" + std::to_string(t % 4), t * 7});
  return all;
}

/// The join by definition: every pair with equal users and lower <= v - c <= upper.
std::vector<Joined> expectedJoin(Timestamp lower, Timestamp upper) {
  std::vector<Joined> out;
  for (const auto& c : clicks())
    for (const auto& v : views())
      if (c.user == v.user && v.ts - c.ts >= lower && v.ts - c.ts <= upper)
        out.emplace_back(c.user, c.ts, v.ts, std::max(c.ts, v.ts));
  return out;
}

std::uint64_t lateDropped(const JobHandle& job, const std::string& kind) {
  std::uint64_t n = 0;
  for (const auto& m : job.metrics())
    if (m.kind == kind) n += m.late_dropped;
  return n;
}

}  // namespace

TEST_CASE("an interval join pairs the elements whose timestamps lie within inclusive bounds",
          "[interval-join]") {
  const int parallelism = GENERATE(1, 3);
  ExecutionContext ctx("interval-join");
  ctx.parallelism(parallelism);
  auto click_stream = ctx.fromCollection(clicks()).assignTimestamps(
      [](const Click& c) { return c.ts; }, WatermarkStrategy::forMonotonousTimestamps());
  auto view_stream = ctx.fromCollection(views()).assignTimestamps(
      [](const View& v) { return v.ts; }, WatermarkStrategy::forMonotonousTimestamps());
  auto result = click_stream.keyBy(kClickUser)
                    .intervalJoin(view_stream.keyBy(kViewUser))
                    .between(Time::milliseconds(-20), Time::milliseconds(30))
                    .process<Joined>(kJoin)
                    .collect();
  auto job = ctx.start();
  job.wait();
  auto expected = expectedJoin(-20, 30);
  REQUIRE(!expected.empty());
  CHECK(sorted(result.values()) == sorted(expected));
  for (const auto& e : result.elements()) CHECK(e.timestamp == std::get<3>(e.value));
  CHECK(lateDropped(job, "intervalJoin") == 0);
}

TEST_CASE("an interval join's bounds can be exclusive, and lower > upper is refused",
          "[interval-join]") {
  ExecutionContext ctx("exclusive");
  ctx.parallelism(2);
  auto click_stream =
      ctx.fromCollection(clicks()).assignTimestamps([](const Click& c) { return c.ts; });
  auto view_stream =
      ctx.fromCollection(views()).assignTimestamps([](const View& v) { return v.ts; });
  auto joined = click_stream.keyBy(kClickUser).intervalJoin(view_stream.keyBy(kViewUser));
  auto result = joined.between(Time::milliseconds(-21), Time::milliseconds(21))
                    .lowerBoundExclusive()
                    .upperBoundExclusive()
                    .process<Joined>(kJoin)
                    .collect();
  ctx.execute();
  CHECK(sorted(result.values()) == sorted(expectedJoin(-20, 20)));
  CHECK_THROWS_AS(joined.between(Time::milliseconds(5), Time::milliseconds(4)), ConfigError);
}

namespace {

/// The script of one run for the late-data tests: a@1000 and v@1000 join; the watermark then
/// reaches 5000 on both sides; once the join has passed it on (a keyed timer downstream says
/// so), a@2000 and v@3000 are late, a@6000 and v@6000 join. Bounds [-1000, 1000]: the
/// first two are no longer buffered then.
struct LateRun {
  CollectResult<Joined> joined;
  CollectResult<Click> late_clicks;
  CollectResult<View> late_views;
};

LateRun buildLateRun(ExecutionContext& ctx, bool side_outputs) {
  auto passed = lightflus::test::makeFlag();
  auto click_stream = lightflus::test::steps<Click>(
      ctx,
      {Step<Click>{{{Click{"u", 1000}, 1000}}, 5000},
       Step<Click>{{{Click{"u", 2000}, 2000}, {Click{"u", 6000}, 6000}}, std::nullopt, passed}},
      "clicks");
  auto view_stream = lightflus::test::steps<View>(
      ctx,
      {Step<View>{{{View{"u", 1000}, 1000}}, 5000},
       Step<View>{{{View{"u", 3000}, 3000}, {View{"u", 6000}, 6000}}, std::nullopt, passed}},
      "views");
  const OutputTag<Click> late_clicks("late-clicks");
  const OutputTag<View> late_views("late-views");
  auto joined = click_stream.keyBy(kClickUser)
                    .intervalJoin(view_stream.keyBy(kViewUser))
                    .between(Time::milliseconds(-1000), Time::milliseconds(1000));
  auto stream =
      (side_outputs ? joined.sideOutputLeftLateData(late_clicks).sideOutputRightLateData(late_views)
                    : joined)
          .process<Joined>(kJoin);
  struct Signal {
    lightflus::test::Flag passed;
    void processElement(const Joined&, KeyedContext<std::string, Joined>& ctx) {
      ctx.registerEventTimeTimer(ctx.timestamp());
    }
    void onTimer(Timestamp, KeyedContext<std::string, Joined>&) { passed->store(true); }
  };
  stream.keyBy([](const Joined& j) { return std::get<0>(j); })
      .process<Joined>(Signal{passed})
      .collect("signal");
  LateRun run;
  run.joined = stream.collect();
  if (side_outputs) {
    run.late_clicks = stream.getSideOutput(late_clicks).collect();
    run.late_views = stream.getSideOutput(late_views).collect();
  }
  return run;
}

}  // namespace

TEST_CASE("an interval join drops and counts elements behind the watermark", "[interval-join]") {
  ExecutionContext ctx("late");
  LateRun run = buildLateRun(ctx, false);
  auto job = ctx.start();
  job.wait();
  CHECK(sorted(run.joined.values()) ==
        std::vector<Joined>{{"u", 1000, 1000, 1000}, {"u", 6000, 6000, 6000}});
  CHECK(lateDropped(job, "intervalJoin") == 2);
}

TEST_CASE("an interval join sends late elements to the late-data side outputs", "[interval-join]") {
  ExecutionContext ctx("late-side");
  LateRun run = buildLateRun(ctx, true);
  auto job = ctx.start();
  job.wait();
  CHECK(run.joined.size() == 2);
  REQUIRE(run.late_clicks.size() == 1);
  CHECK(run.late_clicks.values()[0].ts == 2000);
  REQUIRE(run.late_views.size() == 1);
  CHECK(run.late_views.values()[0].ts == 3000);
  CHECK(lateDropped(job, "intervalJoin") == 0);
}

namespace {

/// Job 1 buffers c@1000 and moves the watermark to `watermark`; job 2, restored from job 1's
/// snapshot at another parallelism, sends v@1500, which joins c@1000 only if it was still
/// buffered: bounds [-5000, 5000] keep it until the watermark reaches 6000.
CollectResult<Joined> buildCleanupRun(ExecutionContext& ctx, std::vector<Step<Click>> clicks,
                                      std::vector<Step<View>> views, int parallelism) {
  auto click_stream = lightflus::test::steps<Click>(ctx, std::move(clicks), "clicks");
  auto view_stream = lightflus::test::steps<View>(ctx, std::move(views), "views");
  return click_stream.keyBy(kClickUser)
      .intervalJoin(view_stream.keyBy(kViewUser))
      .between(Time::milliseconds(-5000), Time::milliseconds(5000))
      .process<Joined>(kJoin)
      .uid("join")
      .parallelism(parallelism)
      .collect();
}

}  // namespace

TEST_CASE("an interval join's buffers survive a snapshot until the watermark passes them",
          "[interval-join][snapshot]") {
  auto [watermark, joins] = GENERATE(std::pair<Timestamp, std::size_t>{3000, 1},
                                     std::pair<Timestamp, std::size_t>{10'000, 0});
  auto ready_clicks = lightflus::test::makeFlag();
  auto ready_views = lightflus::test::makeFlag();
  auto release = lightflus::test::makeFlag();
  ExecutionContext first_ctx("cleanup");
  buildCleanupRun(
      first_ctx,
      {Step<Click>{{{Click{"u", 1000}, 1000}}, watermark, nullptr, ready_clicks},
       Step<Click>{{}, std::nullopt, release}},
      {Step<View>{{}, watermark, nullptr, ready_views}, Step<View>{{}, std::nullopt, release}}, 2);
  auto job = first_ctx.start();
  REQUIRE(lightflus::test::eventually([&] { return ready_clicks->load() && ready_views->load(); }));
  // The barrier follows the watermark through the join (in-band).
  auto snapshot = std::make_shared<Snapshot>(job.triggerCheckpoint());
  release->store(true);
  job.wait();
  REQUIRE(snapshot->operators.count("join") == 1);

  ExecutionContext second_ctx("cleanup");
  auto result =
      buildCleanupRun(second_ctx, {Step<Click>{}}, {Step<View>{{{View{"u", 1500}, 1500}}}}, 3);
  ExecutionOptions options;
  options.restore = snapshot;
  second_ctx.execute(options);
  CHECK(result.size() == joins);
}
