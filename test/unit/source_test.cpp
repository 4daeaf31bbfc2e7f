// The generator and collection sources: subtasks split the ids, snapshots restore at the same or
// another parallelism (detail/id_split.hpp), old snapshots still restore, the rate limits.
// Expected ids are plain ranges: every id below the count, each exactly once.
#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <functional>
#include <memory>
#include <numeric>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "lightflus/lightflus.hpp"

using namespace lightflus;

namespace {

using Ids = std::vector<std::uint64_t>;
using MakeSource = std::function<std::unique_ptr<Source<std::uint64_t>>()>;
using Subtasks = std::vector<std::unique_ptr<Source<std::uint64_t>>>;

MakeSource generator(std::uint64_t count) {
  return [count] {
    auto id = [](std::uint64_t i) { return i; };
    return std::make_unique<GeneratorSource<std::uint64_t, decltype(id)>>(
        id, GeneratorOptions{.count = count});
  };
}

MakeSource collection(std::uint64_t count) {
  auto items = std::make_shared<std::vector<std::uint64_t>>(count);
  std::iota(items->begin(), items->end(), 0);
  return [items] { return std::make_unique<CollectionSource<std::uint64_t>>(items); };
}

/// Opens `parallelism` subtasks; with `previous` (one snapshot per old subtask), restores them
/// as the engine does: each its own at the same parallelism, all of them at another.
Subtasks start(const MakeSource& make, int parallelism, const std::vector<std::string>& previous) {
  Subtasks subtasks;
  for (int s = 0; s < parallelism; ++s) {
    auto source = make();
    if (static_cast<int>(previous.size()) == parallelism) {
      StateReader r(previous[static_cast<std::size_t>(s)]);
      source->restore(r);
    } else if (!previous.empty()) {
      REQUIRE(source->restoreRescaled(previous));
    }
    SourceContext ctx;
    ctx.subtask = s;
    ctx.parallelism = parallelism;
    source->open(ctx);
    subtasks.push_back(std::move(source));
  }
  return subtasks;
}

/// Polls `source` up to `polls` times with batches of `batch`, appending what it emits.
SourceStatus poll(Source<std::uint64_t>& source, int polls, std::size_t batch, Ids& emitted) {
  SourceStatus status = SourceStatus::HaveMoreOutput;
  for (int i = 0; i < polls && status != SourceStatus::Finished; ++i) {
    Batch<std::uint64_t> out_batch;
    SourceOutput<std::uint64_t> out(out_batch, batch);
    status = source.poll(out);
    for (const auto& e : out_batch) emitted.push_back(e.value);
  }
  return status;
}

std::vector<std::string> snapshot(Subtasks& subtasks) {
  std::vector<std::string> all;
  for (auto& s : subtasks) {
    StateWriter w(all.emplace_back());
    s->snapshot(w);
  }
  return all;
}

/// Polls every subtask until it finishes.
void drain(Subtasks& subtasks, Ids& emitted) {
  for (auto& s : subtasks)
    while (poll(*s, 1, 16, emitted) != SourceStatus::Finished) {
    }
}

/// 0, 1, ..., n-1.
Ids range(std::uint64_t n) {
  Ids ids(n);
  std::iota(ids.begin(), ids.end(), 0);
  return ids;
}

Ids sorted(Ids ids) {
  std::sort(ids.begin(), ids.end());
  return ids;
}

bool distinct(Ids ids) {
  std::sort(ids.begin(), ids.end());
  return std::adjacent_find(ids.begin(), ids.end()) == ids.end();
}

std::string legacySnapshot(std::uint64_t next) {
  std::string bytes;
  StateWriter w(bytes);
  w.write(next);
  return bytes;
}

}  // namespace

TEST_CASE("sources restored p1 -> p2 -> p3 -> p1 mid-stream emit every id exactly once",
          "[source]") {
  const std::uint64_t count = 500;
  auto [name, make] = GENERATE_COPY(table<std::string, MakeSource>(
      {{"generator", generator(count)}, {"collection", collection(count)}}));
  INFO(name);
  Ids emitted;
  auto p1 = start(make, 1, {});
  poll(*p1[0], 3, 7, emitted);  // 0 .. 20
  auto p2 = start(make, 2, snapshot(p1));
  poll(*p2[0], 5, 7, emitted);  // far ahead of the other
  poll(*p2[1], 1, 7, emitted);
  REQUIRE(distinct(emitted));
  // Rescaled again before either p2 subtask passed the other's position: the p1 and p2 layers
  // both matter.
  auto p3 = start(make, 3, snapshot(p2));
  poll(*p3[0], 1, 5, emitted);
  poll(*p3[1], 4, 5, emitted);
  // p3[2] emits nothing before the next snapshot.
  auto last = start(make, 1, snapshot(p3));
  drain(last, emitted);
  CHECK(sorted(emitted) == range(count));
}

TEST_CASE("random rescales at uneven progress emit every id exactly once", "[source]") {
  std::mt19937_64 random(12);
  for (int round = 0; round < 300; ++round) {
    const std::uint64_t count = 1 + random() % 300;
    const MakeSource make = round % 2 == 0 ? generator(count) : collection(count);
    const std::size_t batch = 1 + random() % 9;
    Ids emitted;
    std::vector<std::string> previous;
    std::string history;
    const int runs = 1 + static_cast<int>(random() % 5);
    for (int run = 0; run < runs; ++run) {
      const int p = 1 + static_cast<int>(random() % 5);
      history += std::to_string(p) + " ";
      auto subtasks = start(make, p, previous);
      for (auto& s : subtasks) poll(*s, static_cast<int>(random() % 5), batch, emitted);
      previous = snapshot(subtasks);
    }
    auto last = start(make, 1 + static_cast<int>(random() % 5), previous);
    drain(last, emitted);
    INFO("round " << round << ", count " << count << ", parallelisms " << history);
    REQUIRE(sorted(emitted) == range(count));
  }
}

TEST_CASE("an unbounded generator restored at other parallelisms skips and repeats nothing",
          "[source]") {
  std::mt19937_64 random(7);
  for (int round = 0; round < 100; ++round) {
    const MakeSource make = generator(0);
    Ids emitted;
    std::vector<std::string> previous;
    for (int run = 0; run < 4; ++run) {
      auto subtasks = start(make, 1 + static_cast<int>(random() % 4), previous);
      for (auto& s : subtasks) poll(*s, static_cast<int>(random() % 6), 5, emitted);
      previous = snapshot(subtasks);
    }
    // At parallelism 1 the ids come in order: once past everything emitted so far, the ids
    // emitted are exactly 0 .. n-1.
    const std::uint64_t highest =
        emitted.empty() ? 0 : *std::max_element(emitted.begin(), emitted.end());
    auto last = start(make, 1, previous);
    do {
      poll(*last[0], 1, 5, emitted);
    } while (emitted.back() <= highest);
    INFO("round " << round);
    REQUIRE(sorted(emitted) == range(emitted.size()));
  }
}

TEST_CASE("a subtask that passed the old positions snapshots no layers", "[source]") {
  auto make = generator(0);
  Ids emitted;
  auto p2 = start(make, 2, {});
  poll(*p2[0], 10, 10, emitted);  // 0, 2, ..., 198
  poll(*p2[1], 1, 10, emitted);   // 1, 3, ..., 19
  auto p1 = start(make, 1, snapshot(p2));
  poll(*p1[0], 1, 10, emitted);
  const std::size_t small = snapshot(p1)[0].size();
  poll(*p1[0], 20, 10, emitted);  // past 200
  CHECK(snapshot(p1)[0].size() < small);
  CHECK(snapshot(p1)[0].size() == 3 * sizeof(std::uint64_t));  // tag, next, no layers
  CHECK(sorted(emitted) == range(emitted.size()));
}

TEST_CASE("a snapshot of the older format (the next id alone) still restores", "[source]") {
  const std::uint64_t count = 60;
  auto [name, make] = GENERATE_COPY(table<std::string, MakeSource>(
      {{"generator", generator(count)}, {"collection", collection(count)}}));
  INFO(name);
  {
    // Subtask 1 of 3 had emitted 1, 4; subtasks 0 and 2 nothing.
    Ids emitted{1, 4};
    auto p3 = start(make, 3, {legacySnapshot(0), legacySnapshot(7), legacySnapshot(2)});
    drain(p3, emitted);
    CHECK(sorted(emitted) == range(count));
  }
  {
    // Restored at parallelism 3: subtask 0 of 2 had emitted 0, 2, 4, 6; subtask 1 had emitted 1.
    Ids emitted{0, 2, 4, 6, 1};
    auto p3 = start(make, 3, {legacySnapshot(8), legacySnapshot(3)});
    drain(p3, emitted);
    CHECK(sorted(emitted) == range(count));
  }
}

TEST_CASE("an empty collection finishes at once, also restored at another parallelism",
          "[source]") {
  Ids emitted;
  auto p2 = start(collection(0), 2, {});
  drain(p2, emitted);
  auto p3 = start(collection(0), 3, snapshot(p2));
  drain(p3, emitted);
  CHECK(emitted.empty());
}

TEST_CASE("a rate-limited generator emits one id, then waits for its share of the rate",
          "[source]") {
  auto id = [](std::uint64_t i) { return i; };
  GeneratorSource<std::uint64_t, decltype(id)> source(id, GeneratorOptions{.count = 0, .rate = 10});
  SourceContext ctx;
  ctx.subtask = 1;
  ctx.parallelism = 2;
  source.open(ctx);
  Ids emitted;
  CHECK(poll(source, 1, 100, emitted) == SourceStatus::HaveMoreOutput);
  CHECK(emitted == Ids{1});
  CHECK(poll(source, 1, 100, emitted) == SourceStatus::Blocked);  // 5 per second for subtask 1
  CHECK(source.blockedWait() == Duration(200));
}

TEST_CASE("a generator job checkpointed at p2 and p3 and finished at p1 emits each id once",
          "[source][integration]") {
  constexpr std::uint64_t kCount = 30'000;
  auto build = [](ExecutionContext& ctx, int parallelism) {
    ctx.parallelism(parallelism);
    return ctx
        .generate([](std::uint64_t i) { return i; },
                  GeneratorOptions{.count = kCount, .rate = 100'000})
        .uid("ids")
        .collect();
  };
  std::shared_ptr<Snapshot> snapshot;
  for (int parallelism : {2, 3}) {
    ExecutionContext ctx("rescaled-generator");
    build(ctx, parallelism);
    ExecutionOptions options;
    options.restore = snapshot;
    auto handle = ctx.start(options);
    std::this_thread::sleep_for(std::chrono::milliseconds(60));
    snapshot = std::make_shared<Snapshot>(handle.triggerCheckpoint());
    handle.cancel();
    handle.wait();
  }
  ExecutionContext ctx("rescaled-generator");
  auto ids = build(ctx, 1);
  ExecutionOptions options;
  options.restore = snapshot;
  ctx.execute(options);
  CHECK(sorted(ids.values()) == range(kCount));
}
