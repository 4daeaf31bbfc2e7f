// A keyBy over JSON lines hands its parsed batches to the process function, window or rolling
// reduce chained after it (js_keyed_reader.hpp) instead of key-group blocks. These tests run
// the same jobs both ways at parallelism 1 (JsGraphOptions::keyed_handoff) and hold the handoff
// to the blocks' behaviour: the same results, side outputs, late data, dead letters (in the
// same order) and operator counts; and its checkpoints restore at parallelism 2 and back.
#include <fmt/format.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "js_graph_builder.hpp"
#include "js_job.hpp"
#include "lightflus/lightflus.hpp"
#include "test_helpers.hpp"

using namespace lightflus;
using namespace lightflus::js;
using namespace lightflus::test;

namespace {

class TempFile {
 public:
  explicit TempFile(const std::string& contents) {
    char dir[] = "/tmp/lightflus-handoff-XXXXXX";
    REQUIRE(::mkdtemp(dir) != nullptr);
    dir_ = dir;
    path_ = dir_ + "/rows.jsonl";
    std::ofstream(path_, std::ios::binary) << contents;
  }
  ~TempFile() {
    std::remove(path_.c_str());
    ::rmdir(dir_.c_str());
  }
  const std::string& path() const { return path_; }

 private:
  std::string dir_, path_;
};

struct Run {
  std::vector<std::string> results;  // every sink's values, sorted (JSON unless strings)
  std::vector<std::string> dead;     // dead letters as JSON, in the order written
  std::vector<OperatorMetrics> metrics;
};

Run runJob(const std::string& body, const std::string& input, int parallelism, bool handoff) {
  Run run;
  std::mutex mutex;
  JsJobOptions options;
  options.file_name = "job.js";
  options.params["input"] = input;
  options.on_error = ErrorPolicy::kDeadLetter;
  options.dead_letters = [&](std::string_view line) {
    std::lock_guard lock(mutex);
    Value letter = Value::parseJson(line)["deadLetter"];
    run.dead.push_back(letter["record"].toJson() + " " + letter["error"].toJson());
  };
  auto job = JsJob::load(
      "const ctx = ExecutionContext.new('rows');\n" + body + "\nctx.execute();\n", options);
  std::vector<CollectResult<Value>> results;
  JsGraphOptions graph_options;
  graph_options.sink_override = [&results](const Value&) -> SinkFactory<Value> {
    auto state = results.emplace_back().state_;
    return [state] { return std::make_unique<CollectSink<Value>>(state); };
  };
  graph_options.parallelism = parallelism;
  graph_options.keyed_handoff = handoff;
  ExecutionContext ctx = JsGraphBuilder(job, graph_options).build();
  ExecutionOptions execution;
  execution.parallelism = parallelism;
  JobHandle handle = ctx.start(execution);
  handle.wait();
  run.metrics = handle.metrics();
  for (std::size_t i = 0; i < results.size(); ++i)
    for (const auto& v : results[i].values())
      run.results.push_back(std::to_string(i) + ": " +
                            (v.isString() ? std::string(v.asString()) : v.toJson()));
  run.results = sorted(run.results);
  return run;
}

// Bids in a few keys, times out of order by up to 300 ms with some late ones, over several
// batches; every 997th line throws in the functions of the jobs below.
std::string rows() {
  std::string out;
  for (int n = 0; n < 5000; ++n) {
    long long t = 1000 + n * 7 - (n % 5) * 60;
    if (n % 613 == 0) t -= 2500;  // late
    out += fmt::format("{{\"n\":{},\"k\":\"k{}\",\"p\":{},\"t\":{}}}\n", n, n % 13, n % 101, t);
  }
  return out;
}

const std::string kSource = "ctx.fromSource(FileSource.jsonLines(ctx.param('input')))";
const std::string kTimed =
    kSource +
    ".assignTimestamps((e) => { if (e.n === 997) throw new Error('no time'); return e.t + 0.5; },"
    " WatermarkStrategy.boundedOutOfOrderness(Time.milliseconds(300)))";

}  // namespace

TEST_CASE("a keyBy hands parsed batches to its keyed reader with the results of key-group blocks",
          "[js][json][job]") {
  TempFile file(rows());
  struct Case {
    std::string name, body;
  };
  const std::vector<Case> cases = {
      {"process: state, event timers, side output, odd keys",
       "const big = new OutputTag('big');\n"
       "const s = " +
           kTimed +
           ".keyBy((e) => { if (e.n === 1994) throw new Error('no key');"
           " return e.n % 4 === 0 ? {g: e.n % 3} : e.n % 4 === 1 ? -0 : e.n % 4 === 2 ? e.k :"
           " undefined; })"
           ".process({ processElement(e, c, out) {"
           " if (e.n === 2991) throw new Error('no element');"
           " const sum = c.state.value('sum'); sum.update((sum.value() ?? 0) + e.p);"
           " const w = c.timestamp() - (c.timestamp() % 1000);"
           " c.timerService().registerEventTimeTimer(w + 999);"
           " if (e.p > 95) c.output(big, JSON.stringify(c.getCurrentKey()) + ' ' + e.n);"
           " out.collect({key: c.getCurrentKey(), n: e.n, ts: c.timestamp(),"
           " wm: c.timerService().currentWatermark()}); },"
           " onTimer(t, c, out) { out.collect(JSON.stringify(c.getCurrentKey()) + ' fired ' + t +"
           " ' ' + c.state.value('sum').value()); } });\n"
           "s.sink(Stdout.new());\ns.getSideOutput(big).sink(Stdout.new());"},
      {"process after a keyBy without assignTimestamps",
       kSource +
           ".keyBy((e) => { if (e.n === 997) throw new Error('no key'); return e.k; })"
           ".process({ processElement(e, c, out) { const n = c.state.value('n');"
           " n.update((n.value() ?? 0) + 1); out.collect(c.getCurrentKey() + ' ' + n.value());"
           " } }).sink(Stdout.new());"},
      {"process after a chain fused with its keyBy",
       kSource +
           ".filter((e) => e.n % 7 !== 3).map((e) => { if (e.n === 997) throw new Error('no map');"
           " return {k: e.k, n: e.n, q: e.p * 2}; })"
           ".keyBy((e) => e.n % 2 === 0 ? e.k : {odd: e.k})"
           ".process({ processElement(e, c, out) { const n = c.state.value('n');"
           " if (e.n === 2991) throw new Error('no element');"
           " n.update((n.value() ?? 0) + e.q); out.collect(JSON.stringify(c.getCurrentKey()) +"
           " ' ' + n.value()); } }).sink(Stdout.new());"},
      {"tumbling window with allowed lateness and late data",
       "const late = new OutputTag('late');\n"
       "const w = " +
           kTimed +
           ".keyBy((e) => e.k)"
           ".window(TumblingWindow.of(Time.seconds(1)).allowedLateness(Time.milliseconds(500)))"
           ".sideOutputLateData(late)"
           ".aggregate({ createAccumulator: () => ({n: 0, s: 0}),"
           " add: (e, a) => { if (e.n === 2991) throw new Error('no add');"
           " return {n: a.n + 1, s: a.s + e.p}; },"
           " getResult: (a) => a.n + ' ' + a.s, merge: (a, b) => ({n: a.n + b.n, s: a.s + b.s}) },"
           " (key, window, r) => key + ' ' + window.start + ' ' + r);\n"
           "w.sink(Stdout.new());\nw.getSideOutput(late).sink(Stdout.new());"},
      {"rolling reduce",
       kTimed +
           ".keyBy((e) => e.k).reduce((a, b) => { if (b.n === 2991) throw new Error('no reduce');"
           " return {n: b.n, k: a.k, p: a.p + b.p, t: b.t}; })"
           ".map((e) => e.k + ' ' + e.n + ' ' + e.p).sink(Stdout.new());"},
      {"sliding window reduce",
       kTimed + ".keyBy((e) => e.n % 5).window(SlidingWindow.of(Time.seconds(2), Time.seconds(1)))"
                ".reduce((a, b) => ({n: a.n, k: a.k, p: a.p + b.p, t: a.t}))"
                ".map((e) => e.n + ' ' + e.p).sink(Stdout.new());"},
  };
  for (const auto& c : cases) {
    INFO(c.name);
    Run blocks = runJob(c.body, file.path(), 1, false);
    Run handoff = runJob(c.body, file.path(), 1, true);
    REQUIRE(!blocks.results.empty());
    CHECK(handoff.results == blocks.results);
    CHECK(!blocks.dead.empty());
    CHECK(handoff.dead == blocks.dead);
    REQUIRE(handoff.metrics.size() == blocks.metrics.size());
    bool handed = false;
    for (std::size_t i = 0; i < blocks.metrics.size(); ++i) {
      const OperatorMetrics& a = blocks.metrics[i];
      const OperatorMetrics& b = handoff.metrics[i];
      INFO(a.name << " (" << a.kind << ")");
      CHECK(b.name == a.name);
      CHECK(b.kind == a.kind);
      CHECK(b.records_in == a.records_in);
      CHECK(b.late_dropped == a.late_dropped);
      if (a.kind.find("keyBy") == std::string::npos) {
        CHECK(b.records_out == a.records_out);
      } else {
        // Blocks count one record per key group and batch; the handoff counts the elements it
        // hands (all but the keyBy's dead letters), which shows it took place.
        CHECK(a.records_out < b.records_out);
        CHECK(b.records_out > b.records_in / 2);
        CHECK(b.records_out <= b.records_in);
        handed = true;
      }
    }
    CHECK(handed);
  }
}

TEST_CASE("a window fed by a keyBy's handoff restores at another parallelism, exactly once",
          "[js][json][job]") {
  constexpr int kKeys = 10, kPerKey = 50000;
  std::string input;
  for (int i = 0; i < kKeys * kPerKey; ++i)
    input += fmt::format("{{\"k\":{},\"t\":{}}}\n", i % kKeys, i / kKeys);
  TempFile file(input);
  // Tumbling 1 s windows: 1000 elements per key and window.
  const std::string source =
      "const ctx = ExecutionContext.new('counts');\n" + kSource +
      ".assignTimestamps((e) => e.t, WatermarkStrategy.forMonotonousTimestamps())"
      ".keyBy((e) => e.k).window(TumblingWindow.of(Time.seconds(1)))"
      ".aggregate({ createAccumulator: () => 0, add: (e, a) => a + 1, getResult: (a) => a,"
      " merge: (a, b) => a + b }, (key, window, n) => key + ' ' + window.start + ' ' + n)"
      ".sink(Stdout.new());\nctx.execute();\n";
  for (auto [first, second] : {std::pair{1, 2}, std::pair{2, 1}}) {
    INFO("from parallelism " << first << " to " << second);
    JsJobOptions options;
    options.file_name = "counts.js";
    options.params["input"] = file.path();
    auto job = JsJob::load(source, options);
    auto build = [&](std::vector<CollectResult<Value>>& results, int parallelism) {
      JsGraphOptions graph_options;
      graph_options.parallelism = parallelism;
      graph_options.sink_override = [&results](const Value&) -> SinkFactory<Value> {
        auto state = results.emplace_back().state_;
        return [state] { return std::make_unique<CollectSink<Value>>(state); };
      };
      return JsGraphBuilder(job, graph_options).build();
    };
    std::vector<CollectResult<Value>> first_results;
    ExecutionContext first_run = build(first_results, first);
    ExecutionOptions execution;
    execution.parallelism = first;
    JobHandle running = first_run.start(execution);
    REQUIRE(eventually([&] {  // some windows fired: mid-file
      std::size_t n = 0;
      for (const auto& r : first_results) n += r.size();
      return n >= 30;
    }));
    auto snapshot = std::make_shared<Snapshot>(running.triggerCheckpoint());
    running.cancel();
    running.wait();
    REQUIRE(!snapshot->final);

    std::vector<CollectResult<Value>> results;
    ExecutionContext second_run = build(results, second);
    execution.parallelism = second;
    execution.restore = snapshot;
    second_run.execute(execution);
    // Every key's every window once, with all its elements (also the one open at the
    // checkpoint, its count partly restored).
    std::map<std::pair<int, long long>, std::vector<long long>> windows;
    for (const auto& r : results)
      for (const auto& v : r.values()) {
        std::istringstream in{std::string(v.asString())};
        int key = 0;
        long long start = 0, n = 0;
        in >> key >> start >> n;
        windows[{key, start}].push_back(n);
      }
    const long long per_window = 1000;
    REQUIRE(windows.size() == static_cast<std::size_t>(kKeys * kPerKey / per_window));
    for (const auto& [window, counts] : windows) {
      INFO("key " << window.first << " window " << window.second);
      CHECK(counts == std::vector<long long>{per_window});
    }
  }
}
