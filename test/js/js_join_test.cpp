// TypeScript operators over two streams: connect(...).keyBy(ka, kb).process(f) (a keyed
// co-process function), intervalJoin() and the window join, all run by JsProcessOperator over
// the two-input gate. Expected results come from plain loops over the same inputs.
#include <fmt/format.h>
#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "js_job_runner.hpp"

using namespace lightflus;
using namespace lightflus::test;

TEST_CASE("a co-process function's two sides share a key's state, timers and side outputs",
          "[js][job][connect]") {
  const int parallelism = GENERATE(1, 2);
  CAPTURE(parallelism);
  // Orders wait for their customer's name, whichever side comes first; at the end each key's
  // timer reports what both sides left in its state.
  auto out = run(R"(
    import { ExecutionContext, Generator, OutputTag, Stdout, WatermarkStrategy } from "lightflus";
    interface Order { order: number; customer: string }
    interface Customer { id: string; name: string }
    const big = new OutputTag<string>("big");
    const ctx = ExecutionContext.new("connect");
    const orders = ctx.fromSource(Generator.sequence(1, 600))
      .assignTimestamps((n: number) => 1000 * n, WatermarkStrategy.forMonotonousTimestamps())
      .map((n: number): Order => ({ order: n, customer: `c${n % 7}` }));
    const customers = ctx.fromSource(Generator.sequence(0, 6))
      .assignTimestamps((n: number) => 300000 + n, WatermarkStrategy.forMonotonousTimestamps())
      .map((n: number): Customer => ({ id: `c${n}`, name: `name${n}` }));
    const shipped = orders.connect(customers)
      .keyBy((o) => o.customer, (c) => c.id)
      .process<string>({
        processElement1(o, c, out) {
          const name = c.state.value<string>("name").value();
          if (name === undefined) c.state.list<number>("waiting").add(o.order);
          else out.collect(`shipped ${o.order} to ${name}`);
          const n = c.state.value<number>("orders");
          n.update((n.value() ?? 0) + 1);
          if (o.order % 50 === 0) c.output(big, `big ${o.order} ${c.getCurrentKey()} ${c.timestamp()}`);
        },
        processElement2(customer, c, out) {
          c.state.value<string>("name").update(customer.name);
          for (const order of c.state.list<number>("waiting").get()) out.collect(`shipped ${order} to ${customer.name}`);
          c.state.list("waiting").clear();
          c.timerService().registerEventTimeTimer(8.64e15);
        },
        onTimer(t, c, out) {
          out.collect(`total ${c.getCurrentKey()} ${c.state.value("name").value()} ` +
                      `${c.state.value("orders").value()} ${c.state.list("waiting").get().length} ${c.timeDomain()}`);
        },
      })
      .name("shipping");
    shipped.sink(Stdout.new());
    shipped.getSideOutput(big).sink(Stdout.new());
    ctx.execute();
  )",
                 "connect.ts", parallelism);
  std::vector<std::string> expected;
  std::map<int, int> orders;
  for (int n = 1; n <= 600; ++n) {
    expected.push_back(fmt::format("shipped {} to name{}", n, n % 7));
    ++orders[n % 7];
    if (n % 50 == 0) expected.push_back(fmt::format("big {} c{} {}", n, n % 7, 1000 * n));
  }
  for (const auto& [k, count] : orders)
    expected.push_back(fmt::format("total c{} name{} {} 0 event", k, k, count));
  std::sort(expected.begin(), expected.end());
  CHECK(sortedStrings(out) == expected);
}

TEST_CASE("a co-process function's event-time timers wait for both inputs' watermarks",
          "[js][job][connect]") {
  // The second input is slow (10 elements a second, times 1000 n): a timer at t fires before
  // the end only once that input's watermark passed t, so after its element at > t arrived.
  auto out = run(R"(
    const ctx = ExecutionContext.new("connect watermarks");
    const fast = ctx.fromSource(Generator.sequence(1, 600))
      .assignTimestamps((n) => 10 * n, WatermarkStrategy.forMonotonousTimestamps());
    const slow = ctx.fromSource(Generator.sequence(1, 5).ratePerSecond(10))
      .assignTimestamps((n) => 1000 * n, WatermarkStrategy.forMonotonousTimestamps());
    fast.connect(slow)
      .keyBy(() => "k", () => "k")
      .process({
        processElement1(n, c, out) { c.timerService().registerEventTimeTimer(c.timestamp()); },
        processElement2(n, c, out) { c.state.value("slow").update(c.timestamp()); },
        onTimer(t, c, out) {
          const slow = c.state.value("slow").value() ?? 0;
          out.collect(slow > t || t >= 5000 ? "in order" : `timer ${t} fired with the slow input at ${slow}`);
        },
      })
      .sink(Stdout.new());
    ctx.execute();
  )",
                 "connect_watermarks.js");
  CHECK(sortedStrings(out) == std::vector<std::string>(600, "in order"));
}

TEST_CASE("a co-process function's state and timers restore at another parallelism",
          "[js][job][connect][snapshot]") {
  const std::string source = R"(
    export default function (ctx: ExecutionContext) {
      const numbers = ctx.fromSource(Generator.sequence(1, 3000).ratePerSecond(3000)).parallelism(2);
      const odd = numbers.filter((n: number) => n % 2 === 1);
      const even = numbers.filter((n: number) => n % 2 === 0).map((n: number) => ({ even: n }));
      odd.connect(even)
        .keyBy((n: number) => `k${n % 4}`, (e: { even: number }) => `k${(e.even + 1) % 4}`)
        .process<string>({
          processElement1(n, c, out) {
            const sum = c.state.value<number>("odd");
            sum.update((sum.value() ?? 0) + n);
            c.timerService().registerEventTimeTimer(8.64e15);
          },
          processElement2(e, c, out) {
            const count = c.state.value<number>("even");
            count.update((count.value() ?? 0) + 1);
          },
          onTimer(t, c, out) {
            out.collect(`key ${c.getCurrentKey()} ${c.state.value("odd").value()} ${c.state.value("even").value()}`);
          },
        })
        .uid("both")
        .sink(Stdout.new());
    }
  )";
  auto job = JsJob::load(source, {.file_name = "connect_snapshot.ts"});
  std::map<int, std::int64_t> odd_sums, even_counts;
  for (int n = 1; n <= 3000; ++n) {
    if (n % 2 == 1)
      odd_sums[n % 4] += n;
    else
      ++even_counts[(n + 1) % 4];
  }
  std::vector<std::string> expected;
  for (int k : {1, 3})
    expected.push_back(fmt::format("key k{} {} {}", k, odd_sums[k], even_counts[k]));
  const auto [first, second] = GENERATE(std::pair{1, 2}, std::pair{2, 1});
  CAPTURE(first, second);
  std::vector<std::string> lines = runRestored(job, first, second);
  std::sort(lines.begin(), lines.end());
  CHECK(lines == expected);
}

namespace {

// Elements 1..400 at 100 n ms: even ones left, odd ones right, keyed by n % 3. Pairs join when
// lower <= t_right - t_left <= upper; the output is "l r @timestamp" (the timestamp read by a
// process function after the join).
std::string intervalJob(const std::string& options) {
  return R"(
    const ctx = ExecutionContext.new("interval join");
    const numbers = ctx.fromSource(Generator.sequence(1, 400))
      .assignTimestamps((n) => 100 * n, WatermarkStrategy.forMonotonousTimestamps());
    const left = numbers.filter((n) => n % 2 === 0).map((n) => ({ l: n })).keyBy((x) => x.l % 3);
    const right = numbers.filter((n) => n % 2 === 1).map((n) => ({ r: n })).keyBy((x) => x.r % 3);
    left.intervalJoin(right)
      .between(-300, Time.milliseconds(900))
      )" +
         options + R"(
      .process((a, b, c) => {
        if (c.timestamp() !== Math.max(c.getLeftTimestamp(), c.getRightTimestamp())) throw new Error("timestamp");
        return `${a.l} ${b.r} ${c.getCurrentKey()}`;
      })
      .keyBy((s) => s)
      .process((s, c, out) => out.collect(`${s} @${c.timestamp()}`))
      .sink(Stdout.new());
    ctx.execute();
  )";
}

std::vector<std::string> expectedPairs(int lower, int upper) {
  std::vector<std::string> expected;
  for (int l = 2; l <= 400; l += 2)
    for (int r = 1; r <= 400; r += 2) {
      const int d = 100 * (r - l);
      if (l % 3 == r % 3 && lower <= d && d <= upper)
        expected.push_back(fmt::format("{} {} {} @{}", l, r, l % 3, 100 * std::max(l, r)));
    }
  std::sort(expected.begin(), expected.end());
  return expected;
}

}  // namespace

TEST_CASE("an interval join pairs elements within its bounds, inclusive or exclusive",
          "[js][job][interval-join]") {
  const int parallelism = GENERATE(1, 2);
  CAPTURE(parallelism);
  SECTION("inclusive") {
    CHECK(sortedStrings(run(intervalJob(""), "interval.js", parallelism)) ==
          expectedPairs(-300, 900));
  }
  SECTION("lowerBoundExclusive") {
    CHECK(sortedStrings(run(intervalJob(".lowerBoundExclusive()"), "interval.js", parallelism)) ==
          expectedPairs(-299, 900));
  }
  SECTION("upperBoundExclusive") {
    CHECK(sortedStrings(run(intervalJob(".upperBoundExclusive()"), "interval.js", parallelism)) ==
          expectedPairs(-300, 899));
  }
}

TEST_CASE("an interval join drops late elements or sends them to the late-data side outputs",
          "[js][job][interval-join]") {
  // 150 and 151 come with the time 1000 ms when the watermark is near 149 s: late.
  const bool side_outputs = GENERATE(false, true);
  CAPTURE(side_outputs);
  auto out =
      run(std::string(R"(
    const ctx = ExecutionContext.new("late join");
    const lateLeft = new OutputTag("late left");
    const lateRight = new OutputTag("late right");
    const numbers = ctx.fromSource(Generator.sequence(1, 200).ratePerSecond(500))
      .assignTimestamps((n) => (n === 150 || n === 151 ? 1000 : 1000 * n),
                        WatermarkStrategy.forMonotonousTimestamps());
    const left = numbers.filter((n) => n % 2 === 0).keyBy(() => "k");
    const right = numbers.filter((n) => n % 2 === 1).keyBy(() => "k");
    let joined = left.intervalJoin(right).between(-1000, 1000);
    )") +
              (side_outputs
                   ? "joined = "
                     "joined.sideOutputLeftLateData(lateLeft).sideOutputRightLateData(lateRight);"
                   : "") +
              R"(
    const pairs = joined.process((a, b) => `${a} ${b}`);
    pairs.sink(Stdout.new());
    pairs.getSideOutput(lateLeft).map((n) => `late left ${n}`).sink(Stdout.new());
    pairs.getSideOutput(lateRight).map((n) => `late right ${n}`).sink(Stdout.new());
    ctx.execute();
  )",
          "late_join.js");
  std::vector<std::string> expected;
  for (int l = 2; l <= 200; l += 2)
    for (int r : {l - 1, l + 1})
      if (r >= 1 && r <= 200 && l != 150 && r != 151)
        expected.push_back(fmt::format("{} {}", l, r));
  if (side_outputs) {
    expected.push_back("late left 150");
    expected.push_back("late right 151");
  }
  std::sort(expected.begin(), expected.end());
  CHECK(sortedStrings(out) == expected);
}

TEST_CASE("an interval join's buffers restore at another parallelism",
          "[js][job][interval-join][snapshot]") {
  // The pairs are counted after the join (its count restored too) and reported at the end.
  const std::string source = R"(
    export default function (ctx: ExecutionContext) {
      // The source and its timestamps keep parallelism 2 (a generator does not rescale).
      const numbers = ctx.fromSource(Generator.sequence(1, 3000).ratePerSecond(3000)).parallelism(2)
        .assignTimestamps((n: number) => 10 * n, WatermarkStrategy.forMonotonousTimestamps())
        .parallelism(2);
      const left = numbers.filter((n: number) => n % 2 === 0).keyBy((n: number) => n % 5);
      const right = numbers.filter((n: number) => n % 2 === 1).keyBy((n: number) => n % 5);
      left.intervalJoin(right)
        .between(-100, 100)
        .process((a: number, b: number) => a + b)
        .uid("join")
        .keyBy(() => "all")
        .process({
          processElement(sum: number, c, out) {
            const s = c.state.value<number>("s");
            s.update((s.value() ?? 0) + sum);
            c.timerService().registerEventTimeTimer(8.64e15);
          },
          onTimer(t, c, out) { out.collect(`total ${c.state.value("s").value()}`); },
        })
        .uid("total")
        .sink(Stdout.new());
    }
  )";
  auto job = JsJob::load(source, {.file_name = "interval_snapshot.ts"});
  std::int64_t total = 0;
  for (int l = 2; l <= 3000; l += 2)
    for (int r = 1; r <= 3000; r += 2)
      if (l % 5 == r % 5 && std::abs(10 * (r - l)) <= 100) total += l + r;
  const auto [first, second] = GENERATE(std::pair{1, 2}, std::pair{2, 1});
  CAPTURE(first, second);
  CHECK(runRestored(job, first, second) ==
        std::vector<std::string>{fmt::format("total {}", total)});
}

namespace {

// Elements 1..300 at 100 n ms: even ones first, odd ones second, keyed by n / 5 % 2.
std::string windowJoinJob(const std::string& window) {
  return R"(
    const ctx = ExecutionContext.new("window join");
    const numbers = ctx.fromSource(Generator.sequence(1, 300))
      .assignTimestamps((n) => 100 * n, WatermarkStrategy.forMonotonousTimestamps());
    const evens = numbers.filter((n) => n % 2 === 0);
    const odds = numbers.filter((n) => n % 2 === 1).map((n) => ({ odd: n }));
    evens.join(odds)
      .where((n) => Math.floor(n / 5) % 2)
      .equalTo((o) => Math.floor(o.odd / 5) % 2)
      .window()" +
         window + R"()
      .apply((e, o) => `${e} ${o.odd}`)
      .keyBy((s) => s)
      .process((s, c, out) => out.collect(`${s} @${c.timestamp()}`))
      .sink(Stdout.new());
    ctx.execute();
  )";
}

// The pairs of each window [start, start + size) for starts every `slide`.
std::vector<std::string> expectedWindowPairs(int size, int slide) {
  std::vector<std::string> expected;
  for (int start = -size; start <= 30100; start += slide)
    for (int e = 2; e <= 300; e += 2)
      for (int o = 1; o <= 300; o += 2) {
        const bool in = 100 * e >= start && 100 * e < start + size && 100 * o >= start &&
                        100 * o < start + size;
        if (in && (e / 5) % 2 == (o / 5) % 2)
          expected.push_back(fmt::format("{} {} @{}", e, o, start + size - 1));
      }
  std::sort(expected.begin(), expected.end());
  return expected;
}

}  // namespace

TEST_CASE("a window join emits the pairs of each window at its max timestamp",
          "[js][job][window-join]") {
  const int parallelism = GENERATE(1, 2);
  CAPTURE(parallelism);
  SECTION("tumbling") {
    CHECK(sortedStrings(run(windowJoinJob("TumblingWindow.of(Time.seconds(1))"), "join.js",
                            parallelism)) == expectedWindowPairs(1000, 1000));
  }
  SECTION("sliding: a pair once per window it shares") {
    CHECK(sortedStrings(run(windowJoinJob("SlidingWindow.of(Time.seconds(2), Time.seconds(1))"),
                            "join.js", parallelism)) == expectedWindowPairs(2000, 1000));
  }
}

TEST_CASE("a window join over session windows merges both sides' elements of a key",
          "[js][job][window-join]") {
  const int parallelism = GENERATE(1, 2);
  CAPTURE(parallelism);
  // Elements 1..300 at 100 n ms plus 5 s after every 20th: with a gap of 700 ms each key's
  // elements of a run of 20 form one session, across both sides.
  auto out = run(R"(
    const ctx = ExecutionContext.new("session join");
    const numbers = ctx.fromSource(Generator.sequence(1, 300))
      .assignTimestamps((n) => 100 * n + 5000 * Math.floor(n / 20),
                        WatermarkStrategy.forMonotonousTimestamps());
    const evens = numbers.filter((n) => n % 2 === 0);
    const odds = numbers.filter((n) => n % 2 === 1);
    evens.join(odds)
      .where((n) => Math.floor(n / 5) % 2)
      .equalTo((n) => Math.floor(n / 5) % 2)
      .window(SessionWindow.withGap(Time.milliseconds(700)))
      .apply((e, o) => `${e} ${o}`)
      .keyBy((s) => s)
      .process((s, c, out) => out.collect(`${s} @${c.timestamp()}`))
      .sink(Stdout.new());
    ctx.execute();
  )",
                 "session_join.js", parallelism);
  // Sessions per key by a plain loop: sorted times, a new session when the next time is
  // past the current session's end (windows [t, t + gap) that touch merge, as in Flink).
  const int gap = 700;
  auto time = [](int n) { return 100 * n + 5000 * (n / 20); };
  std::vector<std::string> expected;
  for (int key = 0; key < 2; ++key) {
    std::vector<int> ns;
    for (int n = 1; n <= 300; ++n)
      if ((n / 5) % 2 == key) ns.push_back(n);
    std::vector<std::vector<int>> sessions;
    int end = 0;
    for (int n : ns) {
      if (sessions.empty() || time(n) > end) sessions.emplace_back();
      sessions.back().push_back(n);
      end = std::max(end, time(n) + gap);
    }
    for (const auto& session : sessions) {
      int last = 0;
      for (int n : session) last = std::max(last, time(n) + gap - 1);
      for (int e : session)
        for (int o : session)
          if (e % 2 == 0 && o % 2 == 1) expected.push_back(fmt::format("{} {} @{}", e, o, last));
    }
  }
  std::sort(expected.begin(), expected.end());
  REQUIRE(expected.size() > 100);
  CHECK(sortedStrings(out) == expected);
}

TEST_CASE("a failing join or co-process function names its operator and line",
          "[js][job][connect][errors]") {
  try {
    run(R"(const ctx = ExecutionContext.new("bad join");
const numbers = ctx.fromSource(Generator.sequence(1, 10));
numbers.connect(numbers.map((n) => -n))
  .keyBy((n) => n, (n) => -n)
  .process({
    processElement1(n, c, out) {},
    processElement2(n, c, out) { if (n === -5) throw new Error("no " + n); },
  })
  .name("both")
  .sink(Stdout.new());
ctx.execute();
)",
        "bad_connect.js");
    FAIL("no error");
  } catch (const JobFailedError& e) {
    CHECK_THAT(e.what(), Catch::Contains("operator 'both'") && Catch::Contains("Error: no -5") &&
                             Catch::Contains("bad_connect.js:7:"));
  }
}
