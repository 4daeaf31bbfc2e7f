// Value's compiled part: the shared reps, lookups, comparison and hashing, the JSON codec
// (RapidJSON's SAX reader straight into Values, RapidJSON's Writer into a std::string) and the
// binary form of state snapshots.
#include "lightflus/value.hpp"

#include <algorithm>
#include <bit>
#include <charconv>
#include <cmath>
#include <cstring>
#include <new>
#include <numeric>
#include <ostream>

#include <rapidjson/error/en.h>
#include <rapidjson/internal/dtoa.h>
#include <rapidjson/memorystream.h>
#include <rapidjson/reader.h>

namespace lightflus {
namespace {

// Deeper documents are rejected: destroying, comparing and printing a Value recurse.
constexpr int kMaxDepth = 1000;

constinit const Value kNullValue;

detail::StringRep* newStringRep(std::string_view s) {
  void* memory = ::operator new(sizeof(detail::StringRep) + s.size() + 1);
  auto* rep = new (memory) detail::StringRep(s.size());
  if (!s.empty()) std::memcpy(rep->chars(), s.data(), s.size());
  rep->chars()[s.size()] = '\0';
  return rep;
}

const char* withArticle(Value::Type type) {
  static constexpr const char* kNames[] = {"null",     "a bool",   "an int",   "a double",
                                           "a string", "an array", "an object"};
  return kNames[static_cast<size_t>(type)];
}

// True if `d` has an exact int64 value (NaN and values outside [-2^63, 2^63) have none).
bool isInt64Valued(double d) {
  return d >= -0x1p63 && d < 0x1p63 && std::trunc(d) == d;
}

std::partial_ordering compareIntDouble(int64_t i, double d) {
  if (std::isnan(d)) return std::partial_ordering::unordered;
  if (d >= 0x1p63) return std::partial_ordering::less;
  if (d < -0x1p63) return std::partial_ordering::greater;
  // Exact in this range: truncation is representable, and so is the fraction d - t.
  const auto t = static_cast<int64_t>(d);
  if (i != t) return i <=> t;
  return 0.0 <=> (d - static_cast<double>(t));
}

// The type order of <=>: Int and Double share a rank and compare numerically.
int typeRank(Value::Type type) {
  return type <= Value::Type::Int ? static_cast<int>(type) : static_cast<int>(type) - 1;
}

size_t mix(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  x ^= x >> 33;
  return static_cast<size_t>(x);
}

size_t combine(size_t seed, size_t h) {
  return mix(seed ^ (h + 0x9e3779b97f4a7c15ULL + (seed << 6) + (seed >> 2)));
}

size_t hashInt(int64_t i) {
  return mix(static_cast<uint64_t>(i));
}

// Keeps the first position and the last value of each key (JSON.parse's rule). Small objects,
// the common case, are checked without allocating.
void removeDuplicateKeys(Value::Object& members) {
  const size_t n = members.size();
  if (n < 2) return;
  if (n <= 16) {
    bool duplicate = false;
    for (size_t i = 1; i < n && !duplicate; ++i) {
      for (size_t j = 0; j < i && !duplicate; ++j) duplicate = members[i].first == members[j].first;
    }
    if (!duplicate) return;
  }
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return members[a].first < members[b].first; });
  std::vector<bool> keep(n, true);
  bool any = false;
  for (size_t group = 0; group < n;) {
    size_t end = group + 1;
    while (end < n && members[order[end]].first == members[order[group]].first) ++end;
    if (end - group > 1) {
      any = true;
      members[order[group]].second = std::move(members[order[end - 1]].second);
      for (size_t k = group + 1; k < end; ++k) keep[order[k]] = false;
    }
    group = end;
  }
  if (!any) return;
  size_t out = 0;
  for (size_t i = 0; i < n; ++i) {
    if (!keep[i]) continue;
    if (out != i) members[out] = std::move(members[i]);
    ++out;
  }
  members.erase(members.begin() + static_cast<std::ptrdiff_t>(out), members.end());
}

}  // namespace

// ---- construction, reps, access ----

Value::Value(const char* s) {
  if (s == nullptr) {
    payload_.i = 0;
    return;
  }
  type_ = Type::String;
  payload_.rep = newStringRep(s);
}

Value::Value(std::string_view s) : type_(Type::String), payload_{.rep = newStringRep(s)} {}

Value::Value(const std::string& s) : Value(std::string_view(s)) {}

Value::Value(Array items)
    : type_(Type::Array), payload_{.rep = new detail::ArrayRep(std::move(items))} {}

Value::Value(Object members) : type_(Type::Object) {
  removeDuplicateKeys(members);
  payload_.rep = new detail::ObjectRep(std::move(members));
}

Value Value::array() {
  return Value(Array{});
}

Value Value::object() {
  return Value(Object{});
}

void Value::destroyRep(Type type, detail::ValueRep* rep) noexcept {
  switch (type) {
    case Type::String: {
      auto* string = static_cast<detail::StringRep*>(rep);
      string->~StringRep();
      ::operator delete(string);
      break;
    }
    case Type::Array:
      delete static_cast<detail::ArrayRep*>(rep);
      break;
    case Type::Object:
      delete static_cast<detail::ObjectRep*>(rep);
      break;
    default:
      break;
  }
}

void Value::detach() {
  detail::ValueRep* copy;
  if (type_ == Type::Array) {
    copy = new detail::ArrayRep(static_cast<detail::ArrayRep*>(payload_.rep)->items);
  } else {
    copy = new detail::ObjectRep(static_cast<detail::ObjectRep*>(payload_.rep)->members);
  }
  release();
  payload_.rep = copy;
}

const char* Value::typeName() const noexcept {
  static constexpr const char* kNames[] = {"null",   "bool",  "int",   "double",
                                           "string", "array", "object"};
  return kNames[static_cast<size_t>(type_)];
}

void Value::throwTypeError(const char* expected) const {
  throw TypeError(fmt::format("expected {}, got {}", expected, withArticle(type_)));
}

int64_t Value::intFromDouble() const {
  if (type_ != Type::Double) throwTypeError("an int");
  if (!isInt64Valued(payload_.d)) {
    throw TypeError(
        fmt::format("expected an int, got a double without an exact int64 value ({})", payload_.d));
  }
  return static_cast<int64_t>(payload_.d);
}

const Value* Value::find(std::string_view key) const {
  if (type_ != Type::Object) return nullptr;
  for (const auto& [name, member] : asObject()) {
    if (name == key) return &member;
  }
  return nullptr;
}

Value& Value::operator[](std::string_view key) {
  if (type_ == Type::Null) *this = object();
  if (type_ != Type::Object) {
    throw TypeError(
        fmt::format("expected an object to look up \"{}\" in, got {}", key, withArticle(type_)));
  }
  Object& members = asObject();
  for (auto& [name, member] : members) {
    if (name == key) return member;
  }
  return members.emplace_back(std::string(key), Value()).second;
}

const Value& Value::operator[](std::string_view key) const {
  if (type_ == Type::Null) return kNullValue;
  if (type_ != Type::Object) {
    throw TypeError(
        fmt::format("expected an object to look up \"{}\" in, got {}", key, withArticle(type_)));
  }
  const Value* member = find(key);
  return member != nullptr ? *member : kNullValue;
}

const Value& Value::operator[](size_t index) const {
  const Array& items = asArray();
  if (index >= items.size()) {
    throw Error(fmt::format("array index {} is out of range (size {})", index, items.size()));
  }
  return items[index];
}

Value& Value::operator[](size_t index) {
  if (index >= std::as_const(*this).asArray().size()) {
    throw Error(fmt::format("array index {} is out of range (size {})", index, size()));
  }
  return asArray()[index];
}

Value& Value::push(Value item) {
  if (type_ == Type::Null) *this = array();
  if (type_ != Type::Array) {
    throw TypeError(fmt::format("expected an array to push to, got {}", withArticle(type_)));
  }
  return asArray().emplace_back(std::move(item));
}

// ---- comparison and hashing ----

bool operator==(const Value& a, const Value& b) {
  using Type = Value::Type;
  if (a.type_ != b.type_) {
    if (a.isNumber() && b.isNumber()) return (a <=> b) == 0;
    return false;
  }
  switch (a.type_) {
    case Type::Null:
      return true;
    case Type::Bool:
      return a.payload_.b == b.payload_.b;
    case Type::Int:
      return a.payload_.i == b.payload_.i;
    case Type::Double:
      return a.payload_.d == b.payload_.d;
    case Type::String:
      return a.payload_.rep == b.payload_.rep || a.asString() == b.asString();
    case Type::Array:
      return a.asArray() == b.asArray();
    case Type::Object:
      return a.asObject() == b.asObject();
  }
  return false;
}

std::partial_ordering operator<=>(const Value& a, const Value& b) {
  using Type = Value::Type;
  if (a.type_ != b.type_ || a.isNumber()) {
    if (!a.isNumber() || !b.isNumber()) return typeRank(a.type_) <=> typeRank(b.type_);
    if (a.isInt() && b.isInt()) return a.payload_.i <=> b.payload_.i;
    if (a.isDouble() && b.isDouble()) return a.payload_.d <=> b.payload_.d;
    if (a.isInt()) return compareIntDouble(a.payload_.i, b.payload_.d);
    return 0 <=> compareIntDouble(b.payload_.i, a.payload_.d);
  }
  switch (a.type_) {
    case Type::Bool:
      return a.payload_.b <=> b.payload_.b;
    case Type::String:
      return a.asString() <=> b.asString();
    case Type::Array:
      return a.asArray() <=> b.asArray();
    case Type::Object:
      return a.asObject() <=> b.asObject();
    default:
      return std::partial_ordering::equivalent;
  }
}

size_t Value::hash() const noexcept {
  switch (type_) {
    case Type::Null:
      return 0x6c62272e07bb0142ULL;
    case Type::Bool:
      return mix(payload_.b ? 2 : 1);
    case Type::Int:
      return hashInt(payload_.i);
    case Type::Double:
      // An integral double equals the Int of the same value, so it must hash like it.
      if (isInt64Valued(payload_.d)) return hashInt(static_cast<int64_t>(payload_.d));
      return mix(std::bit_cast<uint64_t>(payload_.d));
    case Type::String:
      return std::hash<std::string_view>{}(asString());
    case Type::Array: {
      size_t h = mix(0xa770 + size());
      for (const Value& item : asArray()) h = combine(h, item.hash());
      return h;
    }
    case Type::Object: {
      size_t h = mix(0x0b1ec7 + size());
      for (const auto& [name, member] : asObject()) {
        h = combine(combine(h, std::hash<std::string_view>{}(name)), member.hash());
      }
      return h;
    }
  }
  return 0;
}

// ---- JSON ----

namespace {

// RapidJSON SAX handler that builds Values bottom-up: scalars and finished containers wait on
// `values_` (object keys on `keys_`) until their container ends.
class JsonBuilder {
 public:
  bool Null() { return add(Value()); }
  bool Bool(bool b) { return add(Value(b)); }
  bool Int(int i) { return add(Value(i)); }
  bool Uint(unsigned u) { return add(Value(u)); }
  bool Int64(int64_t i) { return add(Value(i)); }
  bool Uint64(uint64_t u) { return add(Value(u)); }
  bool Double(double d) { return add(Value(d)); }
  bool RawNumber(const char*, rapidjson::SizeType, bool) { return false; }  // not requested
  bool String(const char* s, rapidjson::SizeType n, bool) {
    return add(Value(std::string_view(s, n)));
  }
  bool Key(const char* s, rapidjson::SizeType n, bool) {
    keys_.emplace_back(s, n);
    return true;
  }
  bool StartObject() { return enter(); }
  bool StartArray() { return enter(); }
  bool EndArray(rapidjson::SizeType n) {
    const auto first = values_.end() - n;
    Value array(
        Value::Array(std::make_move_iterator(first), std::make_move_iterator(values_.end())));
    values_.erase(first, values_.end());
    return leave(std::move(array));
  }
  bool EndObject(rapidjson::SizeType n) {
    Value::Object members;
    members.reserve(n);
    const auto first_key = keys_.end() - n;
    const auto first_value = values_.end() - n;
    for (rapidjson::SizeType i = 0; i < n; ++i) {
      members.emplace_back(std::move(first_key[i]), std::move(first_value[i]));
    }
    keys_.erase(first_key, keys_.end());
    values_.erase(first_value, values_.end());
    return leave(Value(std::move(members)));
  }

  bool tooDeep() const { return depth_ > kMaxDepth; }
  Value result() { return std::move(values_.back()); }

 private:
  bool add(Value value) {
    values_.push_back(std::move(value));
    return true;
  }
  bool enter() { return ++depth_ <= kMaxDepth; }
  bool leave(Value container) {
    --depth_;
    return add(std::move(container));
  }

  std::vector<Value> values_;
  std::vector<std::string> keys_;
  int depth_ = 0;
};

rapidjson::SizeType jsonLength(std::string_view s) {
  if (s.size() > std::numeric_limits<rapidjson::SizeType>::max()) {
    throw Error(fmt::format("a string of {} bytes is too long to print as JSON", s.size()));
  }
  return static_cast<rapidjson::SizeType>(s.size());
}

// JSON text appended to a std::string, byte for byte what rapidjson::Writer writes (its escapes,
// its shortest round-trip doubles), but copying runs of plain characters at once: Writer puts
// every character through the output stream one at a time, which made a third of the cost of
// handing objects to JavaScript.
void appendString(std::string& out, std::string_view s) {
  jsonLength(s);
  static constexpr char kHex[] = "0123456789ABCDEF";
  out.push_back('"');
  const char* run = s.data();
  const char* end = s.data() + s.size();
  for (const char* p = run; p != end; ++p) {
    const auto c = static_cast<unsigned char>(*p);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out.append(run, static_cast<std::size_t>(p - run));
    run = p + 1;
    out.push_back('\\');
    switch (c) {
      case '"':
        out.push_back('"');
        break;
      case '\\':
        out.push_back('\\');
        break;
      case '\b':
        out.push_back('b');
        break;
      case '\t':
        out.push_back('t');
        break;
      case '\n':
        out.push_back('n');
        break;
      case '\f':
        out.push_back('f');
        break;
      case '\r':
        out.push_back('r');
        break;
      default:
        out += "u00";
        out.push_back(kHex[c >> 4]);
        out.push_back(kHex[c & 0xF]);
    }
  }
  out.append(run, static_cast<std::size_t>(end - run));
  out.push_back('"');
}

void writeJson(std::string& out, const Value& value) {
  switch (value.type()) {
    case Value::Type::Null:
      out += "null";
      break;
    case Value::Type::Bool:
      out += value.asBool() ? "true" : "false";
      break;
    case Value::Type::Int: {
      char buffer[24];
      auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value.asInt());
      out.append(buffer, end);
      break;
    }
    case Value::Type::Double:
      if (std::isfinite(value.asDouble())) {
        char buffer[32];
        char* end = rapidjson::internal::dtoa(value.asDouble(), buffer);
        out.append(buffer, end);
      } else {
        out += "null";
      }
      break;
    case Value::Type::String:
      appendString(out, value.asString());
      break;
    case Value::Type::Array: {
      out.push_back('[');
      bool first = true;
      for (const Value& item : value.asArray()) {
        if (!first) out.push_back(',');
        first = false;
        writeJson(out, item);
      }
      out.push_back(']');
      break;
    }
    case Value::Type::Object: {
      out.push_back('{');
      bool first = true;
      for (const auto& [name, member] : value.asObject()) {
        if (!first) out.push_back(',');
        first = false;
        appendString(out, name);
        out.push_back(':');
        writeJson(out, member);
      }
      out.push_back('}');
      break;
    }
  }
}

}  // namespace

Value Value::parseJson(std::string_view text) {
  // Iterative: nesting must not grow the call stack. Full precision: doubles round-trip.
  constexpr unsigned kFlags = rapidjson::kParseIterativeFlag | rapidjson::kParseFullPrecisionFlag |
                              rapidjson::kParseValidateEncodingFlag;
  rapidjson::MemoryStream stream(text.data(), text.size());
  JsonBuilder builder;
  rapidjson::Reader reader;
  const rapidjson::ParseResult result = reader.Parse<kFlags>(stream, builder);
  if (result.IsError()) {
    const std::string reason = builder.tooDeep()
                                   ? fmt::format("nesting is deeper than {} levels.", kMaxDepth)
                                   : rapidjson::GetParseError_En(result.Code());
    throw InputError(fmt::format("invalid JSON at offset {}: {}", result.Offset(), reason));
  }
  // MemoryStream reports a NUL byte as the end of input; anything after it is not JSON.
  if (stream.Tell() != text.size()) {
    throw InputError(
        fmt::format("invalid JSON at offset {}: unexpected NUL character.", stream.Tell()));
  }
  return builder.result();
}

std::string Value::toJson() const {
  std::string out;
  appendJson(out);
  return out;
}

void Value::appendJson(std::string& out) const {
  writeJson(out, *this);
}

std::ostream& operator<<(std::ostream& os, const Value& value) {
  return os << value.toJson();
}

// ---- binary form ----

namespace {

// Format 1. Tag 0 is never written, so zero-filled garbage is rejected at once.
enum BinaryTag : uint8_t {
  kTagNull = 1,
  kTagFalse,
  kTagTrue,
  kTagInt,     // zigzag varint
  kTagDouble,  // 8 bytes, IEEE 754 bits little-endian
  kTagString,  // varint length, bytes
  kTagArray,   // varint count, values
  kTagObject,  // varint count, then per member: varint key length, key bytes, value
};

void putVarint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>(v | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

void putBytes(std::string& out, std::string_view bytes) {
  putVarint(out, bytes.size());
  out.append(bytes);
}

class BinaryReader {
 public:
  explicit BinaryReader(std::string_view in)
      : begin_(in.data()), pos_(begin_), end_(begin_ + in.size()) {}

  size_t consumed() const { return static_cast<size_t>(pos_ - begin_); }

  Value read(int depth) {
    const size_t tag_offset = consumed();
    switch (const uint8_t tag = byte()) {
      case kTagNull:
        return Value();
      case kTagFalse:
        return Value(false);
      case kTagTrue:
        return Value(true);
      case kTagInt: {
        const uint64_t z = varint();
        return Value(static_cast<int64_t>(z >> 1) ^ -static_cast<int64_t>(z & 1));
      }
      case kTagDouble: {
        const std::string_view raw = bytes(8);
        uint64_t bits = 0;
        for (int i = 7; i >= 0; --i) bits = (bits << 8) | static_cast<uint8_t>(raw[i]);
        return Value(std::bit_cast<double>(bits));
      }
      case kTagString:
        return Value(bytes(count()));
      case kTagArray:
      case kTagObject:
        if (depth >= kMaxDepth)
          fail(tag_offset, fmt::format("nesting is deeper than {} levels", kMaxDepth));
        return tag == kTagArray ? readArray(depth + 1) : readObject(depth + 1);
      default:
        fail(tag_offset, fmt::format("unknown tag 0x{:02x}", tag));
    }
  }

 private:
  Value readArray(int depth) {
    Value::Array items(count());
    for (Value& item : items) item = read(depth);
    return Value(std::move(items));
  }

  Value readObject(int depth) {
    const size_t n = count();
    Value::Object members;
    members.reserve(n);
    for (size_t i = 0; i < n; ++i) {
      std::string key(bytes(count()));
      members.emplace_back(std::move(key), read(depth));
    }
    return Value(std::move(members));
  }

  uint8_t byte() { return static_cast<uint8_t>(bytes(1)[0]); }

  uint64_t varint() {
    const size_t offset = consumed();
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      const uint8_t b = byte();
      v |= static_cast<uint64_t>(b & 0x7f) << shift;
      if ((b & 0x80) == 0) return v;
    }
    fail(offset, "varint is longer than 10 bytes");
  }

  // A length or element count: each element takes at least one byte, so a count larger than
  // what is left is truncation (and must not size an allocation).
  size_t count() {
    const uint64_t n = varint();
    if (n > static_cast<uint64_t>(end_ - pos_)) truncated(n);
    return static_cast<size_t>(n);
  }

  std::string_view bytes(uint64_t n) {
    if (n > static_cast<uint64_t>(end_ - pos_)) truncated(n);
    const std::string_view result(pos_, static_cast<size_t>(n));
    pos_ += n;
    return result;
  }

  [[noreturn]] void truncated(uint64_t needed) {
    fail(consumed(), fmt::format("truncated: {} bytes needed, {} left", needed, end_ - pos_));
  }

  [[noreturn]] void fail(size_t offset, std::string_view what) {
    throw InputError(fmt::format("invalid binary Value at offset {}: {}", offset, what));
  }

  const char* begin_;
  const char* pos_;
  const char* end_;
};

}  // namespace

void Value::writeBinary(std::string& out) const {
  switch (type_) {
    case Type::Null:
      out.push_back(kTagNull);
      break;
    case Type::Bool:
      out.push_back(payload_.b ? kTagTrue : kTagFalse);
      break;
    case Type::Int:
      out.push_back(kTagInt);
      putVarint(out,
                (static_cast<uint64_t>(payload_.i) << 1) ^ static_cast<uint64_t>(payload_.i >> 63));
      break;
    case Type::Double: {
      out.push_back(kTagDouble);
      const auto bits = std::bit_cast<uint64_t>(payload_.d);
      for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>(bits >> (8 * i)));
      break;
    }
    case Type::String:
      out.push_back(kTagString);
      putBytes(out, asString());
      break;
    case Type::Array:
      out.push_back(kTagArray);
      putVarint(out, size());
      for (const Value& item : asArray()) item.writeBinary(out);
      break;
    case Type::Object:
      out.push_back(kTagObject);
      putVarint(out, size());
      for (const auto& [name, member] : asObject()) {
        putBytes(out, name);
        member.writeBinary(out);
      }
      break;
  }
}

Value Value::readBinary(std::string_view& in) {
  BinaryReader reader(in);
  Value value = reader.read(0);
  in.remove_prefix(reader.consumed());
  return value;
}

}  // namespace lightflus
