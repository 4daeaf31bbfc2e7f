// Snapshots: a consistent copy of a running job's state, and restoring a new job from it.
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdio>
#include <map>
#include <thread>

#include "lightflus/lightflus.hpp"

using namespace lightflus;

namespace {

constexpr std::uint64_t kCount = 60'000;
using KV = std::pair<int, std::int64_t>;

struct SumKV {
  KV operator()(const KV& a, const KV& b) const { return {a.first, a.second + b.second}; }
};

// A rate-limited generator (so a snapshot lands mid-stream) -> keyed rolling sum ->
// window total per key at the end.
struct Job {
  CollectResult<KV> rolling;
  CollectResult<KV> totals;
  CollectResult<KV> counts;  // through the combiner (pre-aggregation before the exchange)
};

Job build(ExecutionContext& ctx, int key_parallelism) {
  auto numbers = ctx.generate(
                        [](std::uint64_t i) {
                          return KV{static_cast<int>(i % 13), static_cast<std::int64_t>(i)};
                        },
                        GeneratorOptions{.count = kCount, .rate = 200'000})
                     .parallelism(1)  // one producer: per-key order, so rolling sums, is fixed
                     .uid("numbers");
  auto keyed = numbers.keyBy([](const KV& kv) { return kv.first; });
  Job job;
  job.rolling = keyed.reduce(SumKV{})
                    .uid("rolling-sum")
                    .parallelism(key_parallelism)
                    .filter([](const KV& kv) { return kv.second % 7 == 0; })
                    .collect("rolling");
  job.totals = keyed.window(GlobalWindows::create())
                   .reduce(SumKV{})
                   .uid("totals")
                   .parallelism(key_parallelism)
                   .collect("totals");
  job.counts = keyed.window(GlobalWindows::create())
                   .aggregate(Count{},
                              [](const int& k, const GlobalWindow&, std::int64_t n) {
                                return KV{k, n};
                              })
                   .uid("counts")
                   .parallelism(key_parallelism)
                   .collect("counts");
  return job;
}

std::vector<KV> sorted(std::vector<KV> v) {
  std::sort(v.begin(), v.end());
  return v;
}

std::vector<KV> expectedCounts() {
  std::map<int, std::int64_t> counts;
  for (std::uint64_t i = 0; i < kCount; ++i) ++counts[static_cast<int>(i % 13)];
  return {counts.begin(), counts.end()};
}

std::vector<KV> expectedTotals() {
  std::map<int, std::int64_t> sums;
  for (std::uint64_t i = 0; i < kCount; ++i)
    sums[static_cast<int>(i % 13)] += static_cast<std::int64_t>(i);
  return {sums.begin(), sums.end()};
}

}  // namespace

TEST_CASE("a snapshot taken mid-stream and restored into a fresh job gives identical results",
          "[snapshot]") {
  // The uninterrupted run.
  ExecutionContext full_ctx("snapshot-job");
  Job full = build(full_ctx, 2);
  full_ctx.execute();
  REQUIRE(sorted(full.totals.values()) == expectedTotals());
  REQUIRE(sorted(full.counts.values()) == expectedCounts());

  // Run, snapshot mid-stream, cancel.
  ExecutionContext first_ctx("snapshot-job");
  Job first = build(first_ctx, 2);
  auto handle = first_ctx.start();
  std::this_thread::sleep_for(std::chrono::milliseconds(80));
  Snapshot snapshot = handle.triggerCheckpoint();
  handle.cancel();
  handle.wait();
  CHECK(first.totals.size() == 0);  // the window had not fired yet
  REQUIRE(snapshot.operators.count("numbers") == 1);
  REQUIRE(snapshot.operators.count("rolling-sum") == 1);

  // Through a file, as a restart would.
  char dir[] = "/tmp/lightflus-snapshot-XXXXXX";
  REQUIRE(mkdtemp(dir) != nullptr);
  std::string path = std::string(dir) + "/snapshot.bin";
  snapshot.writeTo(path);
  auto restored = std::make_shared<Snapshot>(Snapshot::readFrom(path));
  std::remove(path.c_str());
  rmdir(dir);

  ExecutionContext second_ctx("snapshot-job");
  Job second = build(second_ctx, 2);
  ExecutionOptions options;
  options.restore = restored;
  second_ctx.execute(options);

  CHECK(sorted(second.totals.values()) == expectedTotals());
  CHECK(sorted(second.counts.values()) == expectedCounts());
  // The collect sink restored what it had at the snapshot: exactly the uninterrupted output.
  CHECK(sorted(second.rolling.values()) == sorted(full.rolling.values()));
}

TEST_CASE("keyed state restores into a different parallelism by key group", "[snapshot]") {
  ExecutionContext first_ctx("rescale");
  build(first_ctx, 2);
  auto handle = first_ctx.start();
  std::this_thread::sleep_for(std::chrono::milliseconds(80));
  auto snapshot = std::make_shared<Snapshot>(handle.triggerCheckpoint());
  handle.cancel();
  handle.wait();

  ExecutionContext second_ctx("rescale");
  Job second = build(second_ctx, 3);
  ExecutionOptions options;
  options.restore = snapshot;
  second_ctx.execute(options);
  CHECK(sorted(second.totals.values()) == expectedTotals());
  CHECK(sorted(second.counts.values()) == expectedCounts());
}

TEST_CASE("a corrupt snapshot is rejected with a clear error", "[snapshot]") {
  CHECK_THROWS_WITH(Snapshot::deserialize("garbage"), Catch::Contains("not a Lightflus snapshot"));
  Snapshot s;
  s.job_name = "j";
  s.operators["x"].subtasks = {"abc"};
  std::string bytes = s.serialize();
  CHECK(Snapshot::deserialize(bytes).operators.at("x").subtasks.at(0) == "abc");
  CHECK_THROWS_AS(Snapshot::deserialize(bytes.substr(0, bytes.size() - 2)), InputError);
}

TEST_CASE("a snapshot of a finished job is refused", "[snapshot]") {
  ExecutionContext ctx("done");
  ctx.fromCollection(std::vector<int>{1, 2, 3}).collect();
  auto job = ctx.start();
  job.wait();
  CHECK_THROWS_WITH(job.triggerCheckpoint(), Catch::Contains("not running"));
}
