// Converting elements between lightflus::Value (the engine's element type of JavaScript jobs)
// and V8 values, a batch at a time.
//
// Elements cross the C++/JavaScript boundary once per batch: a Batch<Value> becomes one JS
// array (v8::Array::New over a vector of handles), and the array a chain returns becomes Values
// again. Scalars and strings convert directly. Arrays and objects convert recursively with
// JSON's rules (undefined, functions and symbols are dropped from objects and become null in
// arrays; NaN and the infinities become null; Dates, Maps, typed arrays and other exotic
// objects go through JSON.stringify, so they convert as JSON.stringify would). The recursive
// converter was measured against JSON.stringify + Value::parseJson (and JSON.parse the other
// way) for small objects: see docs/typescript-jobs.md, "Performance".
#pragma once

#include <v8-container.h>
#include <v8-context.h>
#include <v8-local-handle.h>
#include <v8-typed-array.h>
#include <v8-value.h>

#include <cmath>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "lightflus/time.hpp"
#include "lightflus/value.hpp"

namespace lightflus::js {

/// Converts Values to V8 values and back inside one isolate and context (the caller holds a
/// JsIsolate::Scope). Keeps scratch buffers, so keep one per operator.
class ValueConverter {
 public:
  ValueConverter(v8::Isolate* isolate, v8::Local<v8::Context> context)
      : isolate_(isolate), context_(context) {}

  /// `value` as a JavaScript value (numbers become numbers, objects plain objects).
  v8::Local<v8::Value> toJs(const Value& value);
  /// UTF-8 `text` as a JavaScript string (ASCII is copied as one-byte text, without decoding).
  v8::Local<v8::String> toJsText(std::string_view text);
  /// A JavaScript value as a Value (JSON's rules, see the top of the file). Throws
  /// UserCodeError for a value JSON cannot represent (a BigInt, a cycle).
  Value fromJs(v8::Local<v8::Value> value);

  /// A JS array of `project(items[i])` for i in [from, items.size()). Batches of objects or
  /// arrays go as one JSON text through JSON.parse (faster than building each object, see
  /// docs/typescript-jobs.md), others element by element.
  template <class Range, class Project>
  v8::Local<v8::Array> toJsArray(const Range& items, std::size_t from, Project project) {
    if (items.size() - from >= 2 && isCompound(project(items[from]))) {
      scratch_.clear();
      scratch_.push_back('[');
      for (std::size_t i = from; i < items.size(); ++i) {
        if (i > from) scratch_.push_back(',');
        project(items[i]).appendJson(scratch_);
      }
      scratch_.push_back(']');
      return parseJsonArray();
    }
    handles_.clear();
    handles_.reserve(items.size() - from);
    for (std::size_t i = from; i < items.size(); ++i) handles_.push_back(toJs(project(items[i])));
    return v8::Array::New(isolate_, handles_.data(), handles_.size());
  }

  /// The input array of a JavaScript operator: parseJsonTexts when its input holds JSON texts
  /// (`json_texts`), else toJsArray.
  template <class Range, class Project>
  v8::Local<v8::Array> inputArray(const Range& items, std::size_t from, Project project,
                                  bool json_texts) {
    return json_texts ? parseJsonTexts(items, from, project) : toJsArray(items, from, project);
  }

  /// A JS array of the values of the JSON texts `project(items[i])` for i in [from,
  /// items.size()): string Values holding JSON text (JsonTextLinesSource's lines, which both
  /// RapidJSON and V8 accept), parsed with one JSON.parse of "[t0,t1,...]", as a Node.js script
  /// would parse them. Should V8 reject the batch, each text goes through Value::parseJson and
  /// toJs instead, so a text is never lost.
  template <class Range, class Project>
  v8::Local<v8::Array> parseJsonTexts(const Range& items, std::size_t from, Project project) {
    scratch_.clear();
    scratch_.push_back('[');
    for (std::size_t i = from; i < items.size(); ++i) {
      if (i > from) scratch_.push_back(',');
      scratch_ += project(items[i]).asString();
    }
    scratch_.push_back(']');
    v8::Local<v8::Array> parsed;
    if (tryParseJsonArray(parsed, items.size() - from)) return parsed;
    handles_.clear();
    handles_.reserve(items.size() - from);
    for (std::size_t i = from; i < items.size(); ++i)
      handles_.push_back(toJs(Value::parseJson(project(items[i]).asString())));
    return v8::Array::New(isolate_, handles_.data(), handles_.size());
  }

  /// The first `count` items of `array` as Values, appended to `out`. Batches whose first item
  /// is an object or array go through one JSON.stringify + Value::parseJson.
  void fromJsArray(v8::Local<v8::Array> array, std::size_t count, std::vector<Value>& out);

  /// Strings packed by the host helper packStrings: `joined` is their concatenation and
  /// `lengths` (an Int32Array) their lengths, in order; appended to `out` as Values. Returns
  /// false, and appends nothing, when the lengths do not add up to `joined`'s. One copy out of
  /// V8 replaces a call per string (ASCII as it is, other text as UTF-16 encoded here).
  bool fromPackedStrings(v8::Local<v8::String> joined, v8::Local<v8::Int32Array> lengths,
                         std::vector<Value>& out);

  /// A JS string as UTF-8 text, valid until the next call on this converter.
  std::string_view text(v8::Local<v8::String> string) { return utf8(string); }

  /// The same strings as UTF-8 text: string i is text[ends[i - 1], ends[i]) (no Values).
  bool packedUtf8(v8::Local<v8::String> joined, v8::Local<v8::Int32Array> lengths,
                  std::string& text, std::vector<std::size_t>& ends);

  /// JSON.stringify + Value::parseJson (the alternative to fromJs(), kept for measurements).
  Value fromJsViaJson(v8::Local<v8::Value> value);
  /// Value::toJson + JSON.parse (the alternative to toJs()).
  v8::Local<v8::Value> toJsViaJson(const Value& value);

 private:
  Value fromJsObject(v8::Local<v8::Object> object, int depth);
  Value fromJsValue(v8::Local<v8::Value> value, int depth);
  Value fromString(v8::Local<v8::String> string);
  static bool isCompound(const Value& v) { return v.isObject() || v.isArray(); }
  v8::Local<v8::Array> parseJsonArray();  // JSON.parse(scratch_)
  // JSON.parse(scratch_) into `out` when it is an array of `n` items; false (and no pending
  // exception) otherwise.
  bool tryParseJsonArray(v8::Local<v8::Array>& out, std::size_t n);
  std::string_view utf8(v8::Local<v8::String> string);  // valid until the next call

  v8::Isolate* isolate_;
  v8::Local<v8::Context> context_;
  std::vector<v8::Local<v8::Value>> handles_;
  std::vector<std::int32_t> lengths_;
  std::string scratch_;
  std::string packed_;
  std::vector<std::size_t> ends_;
};

/// A Timestamp as a JS number for the helpers' comparisons with watermarks and timers:
/// kMinTimestamp and kMaxTimestamp become -Infinity and Infinity.
inline double jsTime(Timestamp t) {
  if (t == kMinTimestamp) return -std::numeric_limits<double>::infinity();
  if (t == kMaxTimestamp) return std::numeric_limits<double>::infinity();
  return static_cast<double>(t);
}

/// An element's timestamp as the helpers carry it per element: NaN when it has none
/// (kMinTimestamp).
inline double jsElementTime(Timestamp t) {
  return t == kMinTimestamp ? std::numeric_limits<double>::quiet_NaN() : static_cast<double>(t);
}

/// The timestamp of an element the helpers made: NaN is none (kMinTimestamp).
inline Timestamp elementTime(double t) {
  return std::isnan(t) ? kMinTimestamp : static_cast<Timestamp>(t);
}

}  // namespace lightflus::js
