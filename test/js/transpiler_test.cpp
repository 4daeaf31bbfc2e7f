// Transpiler: TypeScript to CommonJS inside V8, diagnostics, positions through source maps.
#include "transpiler.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <thread>

#include "lightflus/error.hpp"
#include "strings.hpp"

using lightflus::UserCodeError;
using lightflus::js::JsIsolate;
using lightflus::js::toJsString;
using lightflus::js::toStdString;
using lightflus::js::TranspiledModule;
using lightflus::js::Transpiler;

namespace {

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

// module.exports[name] as a string.
std::string exported(JsIsolate& js, v8::Local<v8::Value> exports, std::string_view name) {
  v8::Local<v8::Value> value =
      exports.As<v8::Object>()->Get(js.context(), toJsString(js.isolate(), name)).ToLocalChecked();
  return toStdString(js.isolate(), value);
}

// A require() that knows one module, the original API's context module, with a stub
// ExecutionContext.new(name, namespace) that returns "name/namespace".
v8::Local<v8::Function> stubRequire(JsIsolate& js) {
  return js
      .evaluate(
          "(path) => {\n"
          "  if (path !== 'lightflus-api/src/stream/context') throw new Error('no ' + path);\n"
          "  return {context: {ExecutionContext: {new: (name, ns) => name + '/' + ns}}};\n"
          "}",
          "host.js")
      .As<v8::Function>();
}

}  // namespace

TEST_CASE("TypeScript is transpiled to a CommonJS module without its types", "[js]") {
  TranspiledModule module = Transpiler::shared().transpile(
      "const base: number = 1;\n"
      "export function twice(x: number): number { return 2 * x + base - 1; }\n",
      "job.ts");
  CHECK_THAT(module.javascript, Catch::Contains("function twice(x) { return 2 * x + base - 1; }") &&
                                    Catch::Contains("exports.twice = twice;") &&
                                    !Catch::Contains(": number") &&
                                    !Catch::Contains("sourceMappingURL"));
  CHECK_FALSE(module.source_map.empty());
  CHECK(Transpiler::typescriptVersion() == "5.9.3");
}

TEST_CASE("a syntax error in TypeScript names job.ts, the line and the column", "[js]") {
  // Line 2, "const b = (;": the expression expected after '(' is missing at column 12.
  CHECK(userCodeErrorOf([] {
          Transpiler::shared().transpile("const a: number = 1;\nconst b = (;\n", "job.ts");
        }) == "job.ts:2:12: error TS1109: Expression expected.");
}

TEST_CASE("the original API's import-equals keeps the context import as a require call", "[js]") {
  TranspiledModule module = Transpiler::shared().transpile(
      "import { context } from \"lightflus-api/src/stream/context\";\n"
      "import ExecutionContext = context.ExecutionContext;\n"
      "export const ctx = ExecutionContext.new(\"wordcount\", \"default\");\n",
      "job.ts");
  CHECK_THAT(module.javascript, Catch::Contains("require(\"lightflus-api/src/stream/context\")") &&
                                    Catch::Contains(".context.ExecutionContext"));
  // And the module runs: `context` is bound when ExecutionContext is used.
  JsIsolate js;
  JsIsolate::Scope scope(js);
  v8::Local<v8::Value> exports = js.evaluateModule(module.javascript, "job.ts", stubRequire(js));
  CHECK(exported(js, exports, "ctx") == "wordcount/default");
}

TEST_CASE("type-only imports are dropped", "[js]") {
  TranspiledModule module = Transpiler::shared().transpile(
      "import type { Options } from \"lightflus\";\n"
      "import { Word } from \"./types\";\n"
      "import { count } from \"./values\";\n"
      "let options: Options | undefined;\n"
      "let word: Word | undefined;\n"
      "export const n = count(options, word);\n",
      "job.ts");
  CHECK_THAT(module.javascript, Catch::Contains("require(\"./values\")") &&
                                    !Catch::Contains("require(\"lightflus\")") &&
                                    !Catch::Contains("require(\"./types\")"));
}

TEST_CASE("errors in transpiled code are reported at the TypeScript line and column", "[js]") {
  // The type-only import, the interface and the blank line are not in the JavaScript, and
  // the module gains a prologue: without the source map every line number would be off.
  const char* source =
      "import type { Options } from \"lightflus\";\n"     // 1
      "interface Word {\n"                                // 2
      "  text: string;\n"                                 // 3
      "}\n"                                               // 4
      "\n"                                                // 5
      "export function check(word: Word): number {\n"     // 6
      "  if (word.text.length > 3) {\n"                   // 7
      "    throw new Error(`too long: ${word.text}`);\n"  // 8: `throw` at column 5
      "  }\n"                                             // 9
      "  return word.text.length;\n"                      // 10
      "}\n"                                               // 11
      "export function later(o?: Options): number { const total: number = missing + 1; return "
      "total; }\n";  // 12
  TranspiledModule module = Transpiler::shared().transpile(source, "job.ts");
  JsIsolate js;
  JsIsolate::Scope scope(js);
  js.addSourceMap("job.ts", module.source_map);
  v8::Local<v8::Object> exports =
      js.evaluateModule(module.javascript, "job.ts", stubRequire(js)).As<v8::Object>();
  auto function = [&](std::string_view name) {
    return exports->Get(js.context(), toJsString(js.isolate(), name))
        .ToLocalChecked()
        .As<v8::Function>();
  };
  v8::Local<v8::Value> word = js.evaluate("({text: 'hello'})", "data.js");
  CHECK(userCodeErrorOf([&] {
          js.call("operator 'filter'", function("check"), exports, {&word, 1});
        }) == "operator 'filter': Error: too long: hello (at job.ts:8:5)");
  // `missing` is at column 68 of line 12.
  CHECK(userCodeErrorOf([&] { js.call("operator 'map'", function("later"), exports); }) ==
        "operator 'map': ReferenceError: missing is not defined (at job.ts:12:68)");
}

TEST_CASE("the embedded V8 code cache of typescript.js is accepted", "[js]") {
  CHECK(Transpiler::shared().codeCacheAccepted());
}

TEST_CASE("two threads can transpile at the same time", "[js]") {
  std::string a, b;
  std::thread first([&] {
    a = Transpiler::shared().transpile("export const a: number = 1;", "a.ts").javascript;
  });
  std::thread second([&] {
    b = Transpiler::shared().transpile("export const b: string = 'b';", "b.ts").javascript;
  });
  first.join();
  second.join();
  CHECK_THAT(a, Catch::Contains("exports.a = 1;"));
  CHECK_THAT(b, Catch::Contains("exports.b = 'b';"));
}
