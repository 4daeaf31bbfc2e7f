// JsIsolate: evaluation, calls, errors with positions, the sandbox, the watchdog, the heap limit.
#include "js_isolate.hpp"

#include <unistd.h>
#include <catch2/catch.hpp>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <latch>
#include <sstream>
#include <thread>
#include <vector>

#include "lightflus/error.hpp"
#include "strings.hpp"

using lightflus::UserCodeError;
using lightflus::js::ConsoleLevel;
using lightflus::js::JsIsolate;
using lightflus::js::JsIsolateOptions;
using lightflus::js::toStdString;
using namespace std::chrono_literals;

namespace {

// What a UserCodeError thrown by `f` says.
template <typename F>
std::string userCodeErrorOf(F&& f) {
  try {
    f();
  } catch (const UserCodeError& error) {
    return error.what();
  }
  FAIL("no UserCodeError was thrown");
  return {};
}

double callNumber(JsIsolate& js, std::string_view function, double argument) {
  v8::Local<v8::Value> args[] = {v8::Number::New(js.isolate(), argument)};
  return js.callGlobal(function, args).As<v8::Number>()->Value();
}

std::string evaluateToString(JsIsolate& js, std::string_view source) {
  return toStdString(js.isolate(), js.evaluate(source, "test.js"));
}

}  // namespace

TEST_CASE("a script's global functions can be called from C++", "[js]") {
  JsIsolate js;
  JsIsolate::Scope scope(js);
  js.evaluate("function twice(x) { return 2 * x; }", "job.js");
  CHECK(callNumber(js, "twice", 21) == 42);
  CHECK(evaluateToString(js, "twice(4) + 1") == "9");
}

TEST_CASE("a call to a function the script does not define is a ConfigError", "[js]") {
  JsIsolate js;
  JsIsolate::Scope scope(js);
  CHECK_THROWS_AS(js.callGlobal("missing"), lightflus::ConfigError);
}

TEST_CASE("a syntax error names the file, line and column", "[js]") {
  JsIsolate js;
  JsIsolate::Scope scope(js);
  // "let b = ;": the ';' is the 9th character of line 2.
  CHECK(userCodeErrorOf([&] { js.evaluate("let a = 1;\nlet b = ;\n", "job.js"); }) ==
        "job.js:2:9: SyntaxError: Unexpected token ';'");
  // With 10 lines before the script in its file, the same error is on line 12.
  CHECK(userCodeErrorOf([&] { js.evaluate("let a = 1;\nlet b = ;\n", "job.js", 10); }) ==
        "job.js:12:9: SyntaxError: Unexpected token ';'");
}

TEST_CASE("an exception at the top level of a script names the file, line and column", "[js]") {
  JsIsolate js;
  JsIsolate::Scope scope(js);
  // `foo` starts at column 9 of line 3.
  CHECK(userCodeErrorOf([&] { js.evaluate("let a = 1;\n\nlet b = foo + a;\n", "job.js"); }) ==
        "job.js:3:9: ReferenceError: foo is not defined");
}

TEST_CASE("an exception thrown by a called function names the operator, message and line", "[js]") {
  JsIsolate js;
  JsIsolate::Scope scope(js);
  js.evaluate(
      "function map(x) {\n"
      "  if (x > 1) {\n"
      "    throw new Error('boom');\n"
      "  }\n"
      "  return x;\n"
      "}\n",
      "job.js");
  v8::Local<v8::Value> args[] = {v8::Number::New(js.isolate(), 2)};
  // V8 reports where the exception was thrown: `throw` is at column 5 of line 3.
  CHECK(userCodeErrorOf([&] {
          js.call("operator 'map'", js.globalFunction("map"), js.context()->Global(), args);
        }) == "operator 'map': Error: boom (at job.js:3:5)");
  // A value that is not an Error is reported as String(value) does.
  js.evaluate("function fail() { throw 42; }", "other.js");
  CHECK(userCodeErrorOf([&] { js.callGlobal("fail"); }) ==
        "function 'fail': 42 (at other.js:1:19)");
}

TEST_CASE("a promise rejected without a handler fails the call that made it", "[js]") {
  JsIsolate js;
  JsIsolate::Scope scope(js);
  // The async function throws after an await, in a microtask, after main() has returned. A
  // rejection is located where its Error was made: `new` at column 9.
  CHECK(userCodeErrorOf([&] {
          js.evaluate(
              "async function main() {\n"
              "  await null;\n"
              "  throw new Error('no brokers');\n"
              "}\n"
              "main();\n",
              "job.js");
        }) == "job.js:3:9: unhandled promise rejection: Error: no brokers");
  // A rejection that is handled, even late in the same call, is no error.
  CHECK(evaluateToString(js,
                         "const p = Promise.reject(new Error('x'));\n"
                         "p.catch(() => {});\n"
                         "'fine'") == "fine");
  js.evaluate("async function udf() { throw new TypeError('bad record'); }", "udf.js");
  CHECK(userCodeErrorOf(
            [&] { js.call("operator 'map'", js.globalFunction("udf"), js.context()->Global()); }) ==
        "operator 'map': unhandled promise rejection: TypeError: bad record (at udf.js:1:30)");
}

TEST_CASE("endless recursion is a RangeError, and the isolate stays usable", "[js]") {
  JsIsolate js;
  JsIsolate::Scope scope(js);
  js.evaluate("function down(n) { return down(n + 1) + 1; }", "job.js");
  CHECK_THAT(userCodeErrorOf([&] { js.callGlobal("down"); }),
             Catch::StartsWith(
                 "function 'down': RangeError: Maximum call stack size exceeded (at job.js:1:"));
  CHECK(evaluateToString(js, "typeof down") == "function");
}

TEST_CASE("the sandbox has no require, process, module, network or WebAssembly", "[js]") {
  JsIsolate js;
  JsIsolate::Scope scope(js);
  for (const char* name :
       {"require", "process", "module", "exports", "fetch", "XMLHttpRequest", "WebSocket", "Deno",
        "Buffer", "setTimeout", "WebAssembly", "global", "importScripts", "os", "fs"}) {
    INFO(name);
    CHECK(evaluateToString(js, std::string("typeof ") + name) == "undefined");
  }
  CHECK(evaluateToString(js, "typeof console.log") == "function");
  CHECK(evaluateToString(js, "typeof JSON.parse") == "function");
  CHECK(evaluateToString(js, "(1234.5).toFixed(1)") == "1234.5");
  // ICU comes from the system's libicu72: Intl works.
  CHECK(evaluateToString(js, "new Intl.NumberFormat('de-DE').format(1234.5)") == "1.234,5");
  // A dynamic import finds no module loader: the promise rejects, nothing is read from disk.
  CHECK(evaluateToString(js,
                         "let state = 'pending';\n"
                         "import('fs').then(() => state = 'loaded', () => state = 'rejected');\n"
                         "state") == "pending");
}

TEST_CASE("console output reaches the sink, one line per call", "[js]") {
  std::vector<std::pair<ConsoleLevel, std::string>> lines;
  JsIsolate js({.job_name = "wordcount", .console = [&](ConsoleLevel level, std::string_view line) {
                  lines.emplace_back(level, std::string(line));
                }});
  JsIsolate::Scope scope(js);
  js.evaluate("console.log('count', 3, {word: 'a'}, [1, 2]); console.error(new Error('bad'));",
              "job.js");
  REQUIRE(lines.size() == 2);
  CHECK(lines[0] == std::pair{ConsoleLevel::kLog, std::string("count 3 {\"word\":\"a\"} [1,2]")});
  CHECK(lines[1] == std::pair{ConsoleLevel::kError, std::string("Error: bad")});
}

TEST_CASE("the default console writes to stderr behind the job name", "[js]") {
  std::FILE* capture = std::tmpfile();
  REQUIRE(capture != nullptr);
  std::fflush(stderr);
  int saved = ::dup(STDERR_FILENO);
  ::dup2(::fileno(capture), STDERR_FILENO);
  {
    JsIsolate js({.job_name = "wordcount"});
    JsIsolate::Scope scope(js);
    js.evaluate("console.log('hello', 1); console.error('oops');", "job.js");
  }
  std::fflush(stderr);
  ::dup2(saved, STDERR_FILENO);
  ::close(saved);
  std::rewind(capture);
  std::string text(4096, '\0');
  text.resize(std::fread(text.data(), 1, text.size(), capture));
  std::fclose(capture);
  CHECK(text == "[wordcount] hello 1\n[wordcount] error: oops\n");
}

TEST_CASE("the watchdog terminates an endless call within its time limit", "[js]") {
  JsIsolate js({.time_limit = 200ms});
  JsIsolate::Scope scope(js);
  js.evaluate("function spin() { for (;;) {} }\nfunction twice(x) { return 2 * x; }", "job.js");
  auto start = std::chrono::steady_clock::now();
  CHECK(userCodeErrorOf([&] {
          js.call("operator 'map'", js.globalFunction("spin"), js.context()->Global());
        }) == "operator 'map': user function exceeded the 200 ms time limit");
  auto elapsed = std::chrono::steady_clock::now() - start;
  CHECK(elapsed >= 200ms);
  CHECK(elapsed < 2s);
  // The isolate stays usable, and the next calls are not cut short.
  CHECK(callNumber(js, "twice", 4) == 8);
  CHECK(evaluateToString(js, "let n = 0; for (let i = 0; i < 1000; ++i) n += i; n") == "499500");
}

TEST_CASE("the watchdog terminates an endless script", "[js]") {
  JsIsolate js({.time_limit = 200ms});
  JsIsolate::Scope scope(js);
  CHECK(userCodeErrorOf([&] { js.evaluate("while (true) {}", "job.js"); }) ==
        "job.js: script exceeded the 200 ms time limit");
  CHECK(evaluateToString(js, "1 + 1") == "2");
}

TEST_CASE("an endless microtask chain is cut off and fails the call or script", "[js]") {
  JsIsolate js({.time_limit = 200ms});
  JsIsolate::Scope scope(js);
  // The function returns at once; the promise jobs it queued never end. They run inside the
  // call's time, and being cut off is the call's error, not a success.
  js.evaluate("function chain() { const next = () => Promise.resolve().then(next); next(); }",
              "job.js");
  CHECK(userCodeErrorOf([&] {
          js.call("operator 'map'", js.globalFunction("chain"), js.context()->Global());
        }) == "operator 'map': user function exceeded the 200 ms time limit");
  CHECK(userCodeErrorOf([&] {
          js.evaluate("(async () => { for (;;) await null; })(); 1", "job.js");
        }) == "job.js: script exceeded the 200 ms time limit");
  // The queue the cut-off chains left behind does not run into the next call.
  CHECK(evaluateToString(js, "1 + 1") == "2");
}

TEST_CASE("many short calls are never cut short by the watchdog", "[js]") {
  // The limit is wall-clock time: it must stay well above how long a loaded CI machine may
  // deschedule this thread in the middle of a call.
  JsIsolate js({.time_limit = 400ms});
  JsIsolate::Scope scope(js);
  js.evaluate("function work(x) { let s = 0; for (let i = 0; i < 1000; ++i) s += i; return x; }",
              "job.js");
  // 1.2 s of calls, each far below the limit, spanning several limit periods.
  auto end = std::chrono::steady_clock::now() + 1200ms;
  int calls = 0;
  while (std::chrono::steady_clock::now() < end) {
    v8::HandleScope handles(js.isolate());
    REQUIRE(callNumber(js, "work", calls) == calls);
    ++calls;
  }
  CHECK(calls > 100);
}

TEST_CASE("runaway allocation hits the heap limit without ending the process", "[js]") {
  {
    JsIsolate js({.heap_limit = std::size_t{64} << 20});
    JsIsolate::Scope scope(js);
    js.evaluate(
        "const kept = [];\n"
        "function grow() { for (let i = 0; ; ++i) kept.push({i, s: 'item ' + i}); }\n",
        "job.js");
    std::string error = userCodeErrorOf([&] { js.callGlobal("grow"); });
    CHECK_THAT(error,
               Catch::StartsWith("function 'grow': JavaScript heap limit of 64 MiB exceeded"));
    CHECK(js.outOfMemory());
    // The isolate is discarded: it refuses further work with a clear message.
    CHECK_THAT(userCodeErrorOf([&] { js.evaluate("1", "job.js"); }),
               Catch::Contains("isolate was discarded"));
  }
  // A new isolate works.
  JsIsolate js({.heap_limit = std::size_t{64} << 20});
  JsIsolate::Scope scope(js);
  CHECK(evaluateToString(js, "'still ' + 'alive'") == "still alive");
}

TEST_CASE("keyed state that grows without bound hits the heap limit", "[js]") {
  // A Map doubles its table as it grows: a large single allocation near the limit, which the
  // headroom above the limit must absorb.
  JsIsolate js({.heap_limit = std::size_t{64} << 20});
  JsIsolate::Scope scope(js);
  CHECK_THAT(userCodeErrorOf([&] {
               js.evaluate(
                   "const state = new Map();\n"
                   "for (let key = 0; ; ++key) state.set(key, {key, count: 1});\n",
                   "job.js");
             }),
             Catch::StartsWith("job.js: JavaScript heap limit of 64 MiB exceeded"));
}

TEST_CASE("ArrayBuffers beyond the budget throw a catchable RangeError", "[js]") {
  JsIsolate js({.heap_limit = std::size_t{64} << 20});
  JsIsolate::Scope scope(js);
  CHECK(evaluateToString(js,
                         "let result;\n"
                         "try { new ArrayBuffer(128 * 1024 * 1024); result = 'allocated'; }\n"
                         "catch (e) { result = e.name; }\n"
                         "result") == "RangeError");
  CHECK(evaluateToString(js, "new Uint8Array(1024 * 1024).length") == "1048576");
}

TEST_CASE("a CommonJS module gets exports, require and module", "[js]") {
  JsIsolate js;
  JsIsolate::Scope scope(js);
  v8::Local<v8::Value> require = js.evaluate("(name) => ({greeting: 'hello ' + name})", "host.js");
  v8::Local<v8::Value> exports = js.evaluateModule(
      "const api = require('world');\n"
      "exports.message = api.greeting;\n"
      "module.exports.twice = (x) => 2 * x;\n",
      "job.js", require.As<v8::Function>());
  v8::Local<v8::Context> context = js.context();
  auto message = exports.As<v8::Object>()
                     ->Get(context, lightflus::js::toJsString(js.isolate(), "message"))
                     .ToLocalChecked();
  CHECK(toStdString(js.isolate(), message) == "hello world");
  CHECK_THAT(userCodeErrorOf([&] {
               js.evaluateModule("\n  throw new TypeError('no');", "bad.js",
                                 require.As<v8::Function>());
             }),
             Catch::Equals("bad.js:2:3: TypeError: no"));
}

TEST_CASE("an isolate made on one thread can be used on another", "[js]") {
  JsIsolate js;
  {
    JsIsolate::Scope scope(js);
    js.evaluate("function twice(x) { return 2 * x; }", "job.js");
  }
  double result = 0;
  std::thread([&] {
    JsIsolate::Scope scope(js);
    result = callNumber(js, "twice", 5);
  }).join();
  CHECK(result == 10);
}

TEST_CASE("two isolates on two threads run at the same time", "[js]") {
  constexpr int kCalls = 20000;
  std::latch both_ready(2);
  auto worker = [&](double factor, double& sum) {
    JsIsolate js;
    JsIsolate::Scope scope(js);
    js.evaluate("const factor = " + std::to_string(factor) + ";\n" +
                    "function scale(x) { return factor * x; }",
                "job.js");
    both_ready.arrive_and_wait();
    for (int i = 0; i < kCalls; ++i) {
      v8::HandleScope handles(js.isolate());
      sum += callNumber(js, "scale", i);
    }
  };
  double sum_a = 0, sum_b = 0;
  std::thread a(worker, 2.0, std::ref(sum_a));
  std::thread b(worker, 3.0, std::ref(sum_b));
  a.join();
  b.join();
  double expected = 0;  // sum of 0 .. kCalls-1
  for (int i = 0; i < kCalls; ++i) expected += i;
  CHECK(sum_a == 2 * expected);
  CHECK(sum_b == 3 * expected);
}
