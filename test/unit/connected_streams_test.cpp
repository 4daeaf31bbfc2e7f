// Tests of connected streams (connected_streams.hpp): a keyed co-process function over two
// inputs of different types, as Flink's KeyedCoProcessFunction: keyed state shared by both
// sides, event-time timers on the minimum of both watermarks, processing-time timers, side
// outputs, and snapshots restored at another parallelism. Expected results are computed by
// hand or by plain loops.
#include "lightflus/connected_streams.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
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

namespace {

struct Order {
  std::string customer;
  int amount = 0;
};
struct Customer {
  std::string id;
  std::string name;
};
/// An order with its customer's name.
using Shipped = std::tuple<std::string, std::string, int>;

const auto kOrderKey = [](const Order& o) { return o.customer; };
const auto kCustomerKey = [](const Customer& c) { return c.id; };

/// Holds orders until their customer is known; both sides read and write the key's state.
struct Enrich {
  using Ctx = KeyedContext<std::string, Shipped>;
  void processElement1(const Order& o, Ctx& ctx) {
    if (const auto* name = ctx.valueState<std::string>("name").get())
      ctx.collect(Shipped{o.customer, *name, o.amount});
    else
      ctx.listState<Order>("waiting").add(o);
  }
  void processElement2(const Customer& c, Ctx& ctx) {
    ctx.valueState<std::string>("name").update(c.name);
    auto waiting = ctx.listState<Order>("waiting");
    for (const auto& o : waiting.get()) ctx.collect(Shipped{o.customer, c.name, o.amount});
    waiting.clear();
  }
};

std::vector<Order> orders() {
  std::vector<Order> all;
  for (int i = 0; i < 300; ++i) all.push_back(Order{"c" + std::to_string(i % 7), i});
  return all;
}
std::vector<Customer> customers() {
  std::vector<Customer> all;
  for (int i = 0; i < 7; ++i)
    all.push_back(Customer{"c" + std::to_string(i), "name" + std::to_string(i)});
  return all;
}

}  // namespace

TEST_CASE("a keyed co-process function sees both inputs' elements of a key with shared state",
          "[connect]") {
  const int parallelism = GENERATE(1, 3);
  ExecutionContext ctx("enrich");
  ctx.parallelism(parallelism);
  auto result = ctx.fromCollection(orders())
                    .connect(ctx.fromCollection(customers()))
                    .keyBy(kOrderKey, kCustomerKey)
                    .process<Shipped>(Enrich{})
                    .collect();
  ctx.execute();

  std::vector<Shipped> expected;
  for (int i = 0; i < 300; ++i)
    expected.emplace_back("c" + std::to_string(i % 7), "name" + std::to_string(i % 7), i);
  CHECK(sorted(result.values()) == sorted(expected));
}

TEST_CASE("connect() takes two streams of the same type too, and a plain keyed context",
          "[connect]") {
  ExecutionContext ctx("same-type");
  ctx.parallelism(2);
  struct Tag {
    void processElement1(const int& v, KeyedContext<int, std::pair<int, int>>& ctx) {
      ctx.collect({1, v});
    }
    void processElement2(const int& v, KeyedContext<int, std::pair<int, int>>& ctx) {
      ctx.collect({2, v});
    }
  };
  auto identity = [](const int& v) { return v; };
  auto result = ctx.fromCollection(std::vector<int>{1, 2, 3})
                    .connect(ctx.fromCollection(std::vector<int>{4, 5}))
                    .keyBy(identity, identity)
                    .process<std::pair<int, int>>(Tag{})
                    .collect();
  ctx.execute();
  CHECK(sorted(result.values()) ==
        std::vector<std::pair<int, int>>{{1, 1}, {1, 2}, {1, 3}, {2, 4}, {2, 5}});
}

namespace {

/// Registers an event-time timer 5 s after each order; emits (key, timer time, watermark).
struct Reminder {
  using Out = std::tuple<std::string, Timestamp, Timestamp>;
  using Ctx = KeyedContext<std::string, Out>;
  lightflus::test::Flag seen_both;
  void processElement1(const Order&, Ctx& ctx) {
    ctx.registerEventTimeTimer(ctx.timestamp() + 5000);
    seen(ctx, "order");
  }
  void processElement2(const Customer&, Ctx& ctx) { seen(ctx, "customer"); }
  void onTimer(Timestamp t, Ctx& ctx) { ctx.collect(Out{ctx.key(), t, ctx.currentWatermark()}); }
  void seen(Ctx& ctx, const std::string& side) {
    auto sides = ctx.mapState<std::string, bool>("seen");
    sides.put(side, true);
    if (sides.entries().size() == 2) seen_both->store(true);
  }
};

}  // namespace

TEST_CASE("event-time timers of a co-process function fire when both inputs' watermarks pass",
          "[connect][event-time]") {
  using lightflus::test::Step;
  auto seen_both = lightflus::test::makeFlag();
  auto customers_done = lightflus::test::makeFlag();
  ExecutionContext ctx("reminder");
  // The orders' watermark races ahead; the customers' holds the operator's watermark back.
  auto order_stream = lightflus::test::steps<Order>(ctx,
                                                    {Step<Order>{{{Order{"c1", 1}, 1000}}, 100'000},
                                                     Step<Order>{{}, std::nullopt, customers_done}},
                                                    "orders");
  auto customer_stream =
      lightflus::test::steps<Customer>(ctx,
                                       {Step<Customer>{{{Customer{"c1", "ann"}, 1200}}, 2000},
                                        Step<Customer>{{}, 7000, seen_both, customers_done}},
                                       "customers");
  auto result = order_stream.connect(customer_stream)
                    .keyBy(kOrderKey, kCustomerKey)
                    .process<Reminder::Out>(Reminder{seen_both})
                    .collect();
  ctx.execute();
  // The timer at 6000 fired at watermark 7000, the customers' watermark, not the orders'.
  CHECK(result.values() == std::vector<Reminder::Out>{{"c1", 6000, 7000}});
}

TEST_CASE("a co-process function sends to side outputs and sets processing-time timers",
          "[connect]") {
  using lightflus::test::Step;
  static const OutputTag<Order> kRejected("rejected");
  auto fired = lightflus::test::makeFlag();
  struct Check {
    using Ctx = KeyedContext<std::string, std::string>;
    lightflus::test::Flag fired;
    void processElement1(const Order& o, Ctx& ctx) {
      if (o.amount < 0)
        ctx.output(kRejected, o);
      else
        ctx.collect("order " + std::to_string(o.amount));
    }
    void processElement2(const Customer& c, Ctx& ctx) {
      ctx.registerProcessingTimeTimer(ctx.currentProcessingTime() + 5);
      ctx.collect("customer " + c.name);
    }
    void onTimer(Timestamp, Ctx& ctx) {
      ctx.collect("timer " + ctx.key());
      fired->store(true);
    }
  };
  ExecutionContext ctx("side-outputs");
  ctx.parallelism(2);
  auto order_stream = lightflus::test::steps<Order>(
      ctx, {Step<Order>{{{Order{"a", 5}, 1}, {Order{"a", -1}, 2}, {Order{"b", -2}, 3}}}}, "orders");
  // The source stays open until the processing-time timer has fired.
  auto customer_stream = lightflus::test::steps<Customer>(
      ctx, {Step<Customer>{{{Customer{"b", "bob"}, 1}}}, Step<Customer>{{}, std::nullopt, fired}},
      "customers");
  auto processed = order_stream.connect(customer_stream)
                       .keyBy(kOrderKey, kCustomerKey)
                       .process<std::string>(Check{fired});
  auto main = processed.collect();
  auto rejected = processed.getSideOutput(kRejected)
                      .map([](const Order& o) { return std::pair(o.customer, o.amount); })
                      .collect();
  ctx.execute();
  CHECK(sorted(main.values()) == std::vector<std::string>{"customer bob", "order 5", "timer b"});
  CHECK(sorted(rejected.values()) ==
        std::vector<std::pair<std::string, int>>{{"a", -1}, {"b", -2}});
  CHECK_THROWS_AS(processed.getSideOutput(OutputTag<int>("rejected")), ConfigError);
}

namespace {

constexpr std::uint64_t kCount = 40'000;
using KV = std::pair<int, std::int64_t>;
using Totals = std::tuple<int, std::int64_t, std::int64_t>;

/// Sums each side per key; the sums are emitted by a timer registered on a key's first
/// element and fired at the end of the input (so the timer must survive a restore).
struct SumBoth {
  using Ctx = KeyedContext<int, Totals>;
  void processElement1(const KV& v, Ctx& ctx) { add(ctx, v.second, 0); }
  void processElement2(const std::int64_t& v, Ctx& ctx) { add(ctx, 0, v); }
  void onTimer(Timestamp, Ctx& ctx) {
    auto sums = ctx.valueState<std::pair<std::int64_t, std::int64_t>>("sums").value();
    ctx.collect(Totals{ctx.key(), sums.first, sums.second});
  }
  void add(Ctx& ctx, std::int64_t a, std::int64_t b) {
    auto state = ctx.valueState<std::pair<std::int64_t, std::int64_t>>("sums");
    if (state.get() == nullptr) ctx.registerEventTimeTimer(1'000'000);
    auto sums = state.value();
    state.update({sums.first + a, sums.second + b});
  }
};

CollectResult<Totals> buildSums(ExecutionContext& ctx, int parallelism) {
  auto first = ctx.generate(
                      [](std::uint64_t i) {
                        return KV{static_cast<int>(i % 13), i};
                      },
                      GeneratorOptions{.count = kCount, .rate = 150'000})
                   .uid("first");
  auto second = ctx.generate([](std::uint64_t i) { return static_cast<std::int64_t>(i); },
                             GeneratorOptions{.count = kCount, .rate = 150'000})
                    .uid("second");
  return first.connect(second)
      .keyBy([](const KV& v) { return v.first; },
             [](const std::int64_t& v) { return static_cast<int>(v % 13); })
      .process<Totals>(SumBoth{})
      .uid("sums")
      .parallelism(parallelism)
      .collect();
}

std::vector<Totals> expectedSums() {
  std::map<int, std::pair<std::int64_t, std::int64_t>> sums;
  for (std::uint64_t i = 0; i < kCount; ++i) {
    sums[static_cast<int>(i % 13)].first += static_cast<std::int64_t>(i);
    sums[static_cast<int>(i % 13)].second += static_cast<std::int64_t>(i);
  }
  std::vector<Totals> out;
  for (const auto& [k, s] : sums) out.emplace_back(k, s.first, s.second);
  return out;
}

}  // namespace

TEST_CASE("a co-process operator's state and timers restore at another parallelism",
          "[connect][snapshot]") {
  ExecutionContext first_ctx("co-snapshot");
  first_ctx.parallelism(2);
  auto first = buildSums(first_ctx, 2);
  auto handle = first_ctx.start();
  std::this_thread::sleep_for(std::chrono::milliseconds(80));
  auto snapshot = std::make_shared<Snapshot>(handle.triggerCheckpoint());
  handle.cancel();
  handle.wait();
  CHECK(first.size() == 0);  // the timers had not fired
  REQUIRE(snapshot->operators.count("sums") == 1);
  CHECK(snapshot->operators.at("sums").kind == "coProcess");

  const int parallelism = GENERATE(1, 3);
  ExecutionContext second_ctx("co-snapshot");
  second_ctx.parallelism(2);
  auto second = buildSums(second_ctx, parallelism);
  ExecutionOptions options;
  options.restore = snapshot;
  second_ctx.execute(options);
  CHECK(sorted(second.values()) == expectedSums());
}
