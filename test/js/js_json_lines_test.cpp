// JSON lines read by JavaScript operators as text (js_json_lines.hpp): the source checks each
// line as Value::parseJson would and hands the text on; the first JavaScript operator parses a
// batch with one JSON.parse. These tests hold the text path to the Value path's behaviour:
// the same lines accepted and rejected with the same messages, the same values in V8, the same
// results, dead letters and restores.
#include <fmt/format.h>
#include <unistd.h>
#include <v8-json.h>

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "js_graph_builder.hpp"
#include "js_isolate.hpp"
#include "js_job.hpp"
#include "js_json_lines.hpp"
#include "js_value.hpp"
#include "lightflus/connectors/file.hpp"
#include "lightflus/lightflus.hpp"
#include "strings.hpp"
#include "test_helpers.hpp"

using namespace lightflus;
using namespace lightflus::js;
using namespace lightflus::test;

namespace {

// A file in a fresh temporary directory, removed at the end.
class TempFile {
 public:
  explicit TempFile(const std::string& contents) {
    char dir[] = "/tmp/lightflus-json-lines-XXXXXX";
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

// What Value::parseJson says of `text`: nothing, or its error message.
std::optional<std::string> valueParseError(std::string_view text) {
  try {
    Value::parseJson(text);
    return std::nullopt;
  } catch (const InputError& e) {
    return std::string(e.what());
  }
}

std::string nested(int depth) {
  return std::string(static_cast<std::size_t>(depth), '[') +
         std::string(static_cast<std::size_t>(depth), ']');
}

// Lines that both parsers must accept, among them the edges of numbers, strings and nesting.
const std::vector<std::string> kAccepted = {
    R"({"auction":519,"bidder":9149,"price":6987,"time":1767225600000})",
    R"(  {"a": [1, 2.5, -3e-7, true, false, null], "b": {"c": "d"}}  )",
    "42",
    R"("just a string")",
    "null",
    "[]",
    "{}",
    "9007199254740993",
    "-9223372036854775809",
    "18446744073709551616",
    "1.7976931348623157e308",
    "5e-324",
    "0.1",
    R"({"a":1,"a":2,"b":3})",
    R"({"__proto__":{"x":1},"constructor":2})",
    R"({"s":"\ud83d\ude00 \u00e9 \u0000 \n \" \\ \/"})",
    "{\"s\":\"caf\xc3\xa9 \xe2\x80\xa8 \xf0\x9f\x98\x80\"}",
    nested(1000),
};

// Lines that both must reject.
const std::vector<std::string> kRejected = {
    R"({"a":1)",
    R"({"a":1,})",
    "[1,2,]",
    "NaN",
    "Infinity",
    "1e400",
    "-1e400",
    "01",
    "{'a':1}",
    R"({"a":1} x)",
    R"({"a":1}{"b":2})",
    R"("\ud800")",
    "\"\xff\"",
    "\"\xc3\x28\"",
    "\"tab\there\"",
    "",
    "\r",
    std::string("{\"a\":1}\0", 8),
    nested(1001),
};

}  // namespace

TEST_CASE("a JSON line is checked as Value::parseJson reads it, with its message", "[js][json]") {
  for (const auto& text : kAccepted) {
    INFO(text.substr(0, 80));
    CHECK(!valueParseError(text));
    CHECK(!jsonTextError(text));
  }
  for (const auto& text : kRejected) {
    INFO(text.substr(0, 80));
    REQUIRE(valueParseError(text));
    CHECK(jsonTextError(text) == valueParseError(text));
  }
}

TEST_CASE("JSON texts parsed in V8 with one JSON.parse are the values Value::parseJson gives",
          "[js][json]") {
  JsIsolate js;
  JsIsolate::Scope scope(js);
  JsIsolate* isolate = &js;
  v8::Isolate* v8_isolate = js.isolate();
  v8::TryCatch try_catch(v8_isolate);
  ValueConverter convert(v8_isolate, js.context());
  Batch<Value> texts;
  std::vector<Value> values;
  for (const auto& text : kAccepted) {
    texts.push_back(Element<Value>{Value(text), kMinTimestamp});
    values.push_back(Value::parseJson(text));
  }
  auto project = [](const Element<Value>& e) -> const Value& { return e.value; };
  v8::Local<v8::Array> parsed = convert.parseJsonTexts(texts, 0, project);
  REQUIRE(parsed->Length() == kAccepted.size());
  for (std::uint32_t i = 0; i < parsed->Length(); ++i) {
    INFO(kAccepted[i].substr(0, 80));
    v8::Local<v8::Value> item = parsed->Get(isolate->context(), i).ToLocalChecked();
    // Through JSON.stringify in V8 on both sides: the value the old path (a Value tree made into
    // V8 values) gave and the one JSON.parse gives print the same.
    v8::Local<v8::Value> old_item = convert.toJs(values[i]);
    auto json = [&](v8::Local<v8::Value> v) {
      return toStdString(v8_isolate, v8::JSON::Stringify(isolate->context(), v).ToLocalChecked());
    };
    CHECK(json(item) == json(old_item));
    CHECK(convert.fromJs(item).toJson() == convert.fromJs(old_item).toJson());
  }
  // From an index on, as operators call it after a dead letter.
  v8::Local<v8::Array> tail = convert.parseJsonTexts(texts, 2, project);
  CHECK(tail->Length() == kAccepted.size() - 2);
  CHECK(convert.fromJs(tail->Get(isolate->context(), 0).ToLocalChecked()) == Value(42));
  // Where the two differ, JSON.parse gives what Node.js gives: -0 keeps its sign (the Value
  // path made "-0" a 0), and a lone low surrogate, which RapidJSON accepts too, stays U+DC00
  // (the Value path held it as invalid UTF-8, which became replacement characters in V8).
  Batch<Value> edges{Element<Value>{Value("-0"), kMinTimestamp},
                     Element<Value>{Value(R"("\udc00")"), kMinTimestamp}};
  CHECK(!jsonTextError(R"("\udc00")"));
  v8::Local<v8::Array> edge_values = convert.parseJsonTexts(edges, 0, project);
  v8::Local<v8::Value> minus_zero = edge_values->Get(isolate->context(), 0).ToLocalChecked();
  CHECK(minus_zero->IsNumber());
  CHECK(std::signbit(minus_zero.As<v8::Number>()->Value()));
  v8::Local<v8::Value> surrogate = edge_values->Get(isolate->context(), 1).ToLocalChecked();
  REQUIRE(surrogate->IsString());
  REQUIRE(surrogate.As<v8::String>()->Length() == 1);
  std::uint16_t unit = 0;
  surrogate.As<v8::String>()->Write(v8_isolate, &unit, 0, 1);
  CHECK(unit == 0xDC00);
}

TEST_CASE("a JSON-text source restores its position, also from a JSON-lines source's snapshot",
          "[js][json]") {
  std::string contents;
  for (int i = 1; i <= 10; ++i) contents += fmt::format("{{\"n\":{}}}\n", i);
  TempFile file(contents);
  auto readAll = [](Source<Value>& source, std::size_t max) {
    Batch<Value> batch;
    while (batch.size() < max) {
      SourceOutput<Value> out(batch, max - batch.size());
      if (source.poll(out) == SourceStatus::Finished) break;
    }
    return batch;
  };
  for (bool from_value_source : {false, true}) {
    std::string state;
    if (from_value_source) {
      JsonLinesSource first(file.path(), MalformedPolicy::Fail);
      first.open(SourceContext{});
      REQUIRE(readAll(first, 4).size() == 4);
      StateWriter w(state);
      first.snapshot(w);
    } else {
      JsonTextLinesSource first(file.path(), MalformedPolicy::Fail);
      first.open(SourceContext{});
      Batch<Value> read = readAll(first, 4);
      REQUIRE(read.size() == 4);
      CHECK(read[3].value == Value(R"({"n":4})"));
      StateWriter w(state);
      first.snapshot(w);
    }
    JsonTextLinesSource second(file.path(), MalformedPolicy::Fail);
    StateReader r(state);
    second.restore(r);
    second.open(SourceContext{});
    Batch<Value> rest = readAll(second, 100);
    REQUIRE(rest.size() == 6);
    CHECK(rest.front().value == Value(R"({"n":5})"));
    CHECK(rest.back().value == Value(R"({"n":10})"));
  }
}

namespace {

struct DeadLetters {
  std::mutex mutex;
  std::vector<Value> letters;
  JsJobOptions options() {
    JsJobOptions o;
    o.on_error = ErrorPolicy::kDeadLetter;
    o.dead_letters = [this](std::string_view line) {
      std::lock_guard lock(mutex);
      letters.push_back(Value::parseJson(line)["deadLetter"]);
    };
    return o;
  }
};

// Runs a job over the JSON-lines file `input` and returns its sinks' values as sorted strings
// (JSON for what is not a string).
std::vector<std::string> runJob(const std::string& source, const std::string& input,
                                int parallelism, JsJobOptions options = {}) {
  options.file_name = "job.js";
  options.params["input"] = input;
  auto job = JsJob::load(source, options);
  std::vector<CollectResult<Value>> results;
  JsGraphOptions graph_options;
  graph_options.sink_override = [&results](const Value&) -> SinkFactory<Value> {
    auto state = results.emplace_back().state_;
    return [state] { return std::make_unique<CollectSink<Value>>(state); };
  };
  graph_options.parallelism = parallelism;
  ExecutionContext ctx = JsGraphBuilder(job, graph_options).build();
  ExecutionOptions execution;
  execution.parallelism = parallelism;
  ctx.execute(execution);
  std::vector<std::string> out;
  for (const auto& result : results)
    for (const auto& v : result.values())
      out.push_back(v.isString() ? std::string(v.asString()) : v.toJson());
  return sorted(out);
}

// Line 3 is malformed and line 5 blank; the others are processed.
const std::string kRows =
    "{\"k\":\"a\",\"t\":1000,\"v\":1}\n"
    "{\"k\":\"b\",\"t\":2000,\"v\":2}\n"
    "{\"k\":\"a\",\"t\":3000,\"v\":\n"
    "{\"k\":\"a\",\"t\":4000,\"v\":4}\n"
    "  \n"
    "{\"k\":\"b\",\"t\":12000,\"v\":8}\r\n";

}  // namespace

TEST_CASE("JSON lines through JavaScript operators: results, dead letters with file:line",
          "[js][json][job]") {
  TempFile file(kRows);
  const std::string timed =
      "ctx.fromSource(FileSource.jsonLines(ctx.param('input')))"
      ".assignTimestamps((e) => e.t, WatermarkStrategy.forMonotonousTimestamps())"
      ".keyBy((e) => e.k)";
  struct Case {
    std::string name, body;
    std::vector<std::string> expected;
  };
  const std::vector<Case> cases = {
      {"chain",
       "ctx.fromSource(FileSource.jsonLines(ctx.param('input')))"
       ".filter((e) => e.v > 1).map((e) => e.k + e.v).sink(Stdout.new());",
       {"a4", "b2", "b8"}},
      {"chain and keyBy into a rolling reduce",
       "ctx.fromSource(FileSource.jsonLines(ctx.param('input')))"
       ".map((e) => ({k: e.k, v: e.v})).keyBy((e) => e.k)"
       ".reduce((a, b) => ({k: a.k, v: a.v + b.v})).map((e) => e.k + ':' + e.v)"
       ".sink(Stdout.new());",
       {"a:1", "a:5", "b:10", "b:2"}},
      {"process",
       timed + ".process({ processElement(e, c, out) {"
               " const s = c.state.value('sum'); s.update((s.value() ?? 0) + e.v);"
               " out.collect(c.getCurrentKey() + ':' + s.value() + '@' + c.timestamp()); } })"
               ".sink(Stdout.new());",
       {"a:1@1000", "a:5@4000", "b:10@12000", "b:2@2000"}},
      {"window",
       timed + ".window(TumblingWindow.of(Time.seconds(10)))"
               ".aggregate({ createAccumulator: () => ({k: '', s: 0}),"
               " add: (e, a) => ({k: e.k, s: a.s + e.v}), getResult: (a) => a.k + ' ' + a.s,"
               " merge: (a, b) => ({k: a.k || b.k, s: a.s + b.s}) })"
               ".sink(Stdout.new());",
       {"a 5", "b 2", "b 8"}},
      {"a C++ sink after assignTimestamps",
       "ctx.fromSource(FileSource.jsonLines(ctx.param('input')))"
       ".assignTimestamps((e) => e.t).sink(Stdout.new());",
       {R"({"k":"a","t":1000,"v":1})", R"({"k":"a","t":4000,"v":4})",
        R"({"k":"b","t":12000,"v":8})", R"({"k":"b","t":2000,"v":2})"}},
  };
  for (const auto& c : cases) {
    for (int parallelism : {1, 2}) {
      INFO(c.name << " at parallelism " << parallelism);
      const std::string job =
          "const ctx = ExecutionContext.new('rows');\n" + c.body + "\nctx.execute();\n";
      DeadLetters dead;
      CHECK(runJob(job, file.path(), parallelism, dead.options()) == c.expected);
      REQUIRE(dead.letters.size() == 1);
      CHECK(dead.letters[0]["record"] == Value("{\"k\":\"a\",\"t\":3000,\"v\":"));
      CHECK_THAT(std::string(dead.letters[0]["error"].asString()),
                 Catch::StartsWith(file.path() + ":3: invalid JSON at offset"));
      // Without the dead-letter policy the job fails naming the file and line.
      CHECK_THROWS_WITH(runJob(job, file.path(), parallelism),
                        Catch::Contains(file.path() + ":3: invalid JSON"));
    }
  }
}

TEST_CASE("a UDF that throws on a JSON line sends the parsed record to the dead letters",
          "[js][json][job]") {
  TempFile file("{\"n\":1}\n{\"n\":2}\n{\"n\":3}\n{\"n\":4}\n");
  for (const char* body : {
           ".map((e) => { if (e.n === 3) throw new Error('no 3'); return e.n * 10; })",
           ".assignTimestamps((e) => { if (e.n === 3) throw new Error('no 3'); return e.n; })"
           ".map((e) => e.n * 10)",
           ".keyBy((e) => { if (e.n === 3) throw new Error('no 3'); return e.n % 2; })"
           ".process({ processElement(e, c, out) { out.collect(e.n * 10); } })",
           // assignTimestamps fused into the keyBy: either function throwing.
           ".assignTimestamps((e) => { if (e.n === 3) throw new Error('no 3'); return e.n; })"
           ".keyBy((e) => e.n % 2)"
           ".process({ processElement(e, c, out) { out.collect(e.n * 10); } })",
           ".assignTimestamps((e) => e.n)"
           ".keyBy((e) => { if (e.n === 3) throw new Error('no 3'); return e.n % 2; })"
           ".window(TumblingWindow.of(Time.seconds(1)))"
           ".aggregate({ createAccumulator: () => [], add: (e, a) => a.concat([e.n * 10]),"
           " getResult: (a) => a, merge: (a, b) => a.concat(b) })"
           ".flatMap((a) => a)",
       }) {
    for (int parallelism : {1, 2}) {
      INFO(body << " at parallelism " << parallelism);
      DeadLetters dead;
      const std::string job = std::string("const ctx = ExecutionContext.new('rows');\n") +
                              "ctx.fromSource(FileSource.jsonLines(ctx.param('input')))" + body +
                              ".sink(Stdout.new());\nctx.execute();\n";
      CHECK(runJob(job, file.path(), parallelism, dead.options()) ==
            std::vector<std::string>{"10", "20", "40"});
      REQUIRE(dead.letters.size() == 1);
      CHECK(dead.letters[0]["record"] == Value::parseJson(R"({"n":3})"));
    }
  }
}

TEST_CASE("assignTimestamps fused into keyBy emits the watermarks of the two operators apart",
          "[js][json][job]") {
  std::string rows;
  for (int n = 1; n <= 5000; ++n) rows += fmt::format("{{\"n\":{},\"t\":{}}}\n", n, n * 10);
  TempFile file(rows);
  for (const char* strategy : {"WatermarkStrategy.forMonotonousTimestamps()",
                               "WatermarkStrategy.boundedOutOfOrderness(Time.milliseconds(50))"}) {
    auto job = [&](const char* before) {
      return fmt::format(
          "const ctx = ExecutionContext.new('rows');\n"
          "ctx.fromSource(FileSource.jsonLines(ctx.param('input'))){}"
          ".assignTimestamps((e) => e.t, {}).keyBy((e) => e.n % 7)"
          ".process({{ processElement(e, c, out) {{"
          " out.collect(e.n + ' ' + c.timestamp() + ' ' + c.timerService().currentWatermark());"
          " }} }}).sink(Stdout.new());\nctx.execute();\n",
          before, strategy);
    };
    INFO(strategy);
    // Fused over JSON texts, and apart (a chain before assignTimestamps makes Values of them).
    std::vector<std::string> fused = runJob(job(""), file.path(), 1);
    std::vector<std::string> apart = runJob(job(".filter(() => true)"), file.path(), 1);
    REQUIRE(fused.size() == 5000);
    CHECK(fused == apart);
    // The watermark moved while the input was read (not only at its end).
    std::size_t advanced = 0;
    for (const auto& line : fused) {
      std::istringstream in(line);
      long long n = 0, t = 0;
      double watermark = 0;
      in >> n >> t >> watermark;
      CHECK(t == n * 10);
      CHECK(watermark < static_cast<double>(t));
      if (watermark > 0) ++advanced;
    }
    CHECK(advanced > 1000);
  }
}

TEST_CASE("a job over JSON texts restores from a checkpoint mid-file exactly once, at p1 and p2",
          "[js][json][job]") {
  constexpr int kKeys = 10, kPerKey = 100000;
  std::string rows;
  for (int i = 0; i < kKeys * kPerKey; ++i) rows += fmt::format("{{\"k\":{}}}\n", i % kKeys);
  TempFile file(rows);
  const std::string source =
      "const ctx = ExecutionContext.new('counts');\n"
      "ctx.fromSource(FileSource.jsonLines(ctx.param('input')))"
      ".assignTimestamps((e) => 0).keyBy((e) => e.k)"
      ".process({ processElement(e, c, out) { const n = c.state.value('n');"
      " n.update((n.value() ?? 0) + 1); out.collect(e.k + ' ' + n.value()); } })"
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
    // Mid-file: once some outputs came (not before the job's isolates started).
    REQUIRE(eventually([&] {
      std::size_t n = 0;
      for (const auto& r : first_results) n += r.size();
      return n >= 20000;
    }));
    auto snapshot = std::make_shared<Snapshot>(running.triggerCheckpoint());
    running.cancel();
    running.wait();
    REQUIRE(!snapshot->final);  // taken mid-file

    std::vector<CollectResult<Value>> results;
    ExecutionContext second_run = build(results, second);
    execution.parallelism = second;
    execution.restore = snapshot;
    second_run.execute(execution);
    // The sinks' outputs (the collecting sink restores what it had at the checkpoint): each
    // key's counts 1..kPerKey, each once: no line lost or read twice across the restore.
    std::map<int, std::vector<long long>> counts;
    for (const auto& r : results)
      for (const auto& v : r.values()) {
        std::istringstream in{std::string(v.asString())};
        int key = 0;
        long long n = 0;
        in >> key >> n;
        counts[key].push_back(n);
      }
    REQUIRE(counts.size() == kKeys);
    std::vector<long long> expected(kPerKey);
    for (int i = 0; i < kPerKey; ++i) expected[static_cast<std::size_t>(i)] = i + 1;
    for (auto& [key, ns] : counts) {
      INFO("key " << key);
      std::sort(ns.begin(), ns.end());
      CHECK(ns == expected);
    }
  }
}

// Measures the choice of one JSON.parse per batch over one per line (docs/typescript-jobs.md):
// `js_test "[.bench]" -s` prints both.
TEST_CASE("JSON lines into V8: one JSON.parse per batch against one per line", "[.bench]") {
  JsIsolate js;
  JsIsolate::Scope scope(js);
  v8::Isolate* isolate = js.isolate();
  v8::TryCatch try_catch(isolate);
  ValueConverter convert(isolate, js.context());
  Batch<Value> batch;
  for (int i = 0; i < 1024; ++i)
    batch.push_back(Element<Value>{
        Value(fmt::format(R"({{"auction":{},"bidder":{},"price":{},"time":{}}})", i % 1000,
                          i * 7 % 10000, i * 13 % 10000, 1767225600000 + i)),
        kMinTimestamp});
  auto project = [](const Element<Value>& e) -> const Value& { return e.value; };
  constexpr int kBatches = 500;
  auto time = [&](auto&& parse) {
    auto start = std::chrono::steady_clock::now();
    for (int b = 0; b < kBatches; ++b) {
      v8::HandleScope handles(isolate);
      REQUIRE(parse()->Length() == batch.size());
    }
    return std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - start)
               .count() /
           (kBatches * static_cast<double>(batch.size()));
  };
  std::vector<v8::Local<v8::Value>> items(batch.size());
  for (int round = 0; round < 2; ++round) {
    double per_batch = time([&] { return convert.parseJsonTexts(batch, 0, project); });
    double per_line = time([&] {
      for (std::size_t i = 0; i < batch.size(); ++i)
        items[i] = v8::JSON::Parse(js.context(), convert.toJsText(batch[i].value.asString()))
                       .ToLocalChecked();
      return v8::Array::New(isolate, items.data(), items.size());
    });
    std::printf(
        "JSON lines into V8: one JSON.parse per batch %.0f ns/line, one per line %.0f "
        "ns/line\n",
        per_batch, per_line);
  }
}
