// Tests of regular joins (regular_join.hpp): inner and left outer joins of two keyed streams
// against reference loops at parallelism 1 and 2, the left join's changelog (+I a-with-null,
// then -D/+I when a partner comes), state retention in processing time, and a restore at
// another parallelism.
#include "lightflus/regular_join.hpp"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#define CATCH_CONFIG_ENABLE_PAIR_STRINGMAKER
#define CATCH_CONFIG_ENABLE_TUPLE_STRINGMAKER
#include <catch2/catch.hpp>

#include "../support/test_helpers.hpp"
#include "lightflus/lightflus.hpp"

using namespace lightflus;
using lightflus::test::sorted;

namespace {

/// Both sides come from one source: side 0 is an order (key, id), side 1 a payment (key, id).
struct Event {
  int side = 0;
  int key = 0;
  int id = 0;
};
using Pair = std::tuple<int, int, int>;  // key, order id, payment id (-1: none)

std::vector<Event> randomEvents(std::size_t n, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<Event> events;
  for (std::size_t i = 0; i < n; ++i)
    events.push_back(
        Event{static_cast<int>(rng() % 2), static_cast<int>(rng() % 40), static_cast<int>(i)});
  return events;
}

std::vector<Pair> expectedInner(const std::vector<Event>& events) {
  std::vector<Pair> pairs;
  for (const auto& a : events)
    for (const auto& b : events)
      if (a.side == 0 && b.side == 1 && a.key == b.key) pairs.emplace_back(a.key, a.id, b.id);
  return sorted(pairs);
}

std::vector<Pair> expectedLeft(const std::vector<Event>& events) {
  std::vector<Pair> pairs;
  for (const auto& a : events) {
    if (a.side != 0) continue;
    bool matched = false;
    for (const auto& b : events)
      if (b.side == 1 && a.key == b.key) {
        pairs.emplace_back(a.key, a.id, b.id);
        matched = true;
      }
    if (!matched) pairs.emplace_back(a.key, a.id, -1);
  }
  return sorted(pairs);
}

auto joined(const DataStream<Event>& events) {
  auto orders = events.filter([](const Event& e) { return e.side == 0; });
  auto payments = events.filter([](const Event& e) { return e.side == 1; });
  return orders.connect(payments)
      .keyBy([](const Event& e) { return e.key; }, [](const Event& e) { return e.key; })
      .join();
}

const auto kPair = [](const Event& a, const Event& b) { return Pair{a.key, a.id, b.id}; };
const auto kMaybePair = [](const Event& a, const Event* b) {
  return Pair{a.key, a.id, b ? b->id : -1};
};

/// Applies a changelog in order; checks that every -D retracts a row that is there.
std::vector<Pair> replay(const std::vector<Change<Pair>>& changes) {
  std::multiset<Pair> table;
  for (const auto& c : changes) {
    if (c.kind == RowKind::Insert) {
      table.insert(c.row);
    } else {
      REQUIRE(c.kind == RowKind::Delete);
      auto it = table.find(c.row);
      REQUIRE(it != table.end());
      table.erase(it);
    }
  }
  return {table.begin(), table.end()};
}

}  // namespace

template <>
struct lightflus::Serializer<Event> {
  static void write(StateWriter& w, const Event& e) {
    w.write(e.side);
    w.write(e.key);
    w.write(e.id);
  }
  static Event read(StateReader& r) {
    Event e;
    e.side = r.read<int>();
    e.key = r.read<int>();
    e.id = r.read<int>();
    return e;
  }
};

TEST_CASE("an inner regular join emits every pair with the same key, whatever the order",
          "[join][regular]") {
  auto events = randomEvents(2000, 3);
  auto expected = expectedInner(events);
  REQUIRE(expected.size() > 1000);
  for (int parallelism : {1, 2}) {
    ExecutionContext ctx("regular-inner");
    ctx.parallelism(parallelism);
    auto result = joined(ctx.fromCollection(events)).inner(kPair).collect();
    ctx.execute();
    INFO("parallelism " << parallelism);
    CHECK(sorted(result.values()) == expected);
  }
}

TEST_CASE("a left outer join is a changelog: +I with null, retracted when a partner comes",
          "[join][regular][changelog]") {
  SECTION("by hand") {
    // Order 1 (key 7) waits alone, then payment 10 and 11 come; order 2 (key 8) never matches;
    // order 3 (key 7) arrives after the payments. 100 ms apart: orders and payments reach the
    // join through two exchanges, and only time orders elements of different inputs.
    const std::vector<Event> input = {{0, 7, 1}, {0, 8, 2}, {1, 7, 10}, {1, 7, 11}, {0, 7, 3}};
    ExecutionContext ctx("regular-left-hand");
    auto events = ctx.generate([input](std::uint64_t i) { return input[i]; },
                               GeneratorOptions{.count = input.size(), .rate = 10});
    auto result = joined(events).leftOuter(kMaybePair).collect();
    ctx.execute();
    CHECK(result.values() == std::vector<Change<Pair>>{{RowKind::Insert, {7, 1, -1}},
                                                       {RowKind::Insert, {8, 2, -1}},
                                                       {RowKind::Delete, {7, 1, -1}},
                                                       {RowKind::Insert, {7, 1, 10}},
                                                       {RowKind::Insert, {7, 1, 11}},
                                                       {RowKind::Insert, {7, 3, 10}},
                                                       {RowKind::Insert, {7, 3, 11}}});
  }
  SECTION("replayed, the rows are the left join, at parallelism 1 and 2") {
    auto events = randomEvents(1500, 5);
    auto expected = expectedLeft(events);
    for (int parallelism : {1, 2}) {
      ExecutionContext ctx("regular-left");
      ctx.parallelism(parallelism);
      auto result = joined(ctx.fromCollection(events)).leftOuter(kMaybePair).collect();
      ctx.execute();
      INFO("parallelism " << parallelism);
      CHECK(replay(result.values()) == expected);
    }
  }
}

TEST_CASE("with a state retention, elements older than it no longer join", "[join][regular]") {
  // Order (key 1) at 0 ms, payment (key 1) at >= 100 ms: the generator's rate keeps them apart.
  auto run = [](Duration retention) {
    ExecutionContext ctx("regular-retention");
    auto events = ctx.generate(
        [](std::uint64_t i) {
          return Event{static_cast<int>(i), 1, static_cast<int>(i)};
        },
        GeneratorOptions{.count = 2, .rate = 10});
    auto result = joined(events).stateRetention(retention).leftOuter(kMaybePair).collect();
    ctx.execute();
    return result.values();
  };
  CHECK(run(Duration(0)) == std::vector<Change<Pair>>{{RowKind::Insert, {1, 0, -1}},
                                                      {RowKind::Delete, {1, 0, -1}},
                                                      {RowKind::Insert, {1, 0, 1}}});
  CHECK(run(Duration(3'600'000)).size() == 3);
  // 30 ms: the order is gone when the payment comes; the payment joins nothing.
  CHECK(run(Duration(30)) == std::vector<Change<Pair>>{{RowKind::Insert, {1, 0, -1}}});
  CHECK_THROWS_WITH(
      [] {
        ExecutionContext ctx("regular-bad-retention");
        joined(ctx.fromCollection(std::vector<Event>{})).stateRetention(Duration(-1));
      }(),
      Catch::Contains("stateRetention(d) needs d >= 0"));
}

TEST_CASE("a regular join's kept elements survive a snapshot and a restore at another parallelism",
          "[join][regular][snapshot]") {
  constexpr std::uint64_t kCount = 6000;
  auto eventOf = [](std::uint64_t i) {
    return Event{static_cast<int>((i * 7) % 3 == 0 ? 0 : 1), static_cast<int>(i % 50),
                 static_cast<int>(i)};
  };
  std::vector<Event> all;
  for (std::uint64_t i = 0; i < kCount; ++i) all.push_back(eventOf(i));
  auto build = [&](ExecutionContext& ctx, int parallelism) {
    auto events = ctx.generate(eventOf, GeneratorOptions{.count = kCount, .rate = 60'000})
                      .parallelism(1)
                      .uid("events");
    return joined(events).inner(kPair).uid("join").parallelism(parallelism).collect();
  };
  ExecutionContext first_ctx("regular-restore");
  build(first_ctx, 2);
  auto handle = first_ctx.start();
  std::this_thread::sleep_for(std::chrono::milliseconds(40));
  auto snapshot = std::make_shared<Snapshot>(handle.triggerCheckpoint());
  handle.cancel();
  handle.wait();
  REQUIRE(snapshot->operators.count("join") == 1);

  ExecutionContext second_ctx("regular-restore");
  auto result = build(second_ctx, 3);
  ExecutionOptions options;
  options.restore = snapshot;
  second_ctx.execute(options);
  CHECK(sorted(result.values()) == expectedInner(all));
}
