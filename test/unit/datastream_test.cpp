// Operator semantics of the DataStream API: map, flatMap, filter, keyBy + reduce/aggregate/
// process, union, parallelism, failure propagation.
#include <algorithm>
#include <catch2/catch.hpp>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "lightflus/lightflus.hpp"

using namespace lightflus;

namespace {
template <class T>
std::vector<T> sorted(std::vector<T> v) {
  std::sort(v.begin(), v.end());
  return v;
}
std::vector<int> range(int n) {
  std::vector<int> v(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) v[static_cast<std::size_t>(i)] = i;
  return v;
}
}  // namespace

TEST_CASE("map, filter and flatMap transform every element", "[datastream]") {
  ExecutionContext ctx("stateless");
  auto out = ctx.fromCollection(range(10))
                 .map([](const int& x) { return x * 3; })
                 .filter([](const int& x) { return x % 2 == 0; })
                 .flatMap<int>([](const int& x, Collector<int>& c) {
                   c.collect(x);
                   c.collect(-x);
                 })
                 .collect();
  ctx.execute();
  CHECK(sorted(out.values()) == std::vector<int>{-24, -18, -12, -6, 0, 0, 6, 12, 18, 24});
}

TEST_CASE("flatMap accepts a function returning a range", "[datastream]") {
  ExecutionContext ctx("range-flatmap");
  auto out = ctx.fromCollection(std::vector<std::string>{"a b", "c"})
                 .flatMap([](const std::string& s) {
                   std::vector<std::string> parts;
                   for (char ch : s)
                     if (ch != ' ') parts.emplace_back(1, ch);
                   return parts;
                 })
                 .collect();
  ctx.execute();
  CHECK(sorted(out.values()) == std::vector<std::string>{"a", "b", "c"});
}

TEST_CASE("rolling reduce emits the updated value for every element", "[datastream]") {
  ExecutionContext ctx("rolling-reduce");
  using KV = std::pair<std::string, int>;
  auto out = ctx.fromCollection(std::vector<KV>{{"a", 1}, {"b", 10}, {"a", 2}, {"a", 3}, {"b", 5}})
                 .keyBy([](const KV& kv) { return kv.first; })
                 .reduce([](const KV& acc, const KV& v) {
                   return KV{acc.first, acc.second + v.second};
                 })
                 .collect();
  ctx.execute();
  // Per key, the emitted values are the running sums in arrival order.
  std::map<std::string, std::vector<int>> per_key;
  for (auto& [k, v] : out.values()) per_key[k].push_back(v);
  CHECK(per_key["a"] == std::vector<int>{1, 3, 6});
  CHECK(per_key["b"] == std::vector<int>{10, 15});
}

TEST_CASE("rolling aggregate keeps an accumulator per key", "[datastream]") {
  struct Avg {
    std::pair<double, int> createAccumulator() const { return {0, 0}; }
    void add(std::pair<double, int>& a, const int& v) const {
      a.first += v;
      ++a.second;
    }
    double getResult(const std::pair<double, int>& a) const { return a.first / a.second; }
  };
  ExecutionContext ctx("rolling-aggregate");
  auto out = ctx.fromCollection(std::vector<int>{2, 4, 6})
                 .keyBy([](const int&) { return 0; })
                 .aggregate(Avg{})
                 .collect();
  ctx.execute();
  CHECK(out.values() == std::vector<double>{2.0, 3.0, 4.0});
}

TEST_CASE("parallelism 1 and 4 give the same multiset", "[datastream]") {
  auto run = [](int p) {
    ExecutionContext ctx("parallel");
    ctx.parallelism(p);
    auto out = ctx.generate([](std::uint64_t i) { return static_cast<int>(i % 1000); },
                            GeneratorOptions{.count = 200'000})
                   .map([](const int& x) { return std::pair<int, int>(x % 97, 1); })
                   .keyBy([](const std::pair<int, int>& kv) { return kv.first; })
                   .reduce([](const std::pair<int, int>& a, const std::pair<int, int>& b) {
                     return std::pair<int, int>(a.first, a.second + b.second);
                   })
                   .filter([](const std::pair<int, int>& kv) { return kv.second % 100 == 0; })
                   .collect();
    ctx.execute();
    return sorted(out.values());
  };
  // Expected: for each key k, counts reach every multiple of 100 up to its total.
  std::map<int, int> totals;
  for (int i = 0; i < 200'000; ++i) ++totals[(i % 1000) % 97];
  std::vector<std::pair<int, int>> expected;
  for (auto& [k, n] : totals)
    for (int c = 100; c <= n; c += 100) expected.emplace_back(k, c);
  std::sort(expected.begin(), expected.end());
  auto p1 = run(1);
  CHECK(p1 == expected);
  CHECK(run(4) == expected);
}

TEST_CASE("union merges streams of the same type", "[datastream]") {
  ExecutionContext ctx("union");
  auto a = ctx.fromCollection(std::vector<int>{1, 2});
  auto b = ctx.fromCollection(std::vector<int>{3});
  auto c = ctx.fromCollection(std::vector<int>{4, 5}).map([](const int& x) { return x * 10; });
  auto out = a.unionWith(b, c).collect();
  ctx.execute();
  CHECK(sorted(out.values()) == std::vector<int>{1, 2, 3, 40, 50});
}

TEST_CASE("a stream consumed twice feeds both consumers", "[datastream]") {
  ExecutionContext ctx("fan-out");
  auto src = ctx.fromCollection(range(5));
  auto doubled = src.map([](const int& x) { return x * 2; }).collect();
  auto same = src.collect();
  ctx.execute();
  CHECK(sorted(doubled.values()) == std::vector<int>{0, 2, 4, 6, 8});
  CHECK(sorted(same.values()) == range(5));
}

TEST_CASE("an exception in a user function fails the job with the operator's name",
          "[datastream]") {
  ExecutionContext ctx("failing-job");
  ctx.parallelism(2);
  ctx.generate([](std::uint64_t i) { return i; }, GeneratorOptions{.count = 100'000})
      .map([](const std::uint64_t& x) {
        if (x == 5000) throw std::runtime_error("boom at 5000");
        return x;
      })
      .name("explode")
      .keyBy([](const std::uint64_t& x) { return x % 10; })
      .reduce([](const std::uint64_t& a, const std::uint64_t& b) { return a + b; })
      .collect();
  try {
    ctx.execute();
    FAIL("the job should have failed");
  } catch (const JobFailedError& e) {
    CHECK(e.operatorName() == "explode");
    CHECK(e.cause() == "boom at 5000");
    CHECK(std::string(e.what()).find("job 'failing-job' failed: operator 'explode'") !=
          std::string::npos);
  }
}

TEST_CASE("a failure in an unbounded job stops it instead of hanging", "[datastream]") {
  ExecutionContext ctx("unbounded-failure");
  ctx.generate([](std::uint64_t i) { return i; })  // never ends by itself
      .keyBy([](const std::uint64_t& x) { return x % 4; })
      .reduce([](const std::uint64_t& a, const std::uint64_t& b) {
        if (b > 50'000) throw std::logic_error("too big");
        return a + b;
      })
      .name("sum")
      .collect();
  auto job = ctx.start();
  REQUIRE(job.waitFor(Duration(10'000)));
  CHECK(job.status() == JobStatus::Failed);
  CHECK(job.error().find("operator 'sum'") != std::string::npos);
  CHECK_THROWS_AS(job.wait(), JobFailedError);
}

TEST_CASE("cancel stops an unbounded job", "[datastream]") {
  ExecutionContext ctx("cancelled");
  ctx.parallelism(2);
  ctx.generate([](std::uint64_t i) { return i; })
      .keyBy([](const std::uint64_t& x) { return x % 8; })
      .reduce([](const std::uint64_t& a, const std::uint64_t& b) { return a + b; })
      .forEach([](const std::uint64_t&) {});
  auto job = ctx.start();
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  job.cancel();
  REQUIRE(job.waitFor(Duration(5'000)));
  CHECK(job.status() == JobStatus::Cancelled);
  job.wait();
}

TEST_CASE("keyed process functions keep state per key and fire event-time timers", "[datastream]") {
  struct CountThenReport {
    void processElement(const std::pair<std::string, Timestamp>&,
                        KeyedContext<std::string, std::string>& ctx) {
      auto count = ctx.valueState<int>("count");
      count.update(count.value(0) + 1);
      ctx.registerEventTimeTimer(1000);  // one timer per key (deduplicated)
    }
    void onTimer(Timestamp t, KeyedContext<std::string, std::string>& ctx) {
      ctx.collect(ctx.key() + "=" + std::to_string(*ctx.valueState<int>("count").get()) + "@" +
                  std::to_string(t));
    }
  };
  using E = std::pair<std::string, Timestamp>;
  ExecutionContext ctx("process");
  auto out = ctx.fromCollection(std::vector<E>{{"a", 1}, {"b", 2}, {"a", 3}, {"a", 2000}})
                 .assignTimestamps([](const E& e) { return e.second; })
                 .keyBy([](const E& e) { return e.first; })
                 .process<std::string>(CountThenReport{})
                 .collect();
  ctx.execute(ExecutionOptions{.batch_size = 1});
  // The timer at 1000 fires when the watermark passes it (after "a"@2000), by then a has 3.
  CHECK(sorted(out.values()) == std::vector<std::string>{"a=3@1000", "b=1@1000"});
}

TEST_CASE("metrics count records in and out per operator", "[datastream]") {
  ExecutionContext ctx("metrics");
  ctx.fromCollection(range(1000))
      .filter([](const int& x) { return x < 100; })
      .name("small")
      .collect();
  auto job = ctx.start();
  job.wait();
  auto metrics = job.metrics();
  auto it = std::find_if(metrics.begin(), metrics.end(),
                         [](const OperatorMetrics& m) { return m.name == "small"; });
  REQUIRE(it != metrics.end());
  CHECK(it->records_in == 1000);
  CHECK(it->records_out == 100);
  CHECK(job.describePlan().find("filter 'small'") != std::string::npos);
}

TEST_CASE("the plan's edges chain forward operators and exchange by key after keyBy",
          "[datastream]") {
  ExecutionContext ctx("plan-edges");
  ctx.parallelism(2);
  ctx.fromCollection(range(100))
      .filter([](const int& x) { return x % 2 == 0; })
      .name("evens")
      .keyBy([](const int& x) { return x % 3; })
      .reduce([](const int& a, const int& b) { return a + b; })
      .name("sums")
      .collect();
  auto job = ctx.start();
  job.wait();
  auto metrics = job.metrics();
  auto idOf = [&](const std::string& name) {
    auto it = std::find_if(metrics.begin(), metrics.end(),
                           [&](const OperatorMetrics& m) { return m.name == name; });
    REQUIRE(it != metrics.end());
    return it->id;
  };
  auto edges = job.planEdges();
  auto edgeInto = [&](int to) {
    auto it =
        std::find_if(edges.begin(), edges.end(), [&](const PlanEdge& e) { return e.to == to; });
    REQUIRE(it != edges.end());
    return *it;
  };
  // Source and filter both run with parallelism 2: the filter is called in the source's task.
  PlanEdge into_filter = edgeInto(idOf("evens"));
  CHECK(into_filter.exchange == "forward");
  CHECK(into_filter.chained);
  PlanEdge into_reduce = edgeInto(idOf("sums"));
  CHECK(into_reduce.exchange == "hash");
  CHECK_FALSE(into_reduce.chained);
  CHECK(into_reduce.output.empty());
  CHECK(edges.size() == metrics.size() - 1);  // a line: every operator but the source has one
}

TEST_CASE("a side output nobody reads is a configuration error", "[datastream]") {
  ExecutionContext ctx("dead-letters-unread");
  readJsonLines(ctx, "/nonexistent.jsonl", MalformedPolicy::DeadLetter).collect();
  CHECK_THROWS_WITH(ctx.execute(), Catch::Contains("nothing consumes it"));
}
