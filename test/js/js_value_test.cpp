// ValueConverter: Values to V8 values and back, with JSON's rules; and (hidden, [.bench]) the
// measurement behind choosing the recursive converter over JSON.stringify/parse.
#include <catch2/catch.hpp>

#include <chrono>
#include <cstdio>
#include <string>

#include "js_blocks.hpp"
#include "js_isolate.hpp"
#include "js_value.hpp"
#include "lightflus/detail/channel.hpp"
#include "lightflus/error.hpp"
#include "strings.hpp"

using namespace lightflus;
using namespace lightflus::js;

namespace {

// Evaluates `expression` and converts its value.
Value fromJs(JsIsolate& js, const std::string& expression) {
  ValueConverter convert(js.isolate(), js.context());
  return convert.fromJs(js.evaluate("(" + expression + ")", "test.js"));
}

}  // namespace

TEST_CASE("Values survive a round trip through JavaScript", "[js][value]") {
  JsIsolate js;
  JsIsolate::Scope scope(js);
  ValueConverter convert(js.isolate(), js.context());
  Value v = Value::parseJson(
      R"({"s":"grüße, 世界","i":-42,"big":9007199254740992,"d":2.5,"t":true,"n":null,)"
      R"("a":[1,"two",[3.5],{"four":4}],"o":{"nested":{"deep":[]}},"empty":{}})");
  Value back = convert.fromJs(convert.toJs(v));
  CHECK(back == v);
  CHECK(back.toJson() == v.toJson());
  CHECK(convert.fromJsViaJson(convert.toJsViaJson(v)) == v);
}

TEST_CASE("text reaches V8 intact whether it is ASCII or not, wherever a non-ASCII byte is",
          "[js][value]") {
  JsIsolate js;
  JsIsolate::Scope scope(js);
  ValueConverter convert(js.isolate(), js.context());
  for (std::size_t length = 0; length <= 19; ++length) {
    const std::string ascii(length, 'a');
    CHECK(toStdString(js.isolate(), convert.toJsText(ascii)) == ascii);
    for (std::size_t at = 0; at < length; ++at) {
      // "\xc3\xa9" (é) at `at`, in the 8-byte words or in the tail.
      std::string text = ascii.substr(0, at) + "\xc3\xa9" + ascii.substr(at);
      v8::Local<v8::String> s = convert.toJsText(text);
      CHECK(s->Length() == static_cast<int>(length + 1));
      CHECK(toStdString(js.isolate(), s) == text);
    }
  }
}

TEST_CASE("JavaScript values convert as JSON.stringify would", "[js][value]") {
  JsIsolate js;
  JsIsolate::Scope scope(js);
  CHECK(fromJs(js, "{ a: 1, u: undefined, f() {}, b: [undefined, () => 1, NaN, Infinity] }")
            .toJson() == R"({"a":1,"b":[null,null,null,null]})");
  CHECK(fromJs(js, "-0").toJson() == "0");
  CHECK(fromJs(js, "1.5").toJson() == "1.5");
  CHECK(fromJs(js, "2 ** 60").isDouble());
  CHECK(fromJs(js, "new Date(0)") == Value("1970-01-01T00:00:00.000Z"));
  CHECK(fromJs(js, "new Map([[1, 2]])").toJson() == "{}");
  CHECK(fromJs(js, "new (class Tuple2 { constructor() { this.t0 = 'a'; this.t1 = 2; } })()")
            .toJson() == R"({"t0":"a","t1":2})");
  CHECK(fromJs(js, "{ [Symbol('s')]: 1, 2: 'two' }").toJson() == R"({"2":"two"})");
  CHECK_THROWS_AS(fromJs(js, "10n"), UserCodeError);
  CHECK_THROWS_WITH(fromJs(js, "(() => { const o = {}; o.self = o; return o; })()"),
                    Catch::Contains("deeper than 1000 levels"));
}

// Measures both ways of converting small objects and strings; run with
// `js_test "[.bench]" -s` (numbers go to stdout).
TEST_CASE("conversion of small objects: recursive converter against JSON", "[.bench]") {
  JsIsolate js;
  JsIsolate::Scope scope(js);
  ValueConverter convert(js.isolate(), js.context());
  const int n = 200'000;
  std::vector<Value> objects, strings;
  for (int i = 0; i < n; ++i) {
    Value o = Value::object();
    o["word"] = "word" + std::to_string(i % 1000);
    o["count"] = i;
    o["score"] = i * 0.5;
    objects.push_back(o);
    strings.push_back(Value("word" + std::to_string(i % 1000)));
  }
  auto time = [&](const char* what, auto&& body) {
    auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < n; ++i) {
      v8::HandleScope handles(js.isolate());
      body(i);
    }
    double ns =
        std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - start).count() /
        n;
    std::printf("%-44s %7.0f ns per element\n", what, ns);
  };
  for (int round = 0; round < 2; ++round) {
    time("object -> JS, recursive (CreateDataProperty)", [&](int i) { convert.toJs(objects[i]); });
    time("object -> JS, toJson + JSON.parse", [&](int i) { convert.toJsViaJson(objects[i]); });
    v8::Local<v8::Value> js_object = convert.toJs(objects[0]);
    time("JS object -> Value, recursive", [&](int) { convert.fromJs(js_object); });
    time("JS object -> Value, JSON.stringify + parseJson",
         [&](int) { convert.fromJsViaJson(js_object); });
    // A whole batch of 1000 in one JSON text (per element).
    time("1000 objects -> JS, one JSON.parse", [&](int i) {
      if (i % 1000 != 0) return;
      std::vector<Value> part(objects.begin() + i, objects.begin() + i + 1000);
      convert.toJsViaJson(Value(std::move(part)));
    });
    v8::Local<v8::Value> batch =
        convert.toJs(Value(std::vector<Value>(objects.begin(), objects.begin() + 1000)));
    time("1000 JS objects -> Values, one JSON.stringify", [&](int i) {
      if (i % 1000 == 0) convert.fromJsViaJson(batch);
    });
    time("string -> JS", [&](int i) { convert.toJs(strings[i]); });
    v8::Local<v8::Array> string_batch = v8::Array::New(js.isolate(), 1000);
    for (std::uint32_t i = 0; i < 1000; ++i)
      string_batch->Set(js.context(), i, convert.toJs(strings[i])).Check();
    time("1000 JS strings -> Values, one by one", [&](int i) {
      if (i % 1000 != 0) return;
      std::vector<Value> out;
      for (std::uint32_t j = 0; j < 1000; ++j)
        out.push_back(convert.fromJs(string_batch->Get(js.context(), j).ToLocalChecked()));
    });
    time("1000 JS strings -> Values, one JSON.stringify", [&](int i) {
      if (i % 1000 == 0) convert.fromJsViaJson(string_batch);
    });
    v8::Local<v8::Value> js_string = convert.toJs(strings[0]);
    time("JS string -> Value", [&](int) { convert.fromJs(js_string); });
  }
}

// Key-group blocks must land where the engine's hash exchange would send their elements:
// keyed state, snapshots and restores by key group depend on it.
TEST_CASE("key-group blocks route each element by its real key's key group", "[js][blocks]") {
  for (int max_parallelism : {128, 7, 1000}) {
    for (int g = 0; g < max_parallelism; ++g)
      REQUIRE(detail::keyGroupOf(routingKey(g, max_parallelism).hash(), max_parallelism) == g);
    KeyGroupBlocks blocks(max_parallelism);
    std::vector<Value> keys = {Value("a"),
                               Value("word"),
                               Value(""),
                               Value("quote\"d"),
                               Value("\xC3\xA9t\xC3\xA9"),
                               Value(0),
                               Value(-17),
                               Value(std::int64_t{1} << 40),
                               Value(2.5),
                               Value(true),
                               Value()};
    Value object = Value::object();
    object["user"] = "u1";
    keys.push_back(object);
    for (std::size_t i = 0; i < keys.size(); ++i)
      blocks.add(keys[i].toJson(), Value(static_cast<std::int64_t>(i)).toJson(),
                 static_cast<Timestamp>(1000 + i));
    Batch<KeyedValue> out;
    blocks.take(out);
    std::size_t seen = 0;
    for (const auto& e : out) {
      const int group = detail::keyGroupOf(e.value.first.hash(), max_parallelism);
      Value block = Value::parseJson(e.value.second.asString());
      for (std::size_t j = 0; j < block["k"].size(); ++j) {
        CHECK(detail::keyGroupOf(block["k"][j].hash(), max_parallelism) == group);
        const auto i = static_cast<std::size_t>(block["v"][j].asInt());
        CHECK(block["k"][j] == keys[i]);
        CHECK(block["t"][j].asInt() == static_cast<std::int64_t>(1000 + i));
        ++seen;
      }
    }
    CHECK(seen == keys.size());
  }
}

TEST_CASE("splitJsonArray finds the items of JSON.stringify's arrays", "[js][blocks]") {
  std::vector<std::pair<std::size_t, std::size_t>> spans;
  auto items = [&](std::string_view text) {
    std::vector<std::string> out;
    REQUIRE(splitJsonArray(text, spans));
    for (auto [b, e] : spans) out.emplace_back(text.substr(b, e - b));
    return out;
  };
  CHECK(items("[]").empty());
  CHECK(items("[1]") == std::vector<std::string>{"1"});
  CHECK(items(R"([1,"a,b",{"k":[1,2],"s":"}]\""},[[]],null,-2.5e3])") ==
        std::vector<std::string>{"1", R"("a,b")", R"({"k":[1,2],"s":"}]\""})", "[[]]", "null",
                                 "-2.5e3"});
  CHECK(items("[ 1 , \"x\" ]") == std::vector<std::string>{"1", "\"x\""});
  CHECK_FALSE(splitJsonArray("{\"a\":1}", spans));
  CHECK_FALSE(splitJsonArray("[1,2", spans));
}
