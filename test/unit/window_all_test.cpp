// Tests of windowAll (window_all.hpp) and topN (WindowedStream::topN): every element in one
// set of windows fired by one task, pre-aggregation before it at parallelism > 1, the window
// functions without a key, and top-N with SQL's RANK() ties, per key and for all, against
// reference loops; a topN window's candidates survive a snapshot and restore.
#include "lightflus/window_all.hpp"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <ostream>
#include <random>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include <catch2/catch.hpp>

#include "lightflus/datastream.hpp"

using namespace lightflus;

namespace {

/// A scored event at `ts` (ms).
struct Bid {
  std::string key;
  Timestamp ts = 0;
  int score = 0;
  friend bool operator==(const Bid&, const Bid&) = default;
  friend auto operator<=>(const Bid&, const Bid&) = default;
  friend std::ostream& operator<<(std::ostream& os, const Bid& b) {
    return os << "{" << b.key << " @" << b.ts << " " << b.score << "}";
  }
};

}  // namespace

// Window state is snapshotted with Serializer<T>: a topN window keeps the candidates.
template <>
struct lightflus::Serializer<Bid> {
  static void write(StateWriter& w, const Bid& b) {
    w.write(b.key);
    w.write(b.ts);
    w.write(b.score);
  }
  static Bid read(StateReader& r) {
    Bid b;
    b.key = r.read<std::string>();
    b.ts = r.read<Timestamp>();
    b.score = r.read<int>();
    return b;
  }
};

namespace {

/// A topN row flattened for comparisons: window start, key, rank, score, ts.
using Row = std::tuple<Timestamp, std::string, std::uint64_t, int, Timestamp>;

const auto kTs = [](const Bid& b) { return b.ts; };
const auto kKey = [](const Bid& b) { return b.key; };
const auto kScore = [](const Bid& b) { return b.score; };

template <class T>
std::vector<T> sorted(std::vector<T> v) {
  std::sort(v.begin(), v.end());
  return v;
}

std::vector<Row> rowsOf(const std::vector<Ranked<Bid, TimeWindow>>& ranked) {
  std::vector<Row> rows;
  for (const auto& r : ranked)
    rows.emplace_back(r.window.start, r.value.key, r.rank, r.value.score, r.value.ts);
  return sorted(rows);
}

/// SQL's RANK() <= n per window (and per key unless `all`), by a plain loop.
std::vector<Row> expectedTopN(const std::vector<Bid>& bids, Duration size, std::size_t n,
                              bool all) {
  std::map<std::pair<Timestamp, std::string>, std::vector<Bid>> groups;
  for (const auto& b : bids) {
    Timestamp start = b.ts - b.ts % size.count();
    groups[{start, all ? std::string() : b.key}].push_back(b);
  }
  std::vector<Row> rows;
  for (const auto& [group, members] : groups)
    for (const auto& b : members) {
      std::uint64_t higher = 0;
      for (const auto& o : members) higher += o.score > b.score ? 1 : 0;
      if (higher + 1 <= n) rows.emplace_back(group.first, b.key, higher + 1, b.score, b.ts);
    }
  return sorted(rows);
}

std::vector<Bid> randomBids(std::size_t count, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<Bid> bids;
  for (std::size_t i = 0; i < count; ++i)
    bids.push_back(Bid{"k" + std::to_string(rng() % 5), static_cast<Timestamp>(i * 37 % 100'000),
                       static_cast<int>(rng() % 20)});
  // Ascending times, so that no element is late whatever the parallelism.
  std::sort(bids.begin(), bids.end(), [](const Bid& a, const Bid& b) { return a.ts < b.ts; });
  return bids;
}

const detail::NodeSpec& nodeNamed(const ExecutionContext& ctx, const std::string& name) {
  for (const auto& n : ctx.graph().nodes)
    if (n.name == name) return n;
  FAIL("no node named " << name);
  return ctx.graph().nodes.front();
}

}  // namespace

TEST_CASE("windowAll counts every element of a window in one task, at any parallelism",
          "[window][windowAll]") {
  std::vector<Bid> bids = randomBids(5000, 7);
  std::map<Timestamp, std::int64_t> expected;
  for (const auto& b : bids) ++expected[b.ts - b.ts % 10'000];

  for (int parallelism : {1, 2, 3}) {
    ExecutionContext ctx("window-all-count");
    ctx.parallelism(parallelism);
    auto counts = ctx.fromCollection<Bid>(bids)
                      .assignTimestamps(kTs, WatermarkStrategy::forMonotonousTimestamps())
                      .map([](const Bid& b) { return b; })  // a combiner forms after a map
                      .windowAll(TumblingEventTimeWindows::of(Time::seconds(10)))
                      .aggregate(Count{},
                                 [](const TimeWindow& w, std::int64_t n) {
                                   return std::pair<Timestamp, std::int64_t>{w.start, n};
                                 })
                      .name("per-window")
                      .collect();
    ctx.execute();
    INFO("parallelism " << parallelism);
    CHECK(sorted(counts.values()) ==
          std::vector<std::pair<Timestamp, std::int64_t>>(expected.begin(), expected.end()));
    CHECK(nodeNamed(ctx, "per-window").parallelism == 1);
    // Pre-aggregated before the exchange: a combiner runs in the map's subtasks.
    bool combiner = false;
    for (const auto& n : ctx.graph().nodes) combiner |= n.kind == "combine";
    CHECK(combiner);
  }
}

TEST_CASE("windowAll reduce and process see the window and all of its elements",
          "[window][windowAll]") {
  const std::vector<Bid> bids = {{"a", 1000, 3}, {"b", 2000, 9},  {"c", 6000, 4},
                                 {"a", 7000, 1}, {"b", 11000, 5}, {"c", 12000, 2}};
  ExecutionContext ctx("window-all-functions");
  ctx.parallelism(2);
  auto stream = ctx.fromCollection<Bid>(bids).assignTimestamps(
      kTs, WatermarkStrategy::forMonotonousTimestamps());
  // Sliding windows (size 10 s, slide 5 s): not pre-aggregated, still one set of windows.
  auto max = stream.windowAll(SlidingEventTimeWindows::of(Time::seconds(10), Time::seconds(5)))
                 .reduce([](const Bid& a, const Bid& b) { return a.score >= b.score ? a : b; })
                 .collect();
  auto listed = stream.windowAll(TumblingEventTimeWindows::of(Time::seconds(10)))
                    .process<std::string>([](const TimeWindow& w, const std::vector<Bid>& elements,
                                             Collector<std::string>& out) {
                      std::vector<std::string> keys;
                      for (const auto& e : elements) keys.push_back(e.key);
                      std::sort(keys.begin(), keys.end());
                      std::string text = std::to_string(w.start) + ":";
                      for (const auto& k : keys) text += k;
                      out.collect(text);
                    })
                    .collect();
  ctx.execute();
  // Windows [-5000,5000) {a3,b9}, [0,10000) {a3,b9,c4,a1}, [5000,15000) {c4,a1,b5,c2},
  // [10000,20000) {b5,c2}.
  CHECK(sorted(max.values()) ==
        sorted(std::vector<Bid>{{"b", 2000, 9}, {"b", 2000, 9}, {"b", 11000, 5}, {"b", 11000, 5}}));
  CHECK(sorted(listed.values()) == std::vector<std::string>{"0:aabc", "10000:bc"});
}

TEST_CASE("topN ranks ties as SQL's RANK(): equal scores share a rank and all make it",
          "[window][topN]") {
  // One window [0,10000): scores 9, 7, 7, 5 (key a) and 9, 9, 7 (key b).
  const std::vector<Bid> bids = {{"a", 100, 7}, {"a", 200, 9}, {"a", 300, 5}, {"a", 400, 7},
                                 {"b", 500, 9}, {"b", 600, 7}, {"b", 700, 9}};
  auto run = [&](std::size_t n, bool all) {
    ExecutionContext ctx("top-n-ties");
    auto stream = ctx.fromCollection<Bid>(bids).assignTimestamps(
        kTs, WatermarkStrategy::forMonotonousTimestamps());
    auto window = TumblingEventTimeWindows::of(Time::seconds(10));
    auto result = all ? stream.windowAll(window).topN(n, kScore).collect()
                      : stream.keyBy(kKey).window(window).topN(n, kScore).collect();
    ctx.execute();
    return result.values();
  };
  SECTION("per key, n = 2") {
    auto rows = run(2, false);
    CHECK(rowsOf(rows) == std::vector<Row>{{0, "a", 1, 9, 200},
                                           {0, "a", 2, 7, 100},
                                           {0, "a", 2, 7, 400},
                                           {0, "b", 1, 9, 500},
                                           {0, "b", 1, 9, 700}});
    // A window's rows come in rank order; equal scores in arrival order; the row's time is the
    // window's max timestamp.
    std::vector<std::uint64_t> a_ranks;
    std::vector<Timestamp> a_times;
    for (const auto& r : rows)
      if (r.value.key == "a") {
        a_ranks.push_back(r.rank);
        a_times.push_back(r.value.ts);
      }
    CHECK(a_ranks == std::vector<std::uint64_t>{1, 2, 2});
    CHECK(a_times == std::vector<Timestamp>{200, 100, 400});
  }
  SECTION("per key, n = 3: rank 3 follows two firsts") {
    auto rows = rowsOf(run(3, false));
    CHECK(std::count(rows.begin(), rows.end(), Row{0, "b", 3, 7, 600}) == 1);
    CHECK(std::count(rows.begin(), rows.end(), Row{0, "a", 4, 5, 300}) == 0);
  }
  SECTION("for all, n = 1: the three nines") {
    CHECK(rowsOf(run(1, true)) ==
          std::vector<Row>{{0, "a", 1, 9, 200}, {0, "b", 1, 9, 500}, {0, "b", 1, 9, 700}});
  }
}

TEST_CASE("topN gives the reference loop's rows at parallelism 1, 2 and 3", "[window][topN]") {
  std::vector<Bid> bids = randomBids(4000, 11);
  const auto size = Time::seconds(10);
  for (bool all : {false, true})
    for (std::size_t n : {1, 3}) {
      auto expected = expectedTopN(bids, size, n, all);
      for (int parallelism : {1, 2, 3}) {
        ExecutionContext ctx("top-n-reference");
        ctx.parallelism(parallelism);
        auto stream = ctx.fromCollection<Bid>(bids)
                          .assignTimestamps(kTs, WatermarkStrategy::forMonotonousTimestamps())
                          .filter([](const Bid&) { return true; });
        auto window = TumblingEventTimeWindows::of(size);
        auto result = all ? stream.windowAll(window).topN(n, kScore).collect()
                          : stream.keyBy(kKey).window(window).topN(n, kScore).collect();
        ctx.execute();
        INFO("all " << all << ", n " << n << ", parallelism " << parallelism);
        CHECK(rowsOf(result.values()) == expected);
      }
    }
}

TEST_CASE("topN refuses n = 0", "[window][topN]") {
  ExecutionContext ctx("top-n-zero");
  auto stream = ctx.fromCollection<Bid>({{"a", 1, 1}});
  CHECK_THROWS_WITH(
      stream.windowAll(TumblingEventTimeWindows::of(Time::seconds(1))).topN(0, kScore),
      Catch::Contains("topN(n, by) needs n >= 1"));
}

TEST_CASE("a topN window's candidates survive a snapshot and a restore at another parallelism",
          "[window][topN][snapshot]") {
  // A rate-limited generator, so that the snapshot lands mid-window; one window for all.
  constexpr std::uint64_t kCount = 20'000;
  auto bidOf = [](std::uint64_t i) {
    return Bid{"k" + std::to_string(i % 7), static_cast<Timestamp>(i),
               static_cast<int>((i * 7919) % 1000)};
  };
  std::vector<Bid> all;
  for (std::uint64_t i = 0; i < kCount; ++i) all.push_back(bidOf(i));
  auto build = [&](ExecutionContext& ctx, int parallelism) {
    return ctx.generate(bidOf, GeneratorOptions{.count = kCount, .rate = 100'000})
        .parallelism(1)
        .uid("bids")
        .assignTimestamps(kTs, WatermarkStrategy::forMonotonousTimestamps())
        .keyBy(kKey)
        .window(GlobalWindows::create())
        .topN(4, kScore)
        .uid("top")
        .parallelism(parallelism)
        .collect();
  };
  ExecutionContext first_ctx("top-n-restore");
  build(first_ctx, 2);
  auto handle = first_ctx.start();
  std::this_thread::sleep_for(std::chrono::milliseconds(60));
  auto snapshot = std::make_shared<Snapshot>(handle.triggerCheckpoint());
  handle.cancel();
  handle.wait();
  REQUIRE(snapshot->operators.count("top") == 1);

  ExecutionContext second_ctx("top-n-restore");
  auto result = build(second_ctx, 3);
  ExecutionOptions options;
  options.restore = snapshot;
  second_ctx.execute(options);

  // Global windows: one window per key, so rank per key over the whole input.
  std::vector<Row> expected;
  for (const auto& row : expectedTopN(all, Duration(1'000'000'000), 4, false)) {
    auto [start, key, rank, score, ts] = row;
    expected.emplace_back(0, key, rank, score, ts);
  }
  std::vector<Row> got;
  for (const auto& r : result.values())
    got.emplace_back(0, r.value.key, r.rank, r.value.score, r.value.ts);
  CHECK(sorted(got) == sorted(expected));
}
