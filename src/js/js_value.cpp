#include "js_value.hpp"

#include <v8-container.h>
#include <v8-exception.h>
#include <v8-json.h>
#include <v8-object.h>
#include <v8-primitive.h>

#include <cmath>
#include <cstring>

#include "lightflus/error.hpp"
#include "strings.hpp"

namespace lightflus::js {

namespace {

// Value's JSON parser nests up to 1000 levels; so does this (a cycle ends here too).
constexpr int kMaxDepth = 1000;

// Integral doubles within +-2^53 become Ints, as parseJson makes them from JSON text.
Value numberValue(double d) {
  if (!std::isfinite(d)) return Value();
  constexpr double kExact = 9007199254740992.0;           // 2^53
  if (d >= -kExact && d <= kExact && d == std::trunc(d))  // -0 too: JSON.stringify(-0) is 0
    return Value(static_cast<std::int64_t>(d));
  return Value(d);
}

}  // namespace

v8::Local<v8::Value> ValueConverter::toJs(const Value& value) {
  switch (value.type()) {
    case Value::Type::Null:
      return v8::Null(isolate_);
    case Value::Type::Bool:
      return v8::Boolean::New(isolate_, value.asBool());
    case Value::Type::Int:
      return v8::Number::New(isolate_, static_cast<double>(value.asInt()));
    case Value::Type::Double:
      return v8::Number::New(isolate_, value.asDouble());
    case Value::Type::String:
      return toJsText(value.asString());
    case Value::Type::Array: {
      const auto& items = value.asArray();
      std::vector<v8::Local<v8::Value>> handles;
      handles.reserve(items.size());
      for (const auto& item : items) handles.push_back(toJs(item));
      return v8::Array::New(isolate_, handles.data(), handles.size());
    }
    case Value::Type::Object: {
      v8::Local<v8::Object> object = v8::Object::New(isolate_);
      for (const auto& [key, member] : value.asObject()) {
        // Internalized keys: the same key in the next object is found, not copied again.
        v8::Local<v8::String> name =
            v8::String::NewFromUtf8(isolate_, key.data(), v8::NewStringType::kInternalized,
                                    static_cast<int>(key.size()))
                .ToLocalChecked();
        object->CreateDataProperty(context_, name, toJs(member)).Check();
      }
      return object;
    }
  }
  return v8::Null(isolate_);
}

namespace {

// Whether `text` is ASCII, eight bytes at a time (batches of JSON lines go through here: the
// byte loop took 4-5% of a JSON-lines job's profile).
bool isAscii(std::string_view text) {
  const char* p = text.data();
  const std::size_t n = text.size();
  std::uint64_t bits = 0;
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    std::uint64_t word;
    std::memcpy(&word, p + i, sizeof word);
    bits |= word;
  }
  for (; i < n; ++i) bits |= static_cast<unsigned char>(p[i]);
  return (bits & 0x8080808080808080ULL) == 0;
}

}  // namespace

v8::Local<v8::String> ValueConverter::toJsText(std::string_view text) {
  if (isAscii(text) && text.size() < (1u << 28))  // ASCII is one-byte: no UTF-8 decoding
    return v8::String::NewFromOneByte(isolate_, reinterpret_cast<const std::uint8_t*>(text.data()),
                                      v8::NewStringType::kNormal, static_cast<int>(text.size()))
        .ToLocalChecked();
  return toJsString(isolate_, text);
}

Value ValueConverter::fromJs(v8::Local<v8::Value> value) {
  return fromJsValue(value, 0);
}

std::string_view ValueConverter::utf8(v8::Local<v8::String> string) {
  // Most strings are one-byte (Latin-1) inside V8; when all their bytes are ASCII they are
  // UTF-8 as they are, and copying them is about twice as fast as WriteUtf8 with Utf8Length.
  if (string->IsOneByte()) {
    int length = string->Length();
    scratch_.resize(static_cast<std::size_t>(length));
    string->WriteOneByte(isolate_, reinterpret_cast<std::uint8_t*>(scratch_.data()), 0, length,
                         v8::String::NO_NULL_TERMINATION);
    bool ascii = true;
    for (char c : scratch_) ascii &= static_cast<unsigned char>(c) < 0x80;
    if (ascii) return {scratch_.data(), scratch_.size()};
  }
  int length = string->Utf8Length(isolate_);
  scratch_.resize(static_cast<std::size_t>(length));
  string->WriteUtf8(isolate_, scratch_.data(), length, nullptr,
                    v8::String::NO_NULL_TERMINATION | v8::String::REPLACE_INVALID_UTF8);
  return {scratch_.data(), scratch_.size()};
}

Value ValueConverter::fromString(v8::Local<v8::String> string) {
  return Value(utf8(string));
}

Value ValueConverter::fromJsValue(v8::Local<v8::Value> value, int depth) {
  if (value->IsString()) return fromString(value.As<v8::String>());
  if (value->IsNumber()) return numberValue(value.As<v8::Number>()->Value());
  if (value->IsBoolean()) return Value(value->IsTrue());
  if (value->IsNullOrUndefined() || value->IsFunction() || value->IsSymbol()) return Value();
  if (value->IsBigInt()) throw UserCodeError("a BigInt cannot be an element (JSON has no BigInt)");
  if (depth >= kMaxDepth)
    throw UserCodeError("an element nests deeper than 1000 levels (or contains itself)");
  if (value->IsArray()) {
    v8::Local<v8::Array> array = value.As<v8::Array>();
    std::uint32_t n = array->Length();
    Value::Array items;
    items.reserve(n);
    for (std::uint32_t i = 0; i < n; ++i) {
      v8::Local<v8::Value> item;
      if (!array->Get(context_, i).ToLocal(&item))
        throw UserCodeError("reading an element's array item failed");
      items.push_back(fromJsValue(item, depth + 1));
    }
    return Value(std::move(items));
  }
  if (value->IsObject()) {
    // Exotic objects (Date and its toJSON, Map, typed arrays, boxed primitives, proxies):
    // exactly as JSON.stringify.
    if (value->IsDate() || value->IsMap() || value->IsSet() || value->IsArrayBufferView() ||
        value->IsArrayBuffer() || value->IsProxy() || value->IsStringObject() ||
        value->IsNumberObject() || value->IsBooleanObject() || value->IsRegExp())
      return fromJsViaJson(value);
    return fromJsObject(value.As<v8::Object>(), depth);
  }
  return Value();
}

Value ValueConverter::fromJsObject(v8::Local<v8::Object> object, int depth) {
  v8::Local<v8::Array> names;
  if (!object
           ->GetOwnPropertyNames(
               context_, static_cast<v8::PropertyFilter>(v8::ONLY_ENUMERABLE | v8::SKIP_SYMBOLS),
               v8::KeyConversionMode::kConvertToString)
           .ToLocal(&names))
    throw UserCodeError("reading an element's properties failed");
  std::uint32_t n = names->Length();
  Value::Object members;
  members.reserve(n);
  for (std::uint32_t i = 0; i < n; ++i) {
    v8::Local<v8::Value> name, member;
    if (!names->Get(context_, i).ToLocal(&name) || !object->Get(context_, name).ToLocal(&member))
      throw UserCodeError("reading an element's property failed");
    if (member->IsUndefined() || member->IsFunction() || member->IsSymbol()) continue;
    std::string key(utf8(name.As<v8::String>()));
    members.emplace_back(std::move(key), fromJsValue(member, depth + 1));
  }
  return Value(std::move(members));
}

Value ValueConverter::fromJsViaJson(v8::Local<v8::Value> value) {
  if (value->IsUndefined() || value->IsFunction() || value->IsSymbol()) return Value();
  v8::TryCatch try_catch(isolate_);
  v8::Local<v8::String> json;
  if (!v8::JSON::Stringify(context_, value).ToLocal(&json)) {
    std::string why = try_catch.HasCaught() ? toStdString(isolate_, try_catch.Exception())
                                            : std::string("JSON.stringify failed");
    throw UserCodeError("an element cannot be converted to JSON: " + why);
  }
  if (json->IsUndefined()) return Value();
  return Value::parseJson(utf8(json));
}

v8::Local<v8::Array> ValueConverter::parseJsonArray() {
  return v8::JSON::Parse(context_, toJsString(isolate_, scratch_)).ToLocalChecked().As<v8::Array>();
}

bool ValueConverter::tryParseJsonArray(v8::Local<v8::Array>& out, std::size_t n) {
  v8::TryCatch try_catch(isolate_);
  v8::Local<v8::Value> parsed;
  if (!v8::JSON::Parse(context_, toJsText(scratch_)).ToLocal(&parsed) || !parsed->IsArray() ||
      parsed.As<v8::Array>()->Length() != n)
    return false;
  out = parsed.As<v8::Array>();
  return true;
}

void ValueConverter::fromJsArray(v8::Local<v8::Array> array, std::size_t count,
                                 std::vector<Value>& out) {
  if (count == 0) return;
  v8::Local<v8::Value> first;
  if (count >= 2 && array->Get(context_, 0).ToLocal(&first) && first->IsObject() &&
      !first->IsFunction()) {
    Value all = fromJsViaJson(array);
    if (all.isArray() && all.size() >= count) {
      auto& items = all.asArray();
      out.insert(out.end(), std::make_move_iterator(items.begin()),
                 std::make_move_iterator(items.begin() + static_cast<std::ptrdiff_t>(count)));
      return;
    }
  }
  for (std::size_t i = 0; i < count; ++i) {
    v8::Local<v8::Value> item;
    if (!array->Get(context_, static_cast<std::uint32_t>(i)).ToLocal(&item))
      throw UserCodeError("reading an output of the batch failed");
    out.push_back(fromJs(item));
  }
}

namespace {

// Appends the UTF-8 of UTF-16 `units` to `out`; a lone surrogate becomes U+FFFD (as
// String::WriteUtf8 with REPLACE_INVALID_UTF8 makes it).
void appendUtf8(const std::uint16_t* units, std::size_t n, std::string& out) {
  for (std::size_t i = 0; i < n; ++i) {
    std::uint32_t c = units[i];
    if (c < 0x80) {
      out.push_back(static_cast<char>(c));
      continue;
    }
    if (c >= 0xD800 && c <= 0xDFFF) {
      if (c <= 0xDBFF && i + 1 < n && units[i + 1] >= 0xDC00 && units[i + 1] <= 0xDFFF) {
        c = 0x10000 + ((c - 0xD800) << 10) + (units[i + 1] - 0xDC00);
        ++i;
      } else {
        c = 0xFFFD;
      }
    }
    if (c < 0x800) {
      out.push_back(static_cast<char>(0xC0 | (c >> 6)));
    } else if (c < 0x10000) {
      out.push_back(static_cast<char>(0xE0 | (c >> 12)));
      out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    } else {
      out.push_back(static_cast<char>(0xF0 | (c >> 18)));
      out.push_back(static_cast<char>(0x80 | ((c >> 12) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    }
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  }
}

}  // namespace

bool ValueConverter::packedUtf8(v8::Local<v8::String> joined, v8::Local<v8::Int32Array> lengths,
                                std::string& text, std::vector<std::size_t>& ends) {
  const int total = joined->Length();
  const std::size_t n = lengths->Length();
  lengths_.resize(n);
  if (n > 0) lengths->CopyContents(lengths_.data(), n * sizeof(std::int32_t));
  std::size_t sum = 0;
  for (std::int32_t length : lengths_) {
    if (length < 0) return false;
    sum += static_cast<std::size_t>(length);
  }
  if (sum != static_cast<std::size_t>(total)) return false;
  ends.clear();
  ends.reserve(n);
  if (joined->IsOneByte()) {
    text.resize(static_cast<std::size_t>(total));
    joined->WriteOneByte(isolate_, reinterpret_cast<std::uint8_t*>(text.data()), 0, total,
                         v8::String::NO_NULL_TERMINATION);
    unsigned char any = 0;
    for (char c : text) any |= static_cast<unsigned char>(c);
    if (any < 0x80) {  // ASCII: UTF-8 as it is, one copy out of V8
      std::size_t at = 0;
      for (std::int32_t length : lengths_) ends.push_back(at += static_cast<std::size_t>(length));
      return true;
    }
  }
  // Other text: UTF-16 code units out of V8 once, each string encoded as UTF-8 here (the
  // lengths count code units).
  std::vector<std::uint16_t> units(static_cast<std::size_t>(total));
  joined->Write(isolate_, units.data(), 0, total, v8::String::NO_NULL_TERMINATION);
  text.clear();
  std::size_t at = 0;
  for (std::int32_t length : lengths_) {
    appendUtf8(units.data() + at, static_cast<std::size_t>(length), text);
    ends.push_back(text.size());
    at += static_cast<std::size_t>(length);
  }
  return true;
}

bool ValueConverter::fromPackedStrings(v8::Local<v8::String> joined,
                                       v8::Local<v8::Int32Array> lengths, std::vector<Value>& out) {
  if (!packedUtf8(joined, lengths, packed_, ends_)) return false;
  out.reserve(out.size() + ends_.size());
  std::size_t at = 0;
  for (std::size_t end : ends_) {
    out.emplace_back(std::string_view(packed_.data() + at, end - at));
    at = end;
  }
  return true;
}

v8::Local<v8::Value> ValueConverter::toJsViaJson(const Value& value) {
  scratch_.clear();
  value.appendJson(scratch_);
  return v8::JSON::Parse(context_, toJsString(isolate_, scratch_)).ToLocalChecked();
}

}  // namespace lightflus::js
