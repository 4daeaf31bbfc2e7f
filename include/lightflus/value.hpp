// Value: the element type of dynamic jobs.
//
// A Value is a compact JSON-like variant: null, bool, 64-bit int, double, string, array, or
// object (members kept in insertion order, keys unique). TypeScript and JSON jobs run as
// DataStream<Value>: sources decode records into Values (parseJson), operators and keyBy read
// and build them, sinks print them (toJson) and checkpoints store them (writeBinary /
// readBinary). A Value is 16 bytes: a type tag and a payload that holds a scalar directly or
// points to a shared, reference-counted string, array or object. Copying is a reference count
// increment, and a copy may be handed to another thread. Strings never change; the first
// mutation of a shared array or object copies it (copy-on-write), so one copy never sees
// another copy's changes. A Value must not contain itself (`v["self"] = v` leaks).
#pragma once

#include <atomic>
#include <compare>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <limits>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "lightflus/error.hpp"
#include "lightflus/serializer.hpp"

namespace lightflus {

namespace detail {

/// The shared, heap-allocated part of a string, array or object Value.
struct ValueRep {
  std::atomic<size_t> refs{1};
};
struct StringRep;
struct ArrayRep;
struct ObjectRep;

}  // namespace detail

/// A JSON-like value; see the top of this file.
///
///     Value order = Value::parseJson(R"({"id": 7, "items": ["a", "b"]})");
///     order["total"] = 12.5;
///     int64_t id = order["id"].asInt();   // 7
///     std::string json = order.toJson();  // {"id":7,"items":["a","b"],"total":12.5}
class LIGHTFLUS_API Value {
 public:
  enum class Type : uint8_t { Null, Bool, Int, Double, String, Array, Object };
  using Array = std::vector<Value>;
  /// Members in insertion order. Keys must stay unique when changed through asObject().
  using Object = std::vector<std::pair<std::string, Value>>;

  /// Null.
  constexpr Value() noexcept : payload_{.i = 0} {}
  constexpr Value(std::nullptr_t) noexcept : Value() {}
  constexpr Value(bool b) noexcept : type_(Type::Bool), payload_{.b = b} {}
  /// An Int. An unsigned value above INT64_MAX becomes the nearest Double, as in parseJson.
  template <std::integral T>
  requires(!std::same_as<T, bool>) constexpr Value(T n) noexcept
      : type_(Type::Int), payload_{.i = static_cast<int64_t>(n)} {
    if constexpr (std::is_unsigned_v<T> && sizeof(T) >= sizeof(int64_t)) {
      if (n > static_cast<T>(std::numeric_limits<int64_t>::max())) {
        type_ = Type::Double;
        payload_.d = static_cast<double>(n);
      }
    }
  }
  constexpr Value(double d) noexcept : type_(Type::Double), payload_{.d = d} {}
  constexpr Value(float f) noexcept : Value(static_cast<double>(f)) {}
  /// A String (one allocation). A null pointer gives a null Value.
  Value(const char* s);
  Value(std::string_view s);
  Value(const std::string& s);
  /// Any other pointer would silently become a bool, so it does not compile.
  template <class T>
  requires(!std::same_as<std::remove_cv_t<T>, char>) Value(T*)
  = delete;
  Value(Array items);
  /// An Object. Of duplicate keys the first position and the last value are kept (as
  /// JavaScript's JSON.parse does).
  Value(Object members);
  /// An empty array or object.
  static Value array();
  static Value object();

  Value(const Value& other) noexcept : type_(other.type_), payload_(other.payload_) { retain(); }
  Value(Value&& other) noexcept : type_(other.type_), payload_(other.payload_) {
    other.type_ = Type::Null;
  }
  // Through a temporary, so that `v = v[0]` works: the old value is released last.
  Value& operator=(const Value& other) noexcept {
    Value(other).swap(*this);
    return *this;
  }
  Value& operator=(Value&& other) noexcept {
    Value(std::move(other)).swap(*this);
    return *this;
  }
  ~Value() { release(); }
  void swap(Value& other) noexcept {
    std::swap(type_, other.type_);
    std::swap(payload_, other.payload_);
  }
  friend void swap(Value& a, Value& b) noexcept { a.swap(b); }

  Type type() const noexcept { return type_; }
  /// "null", "bool", "int", "double", "string", "array" or "object".
  const char* typeName() const noexcept;
  bool isNull() const noexcept { return type_ == Type::Null; }
  bool isBool() const noexcept { return type_ == Type::Bool; }
  bool isInt() const noexcept { return type_ == Type::Int; }
  bool isDouble() const noexcept { return type_ == Type::Double; }
  bool isNumber() const noexcept { return type_ == Type::Int || type_ == Type::Double; }
  bool isString() const noexcept { return type_ == Type::String; }
  bool isArray() const noexcept { return type_ == Type::Array; }
  bool isObject() const noexcept { return type_ == Type::Object; }

  // The accessors throw TypeError ("expected a string, got an object") on another type.

  bool asBool() const {
    if (type_ != Type::Bool) throwTypeError("a bool");
    return payload_.b;
  }
  /// An Int, or a Double with an exact int64 value (2.0 gives 2, 2.5 throws).
  int64_t asInt() const { return type_ == Type::Int ? payload_.i : intFromDouble(); }
  /// A Double, or an Int converted to double.
  double asDouble() const {
    if (type_ == Type::Double) return payload_.d;
    if (type_ != Type::Int) throwTypeError("a number");
    return static_cast<double>(payload_.i);
  }
  /// The string's UTF-8 bytes, valid as long as this Value (or a copy of it) lives.
  std::string_view asString() const;
  const Array& asArray() const;
  const Object& asObject() const;
  /// Mutable access; copies the array or object first if it is shared. The reference is valid
  /// until this Value is next copied, assigned or destroyed.
  Array& asArray();
  Object& asObject();
  /// The element count of an array or object, the byte length of a string.
  size_t size() const;

  /// The member named `key`, or nullptr if there is none or this is not an object.
  const Value* find(std::string_view key) const;
  /// The member named `key`, inserted as null if missing. A null Value becomes an empty object
  /// first, so `v["a"]["b"] = 1` builds nested objects.
  Value& operator[](std::string_view key);
  /// The member named `key`; a null Value if it is missing or this Value is null (so lookups
  /// chain through missing members). TypeError on other types.
  const Value& operator[](std::string_view key) const;
  /// The array element at `index`; Error naming the index if it is out of range.
  const Value& operator[](size_t index) const;
  Value& operator[](size_t index);
  /// Appends `item` to an array (a null Value becomes an empty array first) and returns the new
  /// element.
  Value& push(Value item);

  /// Parses one JSON document (UTF-8; numbers without a fraction or exponent that fit int64 are
  /// Ints, others Doubles; nesting up to 1000 levels). Throws InputError:
  /// "invalid JSON at offset 8: Missing a colon after a name of object member."
  static Value parseJson(std::string_view text);
  /// Compact JSON; doubles print so that they parse back to the same bits (1.0 prints as "1.0"
  /// and stays a Double), NaN and infinities print as null (as JSON.stringify does).
  std::string toJson() const;
  void appendJson(std::string& out) const;

  /// Appends the binary form used by state snapshots: per value a tag byte (format 1 uses tags
  /// 1 to 8; a later format uses new tags), then varints, raw bytes or children.
  void writeBinary(std::string& out) const;
  /// Reads one value written by writeBinary from the front of `in` and removes its bytes from
  /// `in`. Throws InputError on truncated or malformed input, leaving `in` unchanged.
  static Value readBinary(std::string_view& in);

  /// Consistent with ==: Int 1 and Double 1.0 hash equal.
  size_t hash() const noexcept;
  /// Numbers compare numerically across Int and Double (1 == 1.0; NaN equals nothing); arrays
  /// and objects element by element, objects in insertion order ({"a":1,"b":2} != {"b":2,"a":1}).
  friend bool operator==(const Value& a, const Value& b);
  /// Orders by type (null < bool < number < string < array < object), then by value; strings by
  /// bytes, arrays and objects lexicographically. NaN is unordered.
  friend std::partial_ordering operator<=>(const Value& a, const Value& b);

 private:
  union Payload {
    bool b;
    int64_t i;
    double d;
    detail::ValueRep* rep;
  };

  bool holdsRep() const noexcept { return type_ >= Type::String; }
  void retain() const noexcept {
    if (holdsRep()) payload_.rep->refs.fetch_add(1, std::memory_order_relaxed);
  }
  void release() noexcept {
    if (holdsRep() && payload_.rep->refs.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      destroyRep(type_, payload_.rep);
    }
  }
  void detachIfShared() {
    // Acquire pairs with the release in other copies' release(): their reads are done.
    if (payload_.rep->refs.load(std::memory_order_acquire) != 1) detach();
  }
  static void destroyRep(Type type, detail::ValueRep* rep) noexcept;
  void detach();
  int64_t intFromDouble() const;
  [[noreturn]] void throwTypeError(const char* expected) const;

  Type type_ = Type::Null;
  Payload payload_;
};

static_assert(sizeof(Value) == 16, "a Value is a type tag and an 8-byte payload");

namespace detail {

/// Length and bytes in one allocation; the bytes follow the struct and end with '\0'.
struct StringRep : ValueRep {
  explicit StringRep(size_t n) noexcept : length(n) {}
  char* chars() noexcept { return reinterpret_cast<char*>(this + 1); }
  const char* chars() const noexcept { return reinterpret_cast<const char*>(this + 1); }
  size_t length;
};

struct ArrayRep : ValueRep {
  explicit ArrayRep(Value::Array a) noexcept : items(std::move(a)) {}
  Value::Array items;
};

struct ObjectRep : ValueRep {
  explicit ObjectRep(Value::Object m) noexcept : members(std::move(m)) {}
  Value::Object members;
};

}  // namespace detail

inline std::string_view Value::asString() const {
  if (type_ != Type::String) throwTypeError("a string");
  const auto* rep = static_cast<const detail::StringRep*>(payload_.rep);
  return {rep->chars(), rep->length};
}

inline const Value::Array& Value::asArray() const {
  if (type_ != Type::Array) throwTypeError("an array");
  return static_cast<const detail::ArrayRep*>(payload_.rep)->items;
}

inline const Value::Object& Value::asObject() const {
  if (type_ != Type::Object) throwTypeError("an object");
  return static_cast<const detail::ObjectRep*>(payload_.rep)->members;
}

inline Value::Array& Value::asArray() {
  if (type_ != Type::Array) throwTypeError("an array");
  detachIfShared();
  return static_cast<detail::ArrayRep*>(payload_.rep)->items;
}

inline Value::Object& Value::asObject() {
  if (type_ != Type::Object) throwTypeError("an object");
  detachIfShared();
  return static_cast<detail::ObjectRep*>(payload_.rep)->members;
}

inline size_t Value::size() const {
  switch (type_) {
    case Type::String:
      return static_cast<const detail::StringRep*>(payload_.rep)->length;
    case Type::Array:
      return static_cast<const detail::ArrayRep*>(payload_.rep)->items.size();
    case Type::Object:
      return static_cast<const detail::ObjectRep*>(payload_.rep)->members.size();
    default:
      throwTypeError("a string, an array or an object");
  }
}

/// Prints `value` as compact JSON.
LIGHTFLUS_API std::ostream& operator<<(std::ostream& os, const Value& value);

}  // namespace lightflus

template <>
struct std::hash<lightflus::Value> {
  size_t operator()(const lightflus::Value& value) const noexcept { return value.hash(); }
};

/// Formats a Value as compact JSON; width and alignment apply to the whole text:
/// `fmt::format("{:>12}", Value(1.5))`.
template <>
struct fmt::formatter<lightflus::Value> : fmt::formatter<std::string_view> {
  template <class FormatContext>
  auto format(const lightflus::Value& value, FormatContext& ctx) const {
    std::string json;
    value.appendJson(json);
    return fmt::formatter<std::string_view>::format(json, ctx);
  }
};

/// Values in snapshots use Value's binary form.
template <>
struct lightflus::Serializer<lightflus::Value> {
  static void write(StateWriter& w, const Value& v) {
    std::string bytes;
    v.writeBinary(bytes);
    w.writeSize(bytes.size());
    w.writeBytes(bytes.data(), bytes.size());
  }
  static Value read(StateReader& r) {
    std::string_view bytes = r.readView(r.readSize());
    return Value::readBinary(bytes);
  }
};
