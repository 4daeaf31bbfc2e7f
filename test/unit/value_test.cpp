// Tests of lightflus::Value: types, access errors, JSON and binary codecs, copy-on-write,
// equality, hashing, ordering and sharing copies across threads.
#include "lightflus/value.hpp"

#include <atomic>
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <sstream>
#include <string>
#include <thread>
#include <unordered_set>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <catch2/catch.hpp>

#include <random>

#include "lightflus/error.hpp"

using Catch::Matchers::Contains;
using Catch::Matchers::Message;
using lightflus::Value;

namespace {

constexpr int64_t kInt64Max = std::numeric_limits<int64_t>::max();
constexpr int64_t kInt64Min = std::numeric_limits<int64_t>::min();

// One value of every type, nested.
Value sampleDocument() {
  Value doc;
  doc["id"] = 7;
  doc["price"] = 12.5;
  doc["name"] = "widget";
  doc["ok"] = true;
  doc["missing"] = nullptr;
  doc["tags"].push("a");
  doc["tags"].push(Value::Array{1, 2.25, Value::Object{{"deep", "yes"}}});
  doc["limits"] = Value::Array{kInt64Max, kInt64Min, -0.0, 1e300};
  return doc;
}

// The message of the E that f() throws, or a note that it threw none.
template <class E, class F>
std::string errorMessage(F&& f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  }
  return "(no exception of the expected type)";
}

}  // namespace

TEST_CASE("a Value reports the type it was constructed with", "[value]") {
  CHECK(sizeof(Value) == 16);
  CHECK(Value().isNull());
  CHECK(Value(nullptr).isNull());
  CHECK(Value(static_cast<const char*>(nullptr)).isNull());
  CHECK(Value(true).isBool());
  CHECK(Value(false).asBool() == false);
  CHECK(Value(42).isInt());
  CHECK(Value(uint8_t{200}).asInt() == 200);
  CHECK(Value(int64_t{-5}).asInt() == -5);
  CHECK(Value(uint64_t{kInt64Max}).asInt() == kInt64Max);
  CHECK(Value(std::numeric_limits<uint64_t>::max()).isDouble());
  CHECK(Value(std::numeric_limits<uint64_t>::max()).asDouble() == 18446744073709551615.0);
  CHECK(Value(1.5).isDouble());
  CHECK(Value(1.5f).asDouble() == 1.5);
  CHECK(Value("abc").asString() == "abc");
  CHECK(Value(std::string_view("ab\0c", 4)).size() == 4);
  CHECK(Value(std::string("xyz")).asString() == "xyz");
  CHECK(Value(Value::Array{1, "a"}).isArray());
  CHECK(Value(Value::Object{{"k", 1}}).isObject());
  CHECK(Value::array().size() == 0);
  CHECK(Value::object().size() == 0);

  CHECK(Value(3).isNumber());
  CHECK(Value(3.5).isNumber());
  CHECK_FALSE(Value("3").isNumber());

  CHECK(std::string(Value().typeName()) == "null");
  CHECK(std::string(Value(true).typeName()) == "bool");
  CHECK(std::string(Value(1).typeName()) == "int");
  CHECK(std::string(Value(1.0).typeName()) == "double");
  CHECK(std::string(Value("").typeName()) == "string");
  CHECK(std::string(Value::array().typeName()) == "array");
  CHECK(std::string(Value::object().typeName()) == "object");
  CHECK(Value::object().type() == Value::Type::Object);
}

TEST_CASE("reading a Value as a type it does not hold throws TypeError naming both types",
          "[value]") {
  using lightflus::TypeError;
  CHECK_THROWS_MATCHES(Value::object().asString(), TypeError,
                       Message("expected a string, got an object"));
  CHECK_THROWS_MATCHES(Value("x").asInt(), TypeError, Message("expected an int, got a string"));
  CHECK_THROWS_MATCHES(Value().asBool(), TypeError, Message("expected a bool, got null"));
  CHECK_THROWS_MATCHES(Value(true).asDouble(), TypeError, Message("expected a number, got a bool"));
  CHECK_THROWS_MATCHES(Value(1).asArray(), TypeError, Message("expected an array, got an int"));
  CHECK_THROWS_MATCHES(Value::array().asObject(), TypeError,
                       Message("expected an object, got an array"));
  CHECK_THROWS_MATCHES(Value(2.5).size(), TypeError,
                       Message("expected a string, an array or an object, got a double"));
  CHECK_THAT(errorMessage<TypeError>([] { (void)Value(2.5).asInt(); }), Contains("(2.5)"));
  CHECK_THROWS_AS(Value(1e300).asInt(), TypeError);
  CHECK_THROWS_AS(Value(std::nan("")).asInt(), TypeError);
  CHECK_THAT(errorMessage<TypeError>([] { Value(1).push(2); }), Contains("push"));
  Value text = "abc";
  CHECK_THAT(errorMessage<TypeError>([&] { (void)text["key"]; }), Contains("\"key\""));
  CHECK_THAT(errorMessage<TypeError>([&] { (void)std::as_const(text)["key"]; }),
             Contains("a string"));

  // Conversions that are exact are allowed.
  CHECK(Value(2.0).asInt() == 2);
  CHECK(Value(-9223372036854775808.0).asInt() == kInt64Min);
  CHECK(Value(3).asDouble() == 3.0);
}

TEST_CASE("objects keep insertion order and arrays grow with push", "[value]") {
  Value v;
  v["b"] = 1;
  v["a"] = "two";
  v["b"] = 3;  // replaces, keeps position
  v["nested"]["x"] = true;
  REQUIRE(v.isObject());
  REQUIRE(v.size() == 3);
  CHECK(v.asObject()[0].first == "b");
  CHECK(v.asObject()[0].second.asInt() == 3);
  CHECK(v.asObject()[1].first == "a");
  CHECK(v.asObject()[2].first == "nested");
  CHECK(v.find("a")->asString() == "two");
  CHECK(v.find("zzz") == nullptr);
  CHECK(Value(1).find("a") == nullptr);

  const Value& c = v;
  CHECK(c["nested"]["x"].asBool());
  CHECK(c["missing"].isNull());
  CHECK(c["missing"]["deeper"].isNull());
  CHECK(v.size() == 3);  // const lookups insert nothing

  Value list;
  Value& first = list.push(10);
  first = 11;
  list.push("x");
  REQUIRE(list.size() == 2);
  CHECK(list[0].asInt() == 11);
  CHECK(std::as_const(list)[1].asString() == "x");
  CHECK_THAT(errorMessage<lightflus::Error>([&] { (void)std::as_const(list)[2]; }),
             Contains("index 2"));
  CHECK_THAT(errorMessage<lightflus::Error>([&] { (void)list[5]; }), Contains("index 5"));

  // Duplicate keys: first position, last value.
  Value dup(Value::Object{{"k", 1}, {"j", 2}, {"k", 3}});
  CHECK(dup.toJson() == R"({"k":3,"j":2})");
}

TEST_CASE("JSON round trip keeps nested documents, int64 limits, doubles and unicode", "[value]") {
  const std::string text = R"( {"name": "caf\u00e9 \ud83d\ude00", "max": 9223372036854775807,
      "min": -9223372036854775808, "tenth": 0.1, "big": 1e300, "negative_zero": -0.0,
      "one": 1.0, "empty_array": [], "empty_object": {},
      "nested": [1, [true, null], {"text": "line\nbreak \"quoted\" \\ \u0001"}]} )";
  const Value v = Value::parseJson(text);

  CHECK(v["name"].asString() == "caf\xc3\xa9 \xf0\x9f\x98\x80");
  CHECK(v["max"].isInt());
  CHECK(v["max"].asInt() == kInt64Max);
  CHECK(v["min"].asInt() == kInt64Min);
  CHECK(v["tenth"].asDouble() == 0.1);
  CHECK(v["big"].asDouble() == 1e300);
  CHECK(v["negative_zero"].isDouble());
  CHECK(std::signbit(v["negative_zero"].asDouble()));
  CHECK(v["one"].isDouble());
  CHECK(v["empty_array"].isArray());
  CHECK(v["empty_array"].size() == 0);
  CHECK(v["empty_object"].isObject());
  CHECK(v["nested"][1][1].isNull());
  CHECK(v["nested"][2]["text"].asString() == "line\nbreak \"quoted\" \\ \x01");

  const std::string expected =
      "{\"name\":\"caf\xc3\xa9 \xf0\x9f\x98\x80\",\"max\":9223372036854775807,"
      "\"min\":-9223372036854775808,\"tenth\":0.1,\"big\":1e300,\"negative_zero\":-0.0,"
      "\"one\":1.0,\"empty_array\":[],\"empty_object\":{},"
      "\"nested\":[1,[true,null],{\"text\":\"line\\nbreak \\\"quoted\\\" \\\\ \\u0001\"}]}";
  CHECK(v.toJson() == expected);

  const Value again = Value::parseJson(v.toJson());
  CHECK(again == v);
  CHECK(again.toJson() == expected);
  CHECK(std::signbit(again["negative_zero"].asDouble()));
  CHECK(again["one"].isDouble());

  // Doubles parse back to the same bits.
  for (double d : {0.1, 1.0 / 3.0, 5e-324, 1.7976931348623157e308, -123456.789e-5, 2.5e-8}) {
    const double back = Value::parseJson(Value(d).toJson()).asDouble();
    CHECK(std::bit_cast<uint64_t>(back) == std::bit_cast<uint64_t>(d));
  }

  CHECK(Value::parseJson("18446744073709551615").asDouble() == 18446744073709551615.0);
  CHECK(Value::parseJson(" \n\"x\"\t").asString() == "x");
  CHECK(Value(std::nan("")).toJson() == "null");
  CHECK(Value(-std::numeric_limits<double>::infinity()).toJson() == "null");

  std::string out = "prefix:";
  Value(Value::Array{1, "a"}).appendJson(out);
  CHECK(out == R"(prefix:[1,"a"])");
}

TEST_CASE("invalid JSON throws InputError with the byte offset and the reason", "[value]") {
  using lightflus::InputError;
  auto parse_error = [](std::string_view text) {
    return errorMessage<InputError>([&] { Value::parseJson(text); });
  };
  CHECK(parse_error(R"({"name" 1})") ==
        "invalid JSON at offset 8: Missing a colon after a name of object member.");
  CHECK(parse_error("") == "invalid JSON at offset 0: The document is empty.");
  CHECK_THAT(parse_error("[1, 2] 3"), Contains("at offset 7:"));
  CHECK_THAT(parse_error("[1, 2"), Contains("at offset 5:"));
  CHECK_THAT(parse_error(std::string_view("[1]\0x", 5)), Contains("at offset 3:"));
  CHECK_THAT(parse_error("\"\xff\""), Contains("at offset 1:"));

  const std::string deep = std::string(1001, '[') + std::string(1001, ']');
  CHECK_THAT(parse_error(deep), Contains("deeper than 1000"));
  const std::string ok = std::string(1000, '[') + std::string(1000, ']');
  CHECK(Value::parseJson(ok).isArray());
}

TEST_CASE("mutating a copy leaves the original unchanged", "[value]") {
  const Value original = sampleDocument();
  const std::string original_json = original.toJson();

  Value copy = original;
  // Copies share storage until one of them changes.
  CHECK(&std::as_const(copy).asObject() == &original.asObject());

  copy["id"] = 8;
  copy["tags"].push("b");
  copy["tags"][1].asArray().clear();
  copy.asObject().emplace_back("added", 1);
  CHECK(&std::as_const(copy).asObject() != &original.asObject());
  CHECK(original.toJson() == original_json);
  CHECK(copy["id"].asInt() == 8);
  CHECK(copy["tags"].size() == 3);
  CHECK(copy["tags"][1].size() == 0);
  CHECK(original["tags"][1].size() == 3);

  // A value shared by an element of itself survives assignment from that element.
  Value outer(Value::Array{Value::Array{1, 2}});
  outer = outer[0];
  CHECK(outer.toJson() == "[1,2]");
  Value moved = std::move(outer);
  CHECK(outer.isNull());  // NOLINT(bugprone-use-after-move): a moved-from Value is null
  CHECK(moved.size() == 2);
}

TEST_CASE("equal values hash equally, including an int and a double of the same value", "[value]") {
  auto check_equal = [](const Value& a, const Value& b) {
    CHECK(a == b);
    CHECK(b == a);
    CHECK(a.hash() == b.hash());
    CHECK(std::hash<Value>{}(a) == std::hash<Value>{}(b));
  };
  check_equal(Value(1), Value(1.0));
  check_equal(Value(0), Value(-0.0));
  check_equal(Value(kInt64Min), Value(-9223372036854775808.0));
  check_equal(Value(int64_t{1} << 53), Value(9007199254740992.0));
  check_equal(Value("text"), Value(std::string("text")));
  check_equal(Value(Value::Array{1, 2.0}), Value(Value::Array{1.0, 2}));
  check_equal(Value::parseJson(R"({"a":[1,{"b":null}]})"),
              Value::parseJson(R"({"a":[1.0,{"b":null}]})"));
  check_equal(Value(), Value(nullptr));

  CHECK(Value(1) != Value(1.5));
  CHECK(Value(1) != Value(true));
  CHECK(Value(1) != Value("1"));
  CHECK(Value(kInt64Max) != Value(9223372036854775807.0));  // the double is 2^63
  CHECK(Value((int64_t{1} << 53) + 1) != Value(9007199254740992.0));
  CHECK(Value(std::nan("")) != Value(std::nan("")));
  CHECK(Value::array() != Value::object());
  CHECK(Value::parseJson(R"({"a":1,"b":2})") != Value::parseJson(R"({"b":2,"a":1})"));

  std::unordered_set<Value> set = {Value(1), Value("1"), Value(2.5), Value::array()};
  CHECK(set.count(Value(1.0)) == 1);
  CHECK(set.count(Value(2.5)) == 1);
  CHECK(set.count(Value(Value::Array{})) == 1);
  CHECK(set.count(Value(3)) == 0);
}

TEST_CASE("values order by type, then numerically, bytewise or lexicographically", "[value]") {
  const std::vector<Value> ascending = {
      Value(),
      Value(false),
      Value(true),
      Value(-std::numeric_limits<double>::infinity()),
      Value(kInt64Min),
      Value(-1),
      Value(-0.5),
      Value(0),
      Value(0.5),
      Value(1),
      Value(kInt64Max),
      Value(9223372036854775807.0),
      Value(""),
      Value("a"),
      Value("ab"),
      Value("b"),
      Value("\xc3\xa9"),
      Value::array(),
      Value(Value::Array{1}),
      Value(Value::Array{1, 2}),
      Value(Value::Array{2}),
      Value::object(),
      Value(Value::Object{{"a", 1}}),
      Value(Value::Object{{"a", 2}}),
      Value(Value::Object{{"b", 0}}),
  };
  for (size_t i = 0; i < ascending.size(); ++i) {
    for (size_t j = 0; j < ascending.size(); ++j) {
      INFO(ascending[i] << " vs " << ascending[j]);
      CHECK(((ascending[i] < ascending[j]) == (i < j)));
      CHECK(((ascending[i] == ascending[j]) == (i == j)));
    }
  }
  CHECK((Value(1) <=> Value(1.0)) == std::partial_ordering::equivalent);
  CHECK((Value(std::nan("")) <=> Value(1)) == std::partial_ordering::unordered);
  CHECK((Value(1) <=> Value(std::nan(""))) == std::partial_ordering::unordered);
  CHECK((Value(Value::Array{std::nan("")}) <=> Value(Value::Array{1})) ==
        std::partial_ordering::unordered);
}

TEST_CASE("binary form round-trips a nested value and rejects truncated input", "[value]") {
  const Value doc = sampleDocument();
  std::string bytes;
  doc.writeBinary(bytes);
  const size_t one = bytes.size();
  Value(300).writeBinary(bytes);
  CHECK(bytes.size() == one + 3);  // tag, zigzag 600 as the varint d8 04

  std::string_view in = bytes;
  const Value back = Value::readBinary(in);
  CHECK(in.size() == 3);
  CHECK(back == doc);
  CHECK(back.toJson() == doc.toJson());
  CHECK(std::signbit(back["limits"][2].asDouble()));
  CHECK(Value::readBinary(in).asInt() == 300);
  CHECK(in.empty());

  std::string small;
  Value(-1).writeBinary(small);
  Value("ab").writeBinary(small);
  CHECK(small == std::string("\x04\x01\x06\x02"
                             "ab",
                             6));

  for (size_t n = 0; n < one; ++n) {
    std::string_view prefix(bytes.data(), n);
    INFO("prefix of " << n << " bytes");
    CHECK_THROWS_AS(Value::readBinary(prefix), lightflus::InputError);
    CHECK(prefix.size() == n);  // nothing consumed on failure
  }
  std::string_view unknown("\x2a", 1);
  CHECK_THROWS_MATCHES(Value::readBinary(unknown), lightflus::InputError,
                       Message("invalid binary Value at offset 0: unknown tag 0x2a"));
  std::string_view huge_count("\x07\xff\xff\xff\xff\x0f", 6);
  CHECK_THAT(errorMessage<lightflus::InputError>([&] { Value::readBinary(huge_count); }),
             Contains("truncated"));
}

TEST_CASE("copies of one value can be read, changed and dropped from four threads at once",
          "[value]") {
  const Value shared = sampleDocument();
  const std::string expected_json = shared.toJson();
  const size_t expected_hash = shared.hash();
  std::atomic<int> failures{0};

  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 2000; ++i) {
        Value copy = shared;
        Value second = copy;
        if (copy.hash() != expected_hash || copy["name"].asString() != "widget") ++failures;
        second["id"] = t * 100000 + i;
        second["tags"].push(i);
        if (second["id"].asInt() != t * 100000 + i || copy != shared) ++failures;
        if (i % 500 == 0 && copy.toJson() != expected_json) ++failures;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  CHECK(failures == 0);
  CHECK(shared.toJson() == expected_json);
}

TEST_CASE("a Value prints as JSON through operator<< and fmt", "[value]") {
  const Value v(Value::Array{1, "a", nullptr, 2.5});
  std::ostringstream os;
  os << v;
  CHECK(os.str() == R"([1,"a",null,2.5])");
  CHECK(fmt::format("{}", v) == R"([1,"a",null,2.5])");
  CHECK(fmt::format("<{:>5}>", Value(true)) == "< true>");
}

namespace {

// The reference: what rapidjson::Writer writes for a Value.
void referenceJson(rapidjson::Writer<rapidjson::StringBuffer>& w, const lightflus::Value& v) {
  using lightflus::Value;
  switch (v.type()) {
    case Value::Type::Null:
      w.Null();
      break;
    case Value::Type::Bool:
      w.Bool(v.asBool());
      break;
    case Value::Type::Int:
      w.Int64(v.asInt());
      break;
    case Value::Type::Double:
      if (std::isfinite(v.asDouble()))
        w.Double(v.asDouble());
      else
        w.Null();
      break;
    case Value::Type::String:
      w.String(v.asString().data(), static_cast<rapidjson::SizeType>(v.asString().size()));
      break;
    case Value::Type::Array:
      w.StartArray();
      for (const auto& item : v.asArray()) referenceJson(w, item);
      w.EndArray();
      break;
    case Value::Type::Object:
      w.StartObject();
      for (const auto& [k, m] : v.asObject()) {
        w.Key(k.data(), static_cast<rapidjson::SizeType>(k.size()));
        referenceJson(w, m);
      }
      w.EndObject();
      break;
  }
}

lightflus::Value randomValue(std::mt19937_64& rng, int depth) {
  using lightflus::Value;
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<std::uint64_t>(n)); };
  auto text = [&] {
    std::string s;
    const int n = pick(12);
    for (int i = 0; i < n; ++i) {
      switch (pick(6)) {
        case 0:
          s.push_back(static_cast<char>(pick(0x20)));
          break;  // control characters
        case 1:
          s.push_back(pick(2) ? '"' : '\\');
          break;
        case 2:
          s += "\xC3\xA9";
          break;  // é
        case 3:
          s += "\xF0\x9F\x98\x80";
          break;  // an emoji
        default:
          s.push_back(static_cast<char>(0x20 + pick(0x5F)));
      }
    }
    return s;
  };
  switch (depth > 3 ? pick(5) : pick(7)) {
    case 0:
      return Value();
    case 1:
      return Value(pick(2) == 1);
    case 2:
      return Value(static_cast<std::int64_t>(rng()));
    case 3: {
      const double choices[] = {0.1,          -0.0,
                                1.0,          1e21,
                                1e-7,         123456.789,
                                5e-324,       std::numeric_limits<double>::max(),
                                std::nan(""), static_cast<double>(rng()) / 3.0};
      return Value(choices[pick(10)]);
    }
    case 4:
      return Value(text());
    case 5: {
      Value a = Value::array();
      for (int i = pick(4); i > 0; --i) a.push(randomValue(rng, depth + 1));
      return a;
    }
    default: {
      Value o = Value::object();
      for (int i = pick(4); i > 0; --i) o[text()] = randomValue(rng, depth + 1);
      return o;
    }
  }
}

}  // namespace

TEST_CASE("toJson writes byte for byte what rapidjson's Writer writes", "[value][json]") {
  std::mt19937_64 rng(7);
  for (int i = 0; i < 5000; ++i) {
    lightflus::Value v = randomValue(rng, 0);
    rapidjson::StringBuffer buffer;
    rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
    referenceJson(writer, v);
    REQUIRE(v.toJson() == std::string(buffer.GetString(), buffer.GetSize()));
  }
}
