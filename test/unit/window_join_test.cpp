// Tests of the window join (window_join.hpp), from Flink's semantics: every pair of elements
// with equal keys in the same window, emitted when the window fires at its maxTimestamp(); an
// inner join; late elements dropped; state restored at another parallelism. Expected results
// are computed by plain loops.
#include "lightflus/window_join.hpp"

#include <chrono>
#include <map>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#define CATCH_CONFIG_ENABLE_PAIR_STRINGMAKER
#define CATCH_CONFIG_ENABLE_TUPLE_STRINGMAKER
#include <catch2/catch.hpp>

#include "../support/test_helpers.hpp"
#include "lightflus/lightflus.hpp"

using namespace lightflus;
using lightflus::test::sorted;

namespace {

struct Bid {
  int auction = 0;
  Timestamp ts = 0;
};
struct Auction {
  int id = 0;
  Timestamp ts = 0;
  std::string seller;
};
/// auction, bid time, auction time, seller.
using Match = std::tuple<int, Timestamp, Timestamp, std::string>;

std::vector<Bid> bids() {
  std::vector<Bid> all;
  for (Timestamp t = 0; t < 90; ++t) all.push_back(Bid{static_cast<int>(t % 5), t});
  return all;
}
std::vector<Auction> auctions() {
  std::vector<Auction> all;
  for (Timestamp t = 0; t < 90; t += 4)
    all.push_back(Auction{static_cast<int>(t % 7), t, "s" + std::to_string(t)});
  return all;
}

/// The join by definition: equal keys, and the same tumbling window of `size`.
std::vector<Match> expectedTumbling(Timestamp size) {
  std::vector<Match> out;
  for (const auto& b : bids())
    for (const auto& a : auctions())
      if (b.auction == a.id && b.ts / size == a.ts / size)
        out.emplace_back(b.auction, b.ts, a.ts, a.seller);
  return out;
}

}  // namespace

TEST_CASE("a window join emits every pair of equal keys in a window at its max timestamp",
          "[window-join]") {
  const int parallelism = GENERATE(1, 3);
  ExecutionContext ctx("window-join");
  ctx.parallelism(parallelism);
  auto bid_stream = ctx.fromCollection(bids()).assignTimestamps([](const Bid& b) { return b.ts; });
  auto auction_stream =
      ctx.fromCollection(auctions()).assignTimestamps([](const Auction& a) { return a.ts; });
  auto result = bid_stream.join(auction_stream)
                    .where([](const Bid& b) { return b.auction; })
                    .equalTo([](const Auction& a) { return a.id; })
                    .window(TumblingEventTimeWindows::of(Time::milliseconds(20)))
                    .apply([](const Bid& b, const Auction& a) {
                      return Match{b.auction, b.ts, a.ts, a.seller};
                    })
                    .collect();
  auto job = ctx.start();
  job.wait();
  auto expected = expectedTumbling(20);
  REQUIRE(!expected.empty());
  CHECK(sorted(result.values()) == sorted(expected));
  for (const auto& e : result.elements())
    CHECK(e.timestamp == std::get<1>(e.value) / 20 * 20 + 19);  // the window's maxTimestamp()
}

TEST_CASE("a window join over sliding windows emits a pair once per window they share",
          "[window-join]") {
  ExecutionContext ctx("sliding-join");
  ctx.parallelism(2);
  auto bid_stream = ctx.fromCollection(bids()).assignTimestamps([](const Bid& b) { return b.ts; });
  auto auction_stream =
      ctx.fromCollection(auctions()).assignTimestamps([](const Auction& a) { return a.ts; });
  // A flat join: f(a, b, collector), here emitting only the bids after the auction.
  auto result =
      bid_stream.join(auction_stream)
          .where([](const Bid& b) { return b.auction; })
          .equalTo([](const Auction& a) { return a.id; })
          .window(SlidingEventTimeWindows::of(Time::milliseconds(20), Time::milliseconds(10)))
          .apply<Match>([](const Bid& b, const Auction& a, Collector<Match>& out) {
            if (b.ts >= a.ts) out.collect(Match{b.auction, b.ts, a.ts, a.seller});
          })
          .collect();
  ctx.execute();
  // Windows [10k - 10, 10k + 10) for every k that holds an element.
  std::vector<Match> expected;
  for (Timestamp start = -10; start < 100; start += 10)
    for (const auto& b : bids())
      for (const auto& a : auctions())
        if (b.auction == a.id && b.ts >= a.ts && b.ts >= start && b.ts < start + 20 &&
            a.ts >= start && a.ts < start + 20)
          expected.emplace_back(b.auction, b.ts, a.ts, a.seller);
  REQUIRE(!expected.empty());
  CHECK(sorted(result.values()) == sorted(expected));
}

namespace {

constexpr std::uint64_t kCount = 30'000;
using KV = std::pair<int, std::int64_t>;

/// Both sides: (i % 13, i) at timestamp i; the join matches equal values in 1 s windows.
CollectResult<KV> buildJoin(ExecutionContext& ctx, int parallelism) {
  auto side = [&](const char* uid) {
    return ctx
        .generate(
            [](std::uint64_t i) {
              return KV{static_cast<int>(i % 13), i};
            },
            GeneratorOptions{.count = kCount, .rate = 120'000})
        .parallelism(1)
        .uid(uid)
        .assignTimestamps([](const KV& v) { return v.second; })
        .uid(std::string(uid) + "-timestamps");
  };
  auto key = [](const KV& v) { return v.first; };
  return side("first")
      .join(side("second"))
      .where(key)
      .equalTo(key)
      .window(TumblingEventTimeWindows::of(Time::seconds(1)))
      .apply<KV>([](const KV& a, const KV& b, Collector<KV>& out) {
        if (a.second == b.second) out.collect(a);
      })
      .uid("join")
      .parallelism(parallelism)
      .collect();
}

}  // namespace

TEST_CASE("a window join's windows restore at another parallelism", "[window-join][snapshot]") {
  ExecutionContext first_ctx("join-snapshot");
  buildJoin(first_ctx, 2);
  auto handle = first_ctx.start();
  std::this_thread::sleep_for(std::chrono::milliseconds(80));
  auto snapshot = std::make_shared<Snapshot>(handle.triggerCheckpoint());
  handle.cancel();
  handle.wait();
  REQUIRE(snapshot->operators.count("join") == 1);
  CHECK(snapshot->operators.at("join").kind == "windowJoin");

  ExecutionContext second_ctx("join-snapshot");
  auto result = buildJoin(second_ctx, GENERATE(1, 3));
  ExecutionOptions options;
  options.restore = snapshot;
  second_ctx.execute(options);
  std::vector<KV> expected;
  for (std::uint64_t i = 0; i < kCount; ++i)
    expected.emplace_back(static_cast<int>(i % 13), static_cast<std::int64_t>(i));
  CHECK(sorted(result.values()) == sorted(expected));
}
