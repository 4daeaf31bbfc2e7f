// TypeScript jobs on the engine: JsJob loads and evaluates a job, JsGraphBuilder turns its
// graph into engine operators, and the JS operators call its functions per batch. Expected
// results come from plain loops or from the same pipeline written with the C++ API.
#include <fmt/format.h>
#include <catch2/catch.hpp>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "js_graph_builder.hpp"
#include "js_job.hpp"
#include "js_job_runner.hpp"
#include "lightflus/connectors/file.hpp"
#include "lightflus/lightflus.hpp"
#include "test_helpers.hpp"

using namespace lightflus;
using namespace lightflus::js;
using namespace lightflus::test;

namespace {

// Words as the word count splits them: runs of ASCII letters and digits, lower-cased.
std::map<std::string, std::int64_t> countWords(const std::string& text) {
  std::map<std::string, std::int64_t> counts;
  std::string word;
  for (char c : text + "\n") {
    if (std::isalnum(static_cast<unsigned char>(c))) {
      word.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    } else if (!word.empty()) {
      ++counts[word];
      word.clear();
    }
  }
  return counts;
}

}  // namespace

TEST_CASE("the TypeScript word count gives exact counts at parallelism 1 and 2", "[js][job]") {
  std::string input = sourcePath("examples/data/sample.txt");
  auto expected = countWords(readFile(input));
  REQUIRE(expected.size() > 100);
  for (int parallelism : {1, 2}) {
    JsJobOptions options;
    options.params["input"] = input;
    auto updates =
        run(readFile(sourcePath("examples/ts/wordCount.ts")), "wordCount.ts", parallelism, options);
    // The reduce is rolling: one "word count" line per word occurrence; the largest is the total.
    std::map<std::string, std::int64_t> counts;
    std::size_t lines = 0;
    for (const auto& line : updates) {
      std::istringstream fields{std::string(line.asString())};
      std::string word;
      std::int64_t count = 0;
      fields >> word >> count;
      counts[word] = std::max(counts[word], count);
      ++lines;
    }
    std::int64_t words = 0;
    for (const auto& [w, n] : expected) words += n;
    CHECK(lines == static_cast<std::size_t>(words));
    CHECK(counts == expected);
  }
}

TEST_CASE("a fused map, flatMap and filter chain gives each output in order", "[js][job]") {
  auto out = run(R"(
    import { ExecutionContext, Generator, Stdout } from "lightflus";
    const ctx = ExecutionContext.new("chain");
    ctx.fromSource(Generator.values(["a bb", "ccc", "", "dddd e"]))
      .map((s: string) => s.toUpperCase())
      .flatMap((s: string) => s.split(" "))
      .filter((w: string) => w.length > 1)
      .map((w: string) => ({ word: w, length: w.length }))
      .sink(Stdout.new());
    ctx.execute();
  )",
                 "chain.ts");
  // By hand: "A BB" -> BB; "CCC" -> CCC; "" -> [""] dropped; "DDDD E" -> DDDD.
  REQUIRE(out.size() == 3);
  CHECK(out[0].toJson() == R"({"word":"BB","length":2})");
  CHECK(out[1].toJson() == R"({"word":"CCC","length":3})");
  CHECK(out[2].toJson() == R"({"word":"DDDD","length":4})");
}

TEST_CASE("keyed map and filter keep the key for a rolling reduce and aggregate", "[js][job]") {
  auto out = run(R"(
    import { ExecutionContext, Generator, Stdout } from "lightflus";
    const ctx = ExecutionContext.new("keyed");
    const keyed = ctx.fromSource(Generator.sequence(1, 100))
      .keyBy((n: number) => n % 3)
      .map((n: number) => n * 10)
      .filter((n: number) => n !== 50);
    keyed.reduce((a: number, b: number) => a + b).map((n: number) => `sum ${n}`).sink(Stdout.new());
    keyed.aggregate({
      createAccumulator: () => ({ n: 0 }),
      add: (v: number, acc: { n: number }) => { acc.n += 1; return acc; },
      getResult: (acc: { n: number }) => acc.n,
    }).map((n: number) => `count ${n}`).sink(Stdout.new());
    ctx.execute();
  )",
                 "keyed.ts", 2);
  // By a loop: the final sum and count per key n % 3 (element 5 filtered out).
  std::map<int, std::int64_t> sums, counts;
  for (int n = 1; n <= 100; ++n)
    if (n != 5) {
      sums[n % 3] += n * 10;
      ++counts[n % 3];
    }
  std::int64_t max_count = 0;
  std::vector<std::int64_t> final_sums;
  std::size_t updates = 0;
  for (const auto& v : out) {
    std::string line(v.asString());
    if (line.starts_with("count ")) {
      max_count = std::max<std::int64_t>(max_count, std::stoll(line.substr(6)));
      ++updates;
    }
  }
  CHECK(updates == 99);
  CHECK(max_count == std::max({counts[0], counts[1], counts[2]}));
  for (const auto& [key, sum] : sums) {
    auto line = Value(fmt::format("sum {}", sum));
    CHECK(std::count(out.begin(), out.end(), line) == 1);
  }
}

// A rolling reduce keeps its state in V8 and runs the chain after it in the same call (and, at
// parallelism 1, the chain and keyBy before it): JsRollingOperator, JsChainRollingOperator.
TEST_CASE("a rolling reduce with state in V8 emits each update, whatever the chains around it",
          "[js][job]") {
  // Word i of the stream: one of four words, three of them not ASCII (packed as UTF-16).
  const std::vector<std::string> words = {"alpha",
                                          "\xC3\xBCnic\xC3\xB6"
                                          "de",
                                          "\xF0\x9F\x98\x80", "b"};
  const int n = 2000;
  std::map<std::string, int> totals;
  for (int i = 1; i <= n; ++i) {
    ++totals[words[static_cast<std::size_t>(i % 4)]];
    ++totals[words[static_cast<std::size_t>((i * 7 / 3) % 4)]];
  }
  const std::string prelude = R"(
    import { ExecutionContext, Generator, Stdout } from "lightflus";
    const words = ["alpha", "ünicöde", "😀", "b"];
    const ctx = ExecutionContext.new("rolling");
    const counts = ctx.fromSource(Generator.sequence(1, 2000))
      .flatMap((i: number) => [words[i % 4], words[Math.floor(i * 7 / 3) % 4]])
      .map((w: string) => ({ w, n: 1 }))
      .keyBy((o: { w: string }) => o.w)
      // Mutates and returns its accumulator, as original jobs do.
      .reduce((a: { w: string; n: number }, b: { n: number }) => { a.n += b.n; return a; });
  )";
  const int parallelism = GENERATE(1, 2);
  CAPTURE(parallelism);
  SECTION("strings after the reduce") {
    auto out = run(prelude + R"(
      counts.map((o: { w: string; n: number }) => `${o.w} ${o.n}`).sink(Stdout.new());
      ctx.execute();
    )",
                   "strings.ts", parallelism);
    std::vector<std::string> expected;
    for (const auto& [w, total] : totals)
      for (int k = 1; k <= total; ++k) expected.push_back(fmt::format("{} {}", w, k));
    std::sort(expected.begin(), expected.end());
    CHECK(sortedStrings(out) == expected);
  }
  SECTION("objects and strings mixed, each as it was when emitted") {
    auto out = run(prelude + R"(
      counts.filter((o: { n: number }) => o.n % 3 !== 0)
        .map((o: { w: string; n: number }) => (o.n % 2 === 0 ? o : `${o.w}!`))
        .sink(Stdout.new());
      ctx.execute();
    )",
                   "mixed.ts", parallelism);
    std::vector<std::string> expected;
    for (const auto& [w, total] : totals)
      for (int k = 1; k <= total; ++k) {
        if (k % 3 == 0) continue;
        Value o = Value::object();
        o["w"] = w;
        o["n"] = k;
        expected.push_back(k % 2 == 0 ? o.toJson() : w + "!");
      }
    std::sort(expected.begin(), expected.end());
    CHECK(sortedStrings(out) == expected);
  }
  SECTION("a keyed reader after the chain still sees the keys") {
    auto out = run(prelude + R"(
      counts.map((o: { n: number }) => o.n)
        .aggregate({
          createAccumulator: () => 0,
          add: (_n: number, acc: number) => acc + 1,
          getResult: (acc: number) => acc,
        })
        .map((updates: number) => updates)
        .sink(Stdout.new());
      ctx.execute();
    )",
                   "keyed.ts", parallelism);
    // Per word, the aggregate counts its updates: 1..total, keyed by the word as before.
    std::vector<std::string> expected;
    for (const auto& [w, total] : totals)
      for (int k = 1; k <= total; ++k) expected.push_back(std::to_string(k));
    std::sort(expected.begin(), expected.end());
    CHECK(sortedStrings(out) == expected);
  }
}

TEST_CASE("UDFs that throw around a rolling reduce in V8 send their records to the dead letters",
          "[js][job][errors]") {
  // At parallelism 2 the values cross the keyBy exchange as JSON texts, also on the
  // step-by-step path the chain takes when a UDF throws.
  const int parallelism = GENERATE(1, 2);
  CAPTURE(parallelism);
  DeadLetters dead;
  JsJobOptions options = dead.options();
  const std::vector<std::string>& letters = dead.lines;
  auto out = run(R"(
    const ctx = ExecutionContext.new("bad");
    ctx.fromSource(Generator.sequence(1, 20))
      .map((n) => { if (n === 3) throw new Error("no map for 3"); return n; })
      .keyBy((n) => n % 2)
      .reduce((a, b) => { if (b === 7) throw new Error("cannot add 7"); return a + b; })
      .map((sum) => { if (sum === 26) throw new Error("no 26"); return "sum " + sum; })
      .sink(Stdout.new());
    ctx.execute();
  )",
                 "bad.js", parallelism, options);
  // By hand: odd numbers without 3 and 7 give the running sums 1 6 15 26 39 54 71 90 (the map
  // after the reduce throws for 26), even ones 2 6 12 ... 110.
  std::vector<std::string> expected;
  std::int64_t odd = 0, even = 0;
  std::size_t failed = 2;  // 3 (map) and 7 (reduce)
  for (int v = 1; v <= 20; ++v) {
    if (v == 3 || v == 7) continue;
    std::int64_t& sum = v % 2 ? odd : even;
    sum += v;
    if (sum == 26) {
      ++failed;
      continue;
    }
    expected.push_back(fmt::format("sum {}", sum));
  }
  std::sort(expected.begin(), expected.end());
  CHECK(sortedStrings(out) == expected);
  CHECK(letters.size() == failed);
  // The record a dead letter names is the element, not its JSON text.
  CHECK(std::count_if(letters.begin(), letters.end(), [](const std::string& l) {
          return l.find("cannot add 7") != std::string::npos &&
                 l.find("\"7\"") == std::string::npos;
        }) == 1);
}

namespace {

// Click i: user i % 5 at 1.7e12 + i * 50 ms, minus a delay of up to 2 s (out of order); the same
// formula as in the TypeScript jobs below.
constexpr std::int64_t kStart = 1'700'000'000'000;
Value click(std::int64_t i) {
  Value c = Value::object();
  c["user"] = fmt::format("user{}", i % 5);
  c["time"] = kStart + i * 50 - (i * 7919) % 2001;
  return c;
}
// Bursts of 20 clicks 100 ms apart every 5 s, for session windows.
Value burstClick(std::int64_t i) {
  Value c = Value::object();
  c["user"] = fmt::format("user{}", i % 3);
  c["time"] = kStart + (i / 20) * 5000 + (i % 20) * 100;
  return c;
}

// count, min and max of the window's click times (merges for sessions).
struct Stats {
  struct Acc {
    std::int64_t count = 0, min = 0, max = 0;
  };
  Acc createAccumulator() const { return {}; }
  void add(Acc& a, const Value& c) const {
    std::int64_t t = c["time"].asInt();
    a.min = a.count == 0 ? t : std::min(a.min, t);
    a.max = a.count == 0 ? t : std::max(a.max, t);
    ++a.count;
  }
  Acc getResult(const Acc& a) const { return a; }
  void merge(Acc& a, const Acc& b) const {
    if (b.count == 0) return;
    a.min = a.count == 0 ? b.min : std::min(a.min, b.min);
    a.max = a.count == 0 ? b.max : std::max(a.max, b.max);
    a.count += b.count;
  }
};

// The same windows with the C++ API: "user count min max" per window.
template <class Assigner>
std::vector<std::string> referenceWindows(Value (*make)(std::int64_t), std::int64_t events,
                                          Assigner assigner) {
  std::vector<Value> clicks;
  for (std::int64_t i = 0; i < events; ++i) clicks.push_back(make(i));
  ExecutionContext ctx("reference");
  auto result = ctx.fromCollection(clicks)
                    .assignTimestamps([](const Value& c) { return c["time"].asInt(); },
                                      WatermarkStrategy::boundedOutOfOrderness(Time::seconds(2)))
                    .keyBy([](const Value& c) { return std::string(c["user"].asString()); })
                    .window(assigner)
                    .aggregate(Stats{},
                               [](const std::string& user, const TimeWindow&, Stats::Acc a) {
                                 return fmt::format("{} {} {} {}", user, a.count, a.min, a.max);
                               })
                    .collect();
  ctx.execute();
  auto lines = result.values();
  std::sort(lines.begin(), lines.end());
  return lines;
}

// The TypeScript job's clicks and windows, `window` and `fold` filled in.
std::string windowJob(const std::string& clicks, const std::string& window, const std::string& pre,
                      const std::string& fold) {
  return fmt::format(R"(
    import {{ ExecutionContext, Generator, Stdout, Time, TumblingWindow, SlidingWindow,
             SessionWindow, WatermarkStrategy }} from "lightflus";
    interface Click {{ user: string; time: number; }}
    interface Stats {{ user: string; count: number; min: number; max: number; }}
    const START = 1_700_000_000_000;
    const stats = (c: Click): Stats => ({{ user: c.user, count: 1, min: c.time, max: c.time }});
    const both = (a: Stats, b: Stats): Stats => ({{ user: a.user, count: a.count + b.count,
      min: Math.min(a.min, b.min), max: Math.max(a.max, b.max) }});
    const line = (s: Stats) => `${{s.user}} ${{s.count}} ${{s.min}} ${{s.max}}`;
    export default function (ctx: ExecutionContext) {{
      ctx.fromSource(Generator.sequence(0, ctx.param("events", 0) - 1))
        .map((i: number): Click => ({clicks}))
        .assignTimestamps((c: Click) => c.time, WatermarkStrategy.boundedOutOfOrderness(Time.seconds(2)))
        {pre}
        .keyBy((c: Click) => c.user)
        .window({window})
        {fold}
        .sink(Stdout.new());
    }}
  )",
                     fmt::arg("clicks", clicks), fmt::arg("window", window), fmt::arg("pre", pre),
                     fmt::arg("fold", fold));
}

constexpr const char* kClicks =
    "{ user: `user${i % 5}`, time: START + i * 50 - ((i * 7919) % 2001) }";
constexpr const char* kBursts =
    "{ user: `user${i % 3}`, time: START + Math.floor(i / 20) * 5000 + (i % 20) * 100 }";
// A reduce over Stats (made before keyBy), and the same as an aggregate whose accumulator is
// mutated.
constexpr const char* kToStats = ".map(stats)";
constexpr const char* kReduce = ".reduce(both).map(line)";
constexpr const char* kAggregate = R"(.aggregate({
          createAccumulator: () => ({ user: "", count: 0, min: 0, max: 0 }),
          add: (c: Click, a: Stats) => { const s = a.count === 0 ? stats(c) : both(a, stats(c));
                                         Object.assign(a, s); return a; },
          getResult: line,
          merge: (a: Stats, b: Stats) => a.count === 0 ? b : b.count === 0 ? a : both(a, b),
        }))";

}  // namespace

TEST_CASE("windows from TypeScript match the C++ engine on the same input", "[js][job][window]") {
  const std::int64_t events = 3000;
  JsJobOptions options;
  options.params["events"] = std::to_string(events);
  for (int parallelism : {1, 2}) {
    SECTION("tumbling reduce, p" + std::to_string(parallelism)) {
      auto ts = sortedStrings(
          run(windowJob(kClicks, "TumblingWindow.of(Time.seconds(10))", kToStats, kReduce),
              "tumbling.ts", parallelism, options));
      CHECK(ts == referenceWindows(click, events, TumblingEventTimeWindows::of(Time::seconds(10))));
    }
    SECTION("sliding aggregate, p" + std::to_string(parallelism)) {
      auto ts = sortedStrings(run(
          windowJob(kClicks, "SlidingWindow.of(Time.seconds(10), Time.seconds(5))", "", kAggregate),
          "sliding.ts", parallelism, options));
      CHECK(ts ==
            referenceWindows(click, events,
                             SlidingEventTimeWindows::of(Time::seconds(10), Time::seconds(5))));
    }
    SECTION("session aggregate with merge, p" + std::to_string(parallelism)) {
      auto ts = sortedStrings(
          run(windowJob(kBursts, "SessionWindow.withGap(Time.seconds(1))", "", kAggregate),
              "session.ts", parallelism, options));
      auto expected =
          referenceWindows(burstClick, events, EventTimeSessionWindows::withGap(Time::seconds(1)));
      CHECK(expected.size() ==
            static_cast<std::size_t>(events / 20 * 3));  // a session per burst and user
      CHECK(ts == expected);
    }
  }
}

TEST_CASE(
    "a TypeScript window drops elements between sliding windows unless they are late by their "
    "time",
    "[js][job][window]") {
  // Size 2 s, slide 5 s: windows [0,2000), [5000,7000), [10000,12000). Monotonous watermarks
  // (W = max - 1) after each element (batches of one).
  constexpr const char* kGaps = R"(
    import { ExecutionContext, Generator, Stdout, Time, SlidingWindow, WatermarkStrategy } from "lightflus";
    interface E { k: string; t: number; }
    export default function (ctx: ExecutionContext) {
      ctx.fromSource(Generator.values<E>([
          { k: "a", t: 1000 },   // [0,2000); W = 999
          { k: "a", t: 3000 },   // a gap, not late: dropped uncounted; W = 2999
          { k: "a", t: 6000 },   // [5000,7000); W = 5999
          { k: "a", t: 4000 },   // a gap, late by its time
          { k: "a", t: 1500 },   // late: [0,2000) fired
          { k: "a", t: 5500 },   // [5000,7000)
          { k: "a", t: 8000 },   // a gap, not late: dropped; W = 7999
          { k: "a", t: 11000 },  // [10000,12000)
        ]))
        .assignTimestamps((e: E) => e.t, WatermarkStrategy.forMonotonousTimestamps())
        .keyBy((e: E) => e.k)
        .window(SlidingWindow.of(Time.seconds(2), Time.seconds(5)))
        .aggregate({ createAccumulator: () => 0, add: (e: E, n: number) => n + 1,
                     getResult: (n: number) => `${n}`, merge: (a: number, b: number) => a + b })
        .sink(Stdout.new());
    }
  )";
  std::vector<OperatorMetrics> metrics;
  auto out =
      sortedStrings(run(kGaps, "gaps.ts", 1, {}, ExecutionOptions{.batch_size = 1}, &metrics));
  CHECK(out == std::vector<std::string>{"1", "1", "2"});
  std::uint64_t late = 0;
  for (const auto& m : metrics) late += m.late_dropped;
  CHECK(late == 2);
}

TEST_CASE(
    "WatermarkStrategy.forMonotonousTimestamps() in TypeScript holds the watermark at max - 1",
    "[js][job][window]") {
  // After a@9999 W = 9998, so another a@9999 is on time; after a@10000 W = 9999 fires
  // [0,10000), and a third a@9999 is late.
  constexpr const char* kMonotonous = R"(
    import { ExecutionContext, Generator, Stdout, Time, TumblingWindow, WatermarkStrategy } from "lightflus";
    export default function (ctx: ExecutionContext) {
      ctx.fromSource(Generator.values<number>([1000, 9999, 9999, 10000, 9999]))
        .assignTimestamps((t: number) => t, WatermarkStrategy.forMonotonousTimestamps())
        .keyBy((t: number) => "a")
        .window(TumblingWindow.of(Time.seconds(10)))
        .aggregate({ createAccumulator: () => 0, add: (t: number, n: number) => n + 1,
                     getResult: (n: number) => `${n}`, merge: (a: number, b: number) => a + b })
        .sink(Stdout.new());
    }
  )";
  std::vector<OperatorMetrics> metrics;
  auto out = run(kMonotonous, "monotonous.ts", 1, {}, ExecutionOptions{.batch_size = 1}, &metrics);
  CHECK(sortedStrings(out) == std::vector<std::string>{"1", "3"});
  std::uint64_t late = 0;
  for (const auto& m : metrics) late += m.late_dropped;
  CHECK(late == 1);
}

TEST_CASE("a syntax error reports the job file's line and column", "[js][job][errors]") {
  try {
    JsJob::load(readFile(sourcePath("test/js/jobs/syntax_error.ts")),
                {.file_name = "syntax_error.ts"});
    FAIL("no error");
  } catch (const UserCodeError& e) {
    CHECK_THAT(e.what(), Catch::Contains("syntax_error.ts:4:") && Catch::Contains("TS1109"));
  }
}

TEST_CASE("a throwing UDF fails the job with its operator, message and line", "[js][job][errors]") {
  try {
    run(readFile(sourcePath("test/js/jobs/throwing_udf.ts")), "throwing_udf.ts");
    FAIL("no error");
  } catch (const JobFailedError& e) {
    CHECK_THAT(e.what(), Catch::Contains("operator 'times ten'") &&
                             Catch::Contains("Error: cannot handle 3") &&
                             Catch::Contains("throwing_udf.ts:8:"));
  }
}

TEST_CASE("with the dead-letter policy a throwing UDF's record goes to the dead letters",
          "[js][job][errors]") {
  DeadLetters dead;
  JsJobOptions options = dead.options();
  const std::vector<std::string>& letters = dead.lines;
  auto out =
      run(readFile(sourcePath("test/js/jobs/throwing_udf.ts")), "throwing_udf.ts", 1, options);
  CHECK(sortedStrings(out) == std::vector<std::string>{"10", "20", "40", "50"});
  REQUIRE(letters.size() == 1);
  Value letter = Value::parseJson(letters[0])["deadLetter"];
  CHECK(letter["operator"] == Value("times ten"));
  CHECK(letter["record"] == Value(3));
  CHECK_THAT(std::string(letter["error"].asString()), Catch::Contains("throwing_udf.ts:8:"));
}

TEST_CASE("keyBy and reduce UDFs that throw send their records to the dead letters",
          "[js][job][errors]") {
  DeadLetters dead;
  JsJobOptions options = dead.options();
  const std::vector<std::string>& letters = dead.lines;
  auto out = run(R"(
    const ctx = ExecutionContext.new("bad");
    ctx.fromSource(Generator.sequence(1, 20))
      .keyBy((n) => { if (n === 4) throw new Error("no key for 4"); return n % 2; })
      .reduce((a, b) => { if (b === 7) throw new Error("cannot add 7"); return a + b; })
      .sink(Stdout.new());
    ctx.execute();
  )",
                 "bad.js", 1, options);
  // By hand: odd numbers without 7 sum to 93, even ones without 4 to 106.
  CHECK(out.size() == 18);
  CHECK(std::count(out.begin(), out.end(), Value(93)) == 1);
  CHECK(std::count(out.begin(), out.end(), Value(106)) == 1);
  CHECK(letters.size() == 2);
}

// A chain read only by a keyBy runs as one operator (JsChainKeyByOperator); a batch where a UDF
// throws is redone step by step, which finds the element as the separate operators do.
TEST_CASE("a chain fused with its keyBy handles keys and throwing UDFs like two operators",
          "[js][job][errors]") {
  const char* job = R"(
    const ctx = ExecutionContext.new("fused");
    ctx.fromSource(Generator.sequence(1, 30))
      .map((n) => { if (n === 5) throw new Error("no map for 5"); return n; }).name("check")
      .flatMap((n) => [n, n + 100])
      .keyBy((n) => { if (n === 9) throw new Error("no key for 9"); return n % 3 === 0 ? n : "k" + (n % 2); })
      .reduce((a, b) => a + b)
      .sink(Stdout.new());
    ctx.execute();
  )";
  DeadLetters dead;
  JsJobOptions options = dead.options();
  const std::vector<std::string>& letters = dead.lines;
  auto out = run(job, "fused.js", 1, options);
  // By hand: elements n and n + 100 for n in 1..30 but 5 (the map throws) and 9 (the key
  // function throws for 9, after which 109 still gets its key); multiples of 3 are their own
  // key; the others go to "k0" (even) or "k1" (odd) with a rolling sum.
  std::int64_t k0 = 0, k1 = 0;
  std::size_t count = 0;
  for (int n = 1; n <= 30; ++n) {
    if (n == 5) continue;
    for (int v : {n, n + 100}) {
      if (v == 9) continue;
      ++count;
      if (v % 3 != 0) (v % 2 == 0 ? k0 : k1) += v;
    }
  }
  CHECK(out.size() == count);
  CHECK(std::count(out.begin(), out.end(), Value(k0)) == 1);
  CHECK(std::count(out.begin(), out.end(), Value(k1)) == 1);
  REQUIRE(letters.size() == 2);
  std::vector<std::string> operators;
  for (const auto& l : letters)
    operators.emplace_back(Value::parseJson(l)["deadLetter"]["operator"].asString());
  std::sort(operators.begin(), operators.end());
  CHECK(operators[0] == "check");
  CHECK(operators[1] == "keyBy");

  try {
    run(job, "fused.js");
    FAIL("no error");
  } catch (const JobFailedError& e) {
    CHECK_THAT(e.what(), Catch::Contains("operator 'check'") && Catch::Contains("no map for 5") &&
                             Catch::Contains("fused.js:4:"));
  }
}

// JsChainKeyByOperator copies its outputs' origins out of V8 in one piece: each output keeps
// the timestamp of its input where a flatMap repeats an input and where a filter leaves a whole
// batch empty, at parallelism 1 and 2, with the outputs as key-group blocks (a process function
// reads the keyBy) and as Values (a keyed map does).
TEST_CASE("a chain fused with its keyBy gives each output the timestamp of its input",
          "[js][job]") {
  const int parallelism = GENERATE(1, 2);
  const std::string after_key_by = GENERATE(std::string(), std::string(".map((n) => n)"));
  CAPTURE(parallelism, after_key_by);
  std::vector<OperatorMetrics> metrics;
  auto out = run(fmt::format(R"(
    const ctx = ExecutionContext.new("origins");
    ctx.fromSource(Generator.sequence(1, 4000))
      .assignTimestamps((n) => 1000 * n, WatermarkStrategy.forMonotonousTimestamps())
      .filter((n) => n <= 1000 || n > 3100)
      .flatMap((n) => (n % 3 === 0 ? [n, -n] : [n]))
      .keyBy((n) => Math.abs(n) % 4){}
      .process((n, c, out) => out.collect(`${{n}} at ${{c.timestamp()}}`))
      .sink(Stdout.new());
    ctx.execute();
  )",
                             after_key_by),
                 "origins.js", parallelism, {}, {}, &metrics);
  std::vector<std::string> expected;
  for (int n = 1; n <= 4000; ++n) {
    if (n > 1000 && n <= 3100) continue;
    expected.push_back(fmt::format("{} at {}", n, 1000 * n));
    if (n % 3 == 0) expected.push_back(fmt::format("{} at {}", -n, 1000 * n));
  }
  std::sort(expected.begin(), expected.end());
  CHECK(sortedStrings(out) == expected);
  CHECK(std::any_of(metrics.begin(), metrics.end(),
                    [](const OperatorMetrics& m) { return m.kind == "jsChain+keyBy"; }));
}

// At parallelism 1 a chain, its keyBy and a window aggregate run as one operator with the
// window state in V8 (JsChainWindowOperator); at 2 the window runs after the exchange
// (JsWindowOperator). Both give the same results, dead letters and errors.
TEST_CASE("a chain fused with its keyBy and window handles throwing UDFs like separate operators",
          "[js][job][errors][window]") {
  const char* job = R"(
    const ctx = ExecutionContext.new("fusedWindow");
    ctx.fromSource(Generator.sequence(1, 40))
      .map((n) => { if (n === 5) throw new Error("no map for 5"); return n; }).name("check")
      .keyBy((n) => n % 3)
      .window(TumblingWindow.of(Time.days(3650)).processingTime())
      .aggregate({
        createAccumulator: () => ({ n: 0, s: 0 }),
        add: (n, a) => { if (n === 11) throw new Error("cannot add 11"); a.n++; a.s += n; return a; },
        getResult: (a) => `${a.n}:${a.s}`,
      }).name("tally")
      .sink(Stdout.new());
    ctx.execute();
  )";
  // By hand: 1..40 without 5 and 11, per n % 3.
  std::vector<std::string> expected;
  for (int k = 0; k < 3; ++k) {
    int count = 0, sum = 0;
    for (int n = 1; n <= 40; ++n)
      if (n % 3 == k && n != 5 && n != 11) ++count, sum += n;
    expected.push_back(fmt::format("{}:{}", count, sum));
  }
  std::sort(expected.begin(), expected.end());
  for (int parallelism : {1, 2}) {
    SECTION("dead letters, p" + std::to_string(parallelism)) {
      DeadLetters dead;
      JsJobOptions options = dead.options();
      const std::vector<std::string>& letters = dead.lines;
      CHECK(sortedStrings(run(job, "fused_window.js", parallelism, options)) == expected);
      REQUIRE(letters.size() == 2);
      std::vector<std::string> records;
      for (const auto& l : letters) {
        Value letter = Value::parseJson(l)["deadLetter"];
        records.push_back(
            fmt::format("{} {}", letter["operator"].asString(), letter["record"].toJson()));
      }
      std::sort(records.begin(), records.end());
      CHECK(records == std::vector<std::string>{"check 5", "tally 11"});
    }
    SECTION("failure, p" + std::to_string(parallelism)) {
      std::string source = job;
      source.replace(source.find("n === 5"), 7, "n === 0");  // only the aggregate throws
      try {
        run(source, "fused_window.js", parallelism);
        FAIL("no error");
      } catch (const JobFailedError& e) {
        CHECK_THAT(e.what(), Catch::Contains("operator 'tally'") &&
                                 Catch::Contains("cannot add 11") &&
                                 Catch::Contains("fused_window.js:9:"));
      }
    }
  }
}

TEST_CASE("require of a Node.js built-in gives the sandbox's message", "[js][job][errors]") {
  CHECK_THROWS_WITH(
      JsJob::load(readFile(sourcePath("test/js/jobs/require_fs.ts")),
                  {.file_name = "require_fs.ts"}),
      Catch::Contains("require(\"fs\") is not available in a Lightflus job: jobs "
                      "run sandboxed without Node.js built-ins (at require_fs.ts:2:"));
}

TEST_CASE("a require inside a UDF is reported at the job's line, not in the runtime",
          "[js][job][errors]") {
  const char* source =
      "import { ExecutionContext, Generator, Stdout } from \"lightflus\";\n"  // 1
      "declare const require: (name: string) => unknown;\n"                   // 2
      "const ctx = ExecutionContext.new(\"requireInUdf\");\n"                 // 3
      "ctx.fromSource(Generator.sequence(1, 3))\n"                            // 4
      "  .map((n: number) => String(require(\"fs\")) + n)\n"  // 5: `require` at column 30
      "  .name(\"reads files\")\n"
      "  .sink(Stdout.new<string>());\n"
      "ctx.execute();\n";
  try {
    run(source, "require_in_udf.ts");
    FAIL("no error");
  } catch (const JobFailedError& e) {
    CHECK_THAT(e.what(), Catch::Contains("operator 'reads files'") &&
                             Catch::Contains("SandboxError: require(\"fs\") is not available") &&
                             Catch::EndsWith("(at require_in_udf.ts:5:30)"));
  }
}

TEST_CASE("a bundled job's errors name the user's files through the bundle's source map",
          "[js][job][errors]") {
  // What `lightflus apply` submits for bundled/bundled_errors.ts (see its README.md): the
  // bundle, named after the job, and its source map. Positions are those of the .ts files.
  const std::string bundle = readFile(sourcePath("test/js/jobs/bundled/bundled_errors.js"));
  JsJobOptions options;
  options.source_map = readFile(sourcePath("test/js/jobs/bundled/bundled_errors.js.map"));
  auto failure = [&](const std::string& mode) {
    options.params["mode"] = mode;
    try {
      run(bundle, "bundledErrors.js", 1, options);
    } catch (const JobFailedError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  SECTION("a throw at the top level fails the load at the job's line") {
    options.params["mode"] = "top";
    options.file_name = "bundledErrors.js";
    CHECK_THROWS_WITH(JsJob::load(bundle, options),
                      "job bundledErrors.js: Error: refused at the top level (at "
                      "bundled_errors.ts:11:3)");
  }
  SECTION("a UDF that throws") {
    CHECK_THAT(failure("udf"), Catch::Contains("operator 'times ten'") &&
                                   Catch::EndsWith("Error: cannot handle 3 (at "
                                                   "bundled_errors.ts:18:36)"));
  }
  SECTION("a helper module's function that throws") {
    CHECK_THAT(failure("helper"), Catch::Contains("operator 'check'") &&
                                      Catch::EndsWith("RangeError: 2 is out of range (at "
                                                      "lib/checks.ts:4:5)"));
  }
  SECTION("a require inside a UDF") {
    CHECK_THAT(failure("require"),
               Catch::Contains("operator 'times ten'") &&
                   Catch::EndsWith("SandboxError: require(\"fs\") is not available in a Lightflus "
                                   "job: jobs run sandboxed without Node.js built-ins (at "
                                   "bundled_errors.ts:19:43)"));
  }
  SECTION("a malformed source map is a ConfigError") {
    options.source_map = R"({"version":3,"sources":["a.ts"],"mappings":"AA!A"})";
    options.file_name = "bundledErrors.js";
    CHECK_THROWS_AS(JsJob::load(bundle, options), ConfigError);
  }
}

TEST_CASE("the original job with a Kafka source and a Redis sink loads and builds", "[js][job]") {
  auto job = JsJob::load(readFile(sourcePath("test/js/jobs/originalWordCount.ts")),
                         {.file_name = "wordCount.ts"});
  CHECK(job->graph()["operators"].size() == 6);
  // Running it needs Kafka on localhost:9092 and Redis on localhost:6379: lightflusd_run_test.sh
  // checks the connection error, test/redis the same job shape against a real redis-server.
  // A build without librdkafka or hiredis says which connector it lacks.
  try {
    JsGraphBuilder(job).build();
  } catch (const ConfigError& e) {
    CHECK_THAT(e.what(), Catch::Contains("this build has no"));
  }
}

TEST_CASE("an endless UDF is stopped at the time limit and fails the job", "[js][job][errors]") {
  JsJobOptions options;
  options.time_limit = std::chrono::milliseconds(300);
  CHECK_THROWS_WITH(
      run(readFile(sourcePath("test/js/jobs/infinite_loop.ts")), "infinite_loop.ts", 1, options),
      Catch::Contains("operator 'forever'") && Catch::Contains("exceeded the 300 ms time limit"));
}

TEST_CASE("a job whose graph depends on Math.random() is refused in the second worker",
          "[js][job][errors]") {
  std::string source = R"(
    const ctx = ExecutionContext.new("random");
    ctx.fromSource(Generator.sequence(1, 1000)).map((n) => n).name("map " + Math.random())
      .sink(Stdout.new());
    ctx.execute();
  )";
  // The check runs when a second thread takes its worker (which threads a job's tasks use is up
  // to the engine's pool, so the test takes them itself).
  auto job = JsJob::load(source, {.file_name = "random.js"});
  job->worker();  // this thread's: the isolate that loaded the job
  std::string error;
  std::thread([&] {
    try {
      job->worker();
    } catch (const std::exception& e) {
      error = e.what();
    }
  }).join();
  CHECK_THAT(error, Catch::Contains("deterministically"));
}

TEST_CASE("rolling reduce and window state survive a snapshot and a restore at another parallelism",
          "[js][job][snapshot]") {
  // 1..3000 at 3000/s: the snapshot is taken about halfway; the restored job must end with the
  // same totals as an uninterrupted run (sums per key by a loop).
  const std::string source = R"(
    export default function (ctx: ExecutionContext) {
      // The source takes the job's parallelism, so it rescales too (its ids re-split).
      const keyed = ctx.fromSource(Generator.sequence(1, 3000).ratePerSecond(3000))
        .keyBy((n: number) => `k${n % 4}`).parallelism(2);
      keyed.reduce((a: number, b: number) => a + b).name("sum").map((n: number) => `sum ${n}`)
        .sink(Stdout.new());
      keyed.window(TumblingWindow.of(Time.days(3650)).processingTime())
        .aggregate({ createAccumulator: () => ({ n: 0 }),
                     add: (v: number, a: { n: number }) => ({ n: a.n + 1 }),
                     getResult: (a: { n: number }) => `count ${a.n}` })
        .name("count").sink(Stdout.new());
    }
  )";
  std::vector<std::int64_t> sums(4, 0);
  for (int n = 1; n <= 3000; ++n) sums[n % 4] += n;

  auto job = JsJob::load(source, {.file_name = "snapshot.ts"});
  std::vector<std::string> lines = runRestored(job, 2, 1);
  for (std::int64_t sum : sums)
    CHECK(std::count(lines.begin(), lines.end(), fmt::format("sum {}", sum)) == 1);
  std::vector<std::string> counts;
  for (const auto& line : lines)
    if (line.starts_with("count ")) counts.push_back(line);
  CHECK(counts == std::vector<std::string>(4, "count 750"));
}

// keyBy(...).process(fn): state, timers, side outputs and TTL in V8 (JsProcessOperator).
TEST_CASE("a keyed process function keeps state, fires event-time timers and writes side outputs",
          "[js][job][process]") {
  const int parallelism = GENERATE(1, 2);
  CAPTURE(parallelism);
  auto out = run(R"(
    import { ExecutionContext, Generator, OutputTag, Stdout, WatermarkStrategy } from "lightflus";
    const sevens = new OutputTag<string>("sevens");
    const ctx = ExecutionContext.new("process");
    const counted = ctx.fromSource(Generator.sequence(1, 3000))
      .assignTimestamps((n: number) => 1000 * n, WatermarkStrategy.forMonotonousTimestamps())
      .keyBy((n: number) => `k${n % 3}`)
      .process({
        processElement(n: number, c, out) {
          const count = c.state.value<number>("count");
          count.update((count.value() ?? 0) + 1);
          c.state.list<number>("times").add(c.timestamp()!);
          c.state.map<string, number>("last").put("n", n);
          if (n % 100 === 0) c.timerService().registerEventTimeTimer(c.timestamp()! + 5000);
          if (n % 7 === 0) c.output(sevens, `seven ${n}`);
          out.collect(`count ${c.getCurrentKey()} ${count.value()}`);
        },
        onTimer(t: number, c, out) {
          // Every element up to t has arrived once the watermark passed t (monotonous times).
          const upTo = c.state.list<number>("times").get().filter((x) => x <= t).length;
          out.collect(`timer ${c.getCurrentKey()} ${t} ${upTo} ${c.timeDomain()} ${c.state.map("last").contains("n")}`);
        },
      });
    counted.sink(Stdout.new());
    counted.getSideOutput(sevens).sink(Stdout.new());
    ctx.execute();
  )",
                 "process.ts", parallelism);
  std::vector<std::string> expected;
  std::map<int, int> per_key;
  for (int n = 1; n <= 3000; ++n) {
    expected.push_back(fmt::format("count k{} {}", n % 3, ++per_key[n % 3]));
    if (n % 7 == 0) expected.push_back(fmt::format("seven {}", n));
    if (n % 100 == 0) {
      int up_to = 0;
      for (int m = 1; m <= std::min(3000, n + 5); ++m) up_to += m % 3 == n % 3;
      expected.push_back(fmt::format("timer k{} {} {} event true", n % 3, 1000 * n + 5000, up_to));
    }
  }
  std::sort(expected.begin(), expected.end());
  CHECK(sortedStrings(out) == expected);
}

TEST_CASE("a process function's failures: dead letters for elements, the job for timers",
          "[js][job][process][errors]") {
  DeadLetters dead;
  JsJobOptions options = dead.options();
  auto out = run(R"(
    const ctx = ExecutionContext.new("bad");
    ctx.fromSource(Generator.sequence(1, 10))
      .keyBy((n) => n % 2)
      .process((n, c, out) => {
        out.collect(`before ${n}`);
        if (n === 5) throw new Error("cannot process 5");
        out.collect(`after ${n}`);
      })
      .sink(Stdout.new());
    ctx.execute();
  )",
                 "bad.js", 1, options);
  std::vector<std::string> expected;
  for (int n = 1; n <= 10; ++n)
    if (n != 5) {
      expected.push_back(fmt::format("before {}", n));
      expected.push_back(fmt::format("after {}", n));
    }
  std::sort(expected.begin(), expected.end());
  CHECK(sortedStrings(out) == expected);  // the failing element's outputs are dropped
  REQUIRE(dead.lines.size() == 1);
  CHECK_THAT(dead.lines[0], Catch::Contains("cannot process 5"));

  try {
    run(R"(
      const ctx = ExecutionContext.new("bad timer");
      ctx.fromSource(Generator.sequence(1, 10))
        .keyBy((n) => n % 2)
        .process({
          processElement(n, c, out) { c.timerService().registerEventTimeTimer(n); },
          onTimer(t, c, out) { throw new Error("boom at " + t); },
        })
        .name("timers")
        .sink(Stdout.new());
      ctx.execute();
    )",
        "bad_timer.js", 1, options);
    FAIL("no error");
  } catch (const JobFailedError& e) {
    CHECK_THAT(e.what(), Catch::Contains("operator 'timers'") && Catch::Contains("boom at"));
  }
}

TEST_CASE("process state expires after its TTL without writes", "[js][job][process]") {
  // Each element spins 30 ms after writing: with a 10 ms TTL the next element finds the state
  // gone, with a minute it finds every earlier write.
  auto job = [](int ttl_ms) {
    return fmt::format(R"(
      const ctx = ExecutionContext.new("ttl");
      ctx.fromSource(Generator.sequence(1, 5))
        .keyBy(() => "k")
        .process((n, c, out) => {{
          const s = c.state.value("count");
          const next = (s.value() ?? 0) + 1;
          s.update(next);
          out.collect(next);
          const until = Date.now() + 30;
          while (Date.now() < until) {{}}
        }}, {{ ttl: {} }})
        .sink(Stdout.new());
      ctx.execute();
    )",
                       ttl_ms);
  };
  CHECK(sortedStrings(run(job(10), "ttl.js")) == std::vector<std::string>(5, "1"));
  CHECK(sortedStrings(run(job(60000), "ttl.js")) ==
        std::vector<std::string>{"1", "2", "3", "4", "5"});
}

TEST_CASE("process state and timers survive a snapshot and a restore at another parallelism",
          "[js][job][process][snapshot]") {
  const std::string source = R"(
    export default function (ctx: ExecutionContext) {
      ctx.fromSource(Generator.sequence(1, 3000).ratePerSecond(3000)).parallelism(2)
        .keyBy((n: number) => `k${n % 4}`)
        .process({
          processElement(n: number, c, out) {
            const sum = c.state.value<number>("sum");
            sum.update((sum.value() ?? 0) + n);
            // One event-time timer per key, far in the future: it fires at the end of the
            // input (the source's watermarks follow the wall clock).
            c.timerService().registerEventTimeTimer(8.64e15);
          },
          onTimer(t: number, c, out) {
            out.collect(`sum ${c.getCurrentKey()} ${c.state.value<number>("sum").value()}`);
          },
        })
        .name("sums")
        .sink(Stdout.new());
    }
  )";
  auto job = JsJob::load(source, {.file_name = "process_snapshot.ts"});
  std::vector<std::string> lines = runRestored(job, 2, 1);
  std::sort(lines.begin(), lines.end());
  std::vector<std::int64_t> sums(4, 0);
  for (int n = 1; n <= 3000; ++n) sums[n % 4] += n;
  std::vector<std::string> expected;
  for (int k = 0; k < 4; ++k) expected.push_back(fmt::format("sum k{} {}", k, sums[k]));
  CHECK(lines == expected);
}

TEST_CASE("window functions see the key and the window; process() gets the window's elements",
          "[js][job][window]") {
  const int parallelism = GENERATE(1, 2);
  CAPTURE(parallelism);
  auto out = run(R"(
    import { ExecutionContext, Generator, SessionWindow, Stdout, Time, TumblingWindow,
             WatermarkStrategy } from "lightflus";
    const ctx = ExecutionContext.new("window functions");
    const keyed = ctx.fromSource(Generator.sequence(1, 40))
      .assignTimestamps((n: number) => 1000 * n, WatermarkStrategy.forMonotonousTimestamps())
      .keyBy((n: number) => (n % 2 === 0 ? "even" : "odd"));
    keyed.window(TumblingWindow.of(Time.seconds(5)))
      .aggregate({ createAccumulator: () => 0, add: (n: number, a: number) => a + n,
                   getResult: (a: number) => a },
                 (key, w, sum) => `agg ${key} ${w.start} ${w.end} ${w.maxTimestamp()} ${sum}`)
      .sink(Stdout.new());
    keyed.window(TumblingWindow.of(Time.seconds(10)))
      .reduce((a: number, b: number) => Math.max(a, b), (key, w, max) => ({ key, start: w.getStart(), max }))
      .sink(Stdout.new());
    keyed.window(TumblingWindow.of(Time.seconds(10)))
      .process((key, w, elements) => elements.filter((n) => n % 3 === 0).map((n) => `proc ${key} ${w.start} ${n}`))
      .sink(Stdout.new());
    keyed.window(SessionWindow.withGap(Time.seconds(3)))
      .process((key, w, elements) => [`session ${key} ${w.start} ${w.end} ${elements.length}`])
      .sink(Stdout.new());
    ctx.execute();
  )",
                 "window_functions.ts", parallelism);
  std::vector<std::string> expected;
  for (const char* key : {"even", "odd"}) {
    const int parity = std::string(key) == "even" ? 0 : 1;
    std::map<std::int64_t, std::int64_t> sums, maxes;
    for (int n = 1; n <= 40; ++n) {
      if (n % 2 != parity) continue;
      const std::int64_t t = 1000 * n;
      sums[t - t % 5000] += n;
      maxes[t - t % 10000] = std::max<std::int64_t>(maxes[t - t % 10000], n);
      if (n % 3 == 0) expected.push_back(fmt::format("proc {} {} {}", key, t - t % 10000, n));
    }
    for (const auto& [start, sum] : sums)
      expected.push_back(
          fmt::format("agg {} {} {} {} {}", key, start, start + 5000, start + 4999, sum));
    for (const auto& [start, max] : maxes)
      expected.push_back(
          fmt::format("{{\"key\":\"{}\",\"start\":{},\"max\":{}}}", key, start, max));
    // Same-parity elements are 2 s apart: one session per key, from its first element to its
    // last plus the gap.
    const int first = parity == 0 ? 2 : 1, last = parity == 0 ? 40 : 39;
    expected.push_back(fmt::format("session {} {} {} 20", key, 1000 * first, 1000 * last + 3000));
  }
  std::sort(expected.begin(), expected.end());
  CHECK(sortedStrings(out) == expected);
}

TEST_CASE("sideOutputLateData sends a window's late elements to a side output",
          "[js][job][window]") {
  // 1..40 s in order at 200 elements/s, with 38 replaced by -100: by then the watermark is past
  // 36 s, so -100 is late for its tumbling window and for its session (of its own: it merges
  // with no other). A map after getSideOutput reads the side output, not the main output.
  auto out = run(R"(
    import { ExecutionContext, Generator, OutputTag, SessionWindow, Stdout, Time, TumblingWindow,
             WatermarkStrategy } from "lightflus";
    const late = new OutputTag<number>("late");
    const lateSessions = new OutputTag<number>("late sessions");
    const ctx = ExecutionContext.new("late data");
    const keyed = ctx.fromSource(Generator.sequence(1, 40).ratePerSecond(200))
      .map((n: number) => (n === 38 ? -100 : n))
      .assignTimestamps((n: number) => 1000 * n, WatermarkStrategy.forMonotonousTimestamps())
      .keyBy((n: number) => n % 2);
    const sums = keyed.window(TumblingWindow.of(Time.seconds(5))).sideOutputLateData(late)
      .reduce((a: number, b: number) => a + b);
    sums.map((s: number) => `sum ${s}`).sink(Stdout.new());
    sums.getSideOutput(late).map((n: number) => `late ${n}`).sink(Stdout.new());
    keyed.window(SessionWindow.withGap(Time.seconds(3))).sideOutputLateData(lateSessions)
      .aggregate({ createAccumulator: () => 0, add: (_n: number, a: number) => a + 1,
                   getResult: (a: number) => a, merge: (a: number, b: number) => a + b })
      .getSideOutput(lateSessions).map((n: number) => `late session ${n}`).sink(Stdout.new());
    ctx.execute();
  )",
                 "late_data.ts", 1);
  std::map<std::pair<int, int>, int> sums;  // (parity, window start) -> sum
  for (int n = 1; n <= 40; ++n)
    if (n != 38) sums[{n % 2, (n * 1000) / 5000}] += n;
  std::vector<std::string> expected = {"late -100", "late session -100"};
  for (const auto& [window, sum] : sums) expected.push_back(fmt::format("sum {}", sum));
  std::sort(expected.begin(), expected.end());
  CHECK(sortedStrings(out) == expected);
}

TEST_CASE("rolling state moves between the fused form (p1) and the keyed form (p2)",
          "[js][job][snapshot]") {
  // At parallelism 2 the reduce runs after the keyBy exchange (JsRollingOperator); at 1 the
  // map, keyBy and reduce are one operator (JsChainRollingOperator). A snapshot of either
  // restores into the other.
  const std::string source = R"(
    export default function (ctx: ExecutionContext) {
      ctx.fromSource(Generator.sequence(1, 3000).ratePerSecond(3000)).parallelism(2)
        .map((n: number) => ({ k: `k${n % 4}`, n }))
        .keyBy((o: { k: string }) => o.k)
        .reduce((a: { k: string; n: number }, b: { n: number }) => ({ k: a.k, n: a.n + b.n }))
        .map((o: { k: string; n: number }) => `${o.k} ${o.n}`)
        .sink(Stdout.new());
    }
  )";
  auto job = JsJob::load(source, {.file_name = "rolling_forms.ts"});
  std::vector<std::int64_t> sums(4, 0);
  for (int n = 1; n <= 3000; ++n) sums[n % 4] += n;
  for (auto [first_p, second_p] : {std::pair{2, 1}, std::pair{1, 2}}) {
    CAPTURE(first_p, second_p);
    std::vector<std::string> lines = runRestored(job, first_p, second_p, /*plan_parallelism=*/true);
    for (int k = 0; k < 4; ++k)
      CHECK(std::count(lines.begin(), lines.end(), fmt::format("k{} {}", k, sums[k])) == 1);
  }
}

// windowAll: one set of windows for the whole stream, fired in one task; at parallelism 2 the
// map and a combiner pre-aggregate in both subtasks, and only partials cross to that task.
TEST_CASE("windowAll aggregates the whole stream per window, pre-aggregated at parallelism 2",
          "[js][job][window]") {
  const char* job = R"(
    const ctx = ExecutionContext.new("allWindows");
    ctx.fromSource(Generator.sequence(0, 9999))
      .assignTimestamps((n) => n * 10)
      .map((n) => ({ n }))
      .windowAll(TumblingWindow.of(Time.seconds(10)))
      .aggregate({
        createAccumulator: () => ({ count: 0, sum: 0 }),
        add: (e, a) => { a.count++; a.sum += e.n; return a; },
        getResult: (a) => a,
        merge: (a, b) => ({ count: a.count + b.count, sum: a.sum + b.sum }),
      }, (window, r) => `${window.start} ${r.count} ${r.sum}`)
      .sink(Stdout.new());
    ctx.execute();
  )";
  // By hand: 1,000 elements per 10 s window (t = 10 n ms).
  std::vector<std::string> expected;
  for (int w = 0; w < 10; ++w) {
    long sum = 0;
    for (int n = w * 1000; n < (w + 1) * 1000; ++n) sum += n;
    expected.push_back(fmt::format("{} 1000 {}", w * 10000, sum));
  }
  std::sort(expected.begin(), expected.end());
  for (int parallelism : {1, 2}) {
    INFO("parallelism " << parallelism);
    std::vector<OperatorMetrics> metrics;
    CHECK(sortedStrings(run(job, "window_all.js", parallelism, {}, {}, &metrics)) == expected);
    if (parallelism == 2) {
      // The combiner ran in both subtasks; the windows in one.
      auto combiner = std::find_if(metrics.begin(), metrics.end(), [](const OperatorMetrics& m) {
        return m.kind.find("combine") != std::string::npos;
      });
      REQUIRE(combiner != metrics.end());
      CHECK(combiner->parallelism == 2);
      CHECK(combiner->records_out < 10'000);  // partials, not the elements
    }
  }
}

TEST_CASE("topN per window ranks like SQL's RANK(): ties share a rank and all make it",
          "[js][job][window]") {
  // Window [0, 10 s): scores 9, 7, 7, 5, 3; window [10 s, 20 s): 4, 4, 4, 1.
  const char* job = R"(
    const ctx = ExecutionContext.new("ranks");
    const items = [
      { id: "a", score: 5, t: 1000 }, { id: "b", score: 9, t: 2000 }, { id: "c", score: 7, t: 3000 },
      { id: "d", score: 3, t: 4000 }, { id: "e", score: 7, t: 5000 },
      { id: "f", score: 4, t: 11000 }, { id: "g", score: 1, t: 12000 }, { id: "h", score: 4, t: 13000 },
      { id: "i", score: 4, t: 14000 },
    ];
    ctx.fromSource(Generator.sequence(0, items.length - 1))
      .map((i) => items[i])
      .assignTimestamps((e) => e.t)
      .windowAll(TumblingWindow.of(Time.seconds(10)))
      .topN(2, (e) => e.score)
      .map((r) => `${r.window.start} ${r.rank} ${r.value.id}`)
      .sink(Stdout.new());
    ctx.execute();
  )";
  std::vector<std::string> expected = {"0 1 b",     "0 2 c",     "0 2 e",
                                       "10000 1 f", "10000 1 h", "10000 1 i"};
  for (int parallelism : {1, 2}) {
    INFO("parallelism " << parallelism);
    CHECK(sortedStrings(run(job, "top_n.js", parallelism)) == expected);
  }
}
