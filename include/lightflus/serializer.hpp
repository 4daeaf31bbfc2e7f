// Binary serialization of state for snapshots.
//
// Every stateful operator and source writes its state with a StateWriter when a snapshot is
// taken and reads it back with a StateReader on restore. Serializer<T> knows how to write one
// T; it exists for arithmetic types, enums, strings, std::pair/tuple/vector/optional/map/
// unordered_map of serializable types, Value (see value.hpp), and trivially copyable structs.
// Specialize it for your own types:
//
//     template <> struct lightflus::Serializer<Point> {
//       static void write(StateWriter& w, const Point& p) { w.write(p.x); w.write(p.y); }
//       static Point read(StateReader& r) { return {r.read<double>(), r.read<double>()}; }
//     };
#pragma once

#include <cstdint>
#include <cstring>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include "lightflus/error.hpp"

namespace lightflus {

class StateWriter;
class StateReader;

/// Writes and reads one T. The primary template handles trivially copyable types.
template <class T, class Enable = void>
struct Serializer;

/// True when Serializer<T> can write and read T.
template <class T>
concept Serializable = requires(StateWriter& w, StateReader& r, const T& v) {
  Serializer<T>::write(w, v);
  { Serializer<T>::read(r) } -> std::convertible_to<T>;
};

/// Appends the binary form of values to a byte string.
class StateWriter {
 public:
  /// `checkpoint_id`: the checkpoint this snapshot belongs to (0 outside a checkpoint).
  explicit StateWriter(std::string& out, std::uint64_t checkpoint_id = 0)
      : out_(&out), checkpoint_id_(checkpoint_id) {}
  void writeBytes(const void* data, std::size_t n) {
    out_->append(static_cast<const char*>(data), n);
  }
  void writeSize(std::uint64_t n) { writeBytes(&n, sizeof n); }
  template <class T>
  void write(const T& value) {
    Serializer<T>::write(*this, value);
  }
  /// Writes what `body(*this)` writes as a length-prefixed string (the form `write(std::string)`
  /// gives), in place: no temporary buffer, no copy.
  template <class F>
  void writeLengthPrefixed(F&& body) {
    std::size_t at = out_->size();
    writeSize(0);
    body(*this);
    std::uint64_t n = out_->size() - at - sizeof(std::uint64_t);
    std::memcpy(out_->data() + at, &n, sizeof n);
  }
  /// Makes room for `n` more bytes (a hint, for large snapshots).
  void reserve(std::size_t n) { out_->reserve(out_->size() + n); }
  std::string& buffer() { return *out_; }
  /// The checkpoint being taken (ids increase, also across restores); 0 outside a checkpoint.
  /// Two-phase-commit sinks tag what they will commit on notifyCheckpointComplete(id) with it.
  std::uint64_t checkpointId() const noexcept { return checkpoint_id_; }

 private:
  std::string* out_;
  std::uint64_t checkpoint_id_;
};

/// Reads values back in the order they were written; throws InputError when the data ends
/// early (a truncated or corrupt snapshot).
class StateReader {
 public:
  explicit StateReader(std::string_view in) : in_(in) {}
  void readBytes(void* data, std::size_t n) {
    if (n > in_.size()) throw InputError("snapshot data is truncated or corrupt");
    std::memcpy(data, in_.data(), n);
    in_.remove_prefix(n);
  }
  std::string_view readView(std::size_t n) {
    if (n > in_.size()) throw InputError("snapshot data is truncated or corrupt");
    std::string_view v = in_.substr(0, n);
    in_.remove_prefix(n);
    return v;
  }
  std::uint64_t readSize() {
    std::uint64_t n;
    readBytes(&n, sizeof n);
    return n;
  }
  template <class T>
  T read() {
    return Serializer<T>::read(*this);
  }
  bool atEnd() const { return in_.empty(); }
  std::string_view& remaining() { return in_; }

 private:
  std::string_view in_;
};

template <class T>
struct Serializer<T, std::enable_if_t<std::is_trivially_copyable_v<T> && !std::is_pointer_v<T>>> {
  static void write(StateWriter& w, const T& v) { w.writeBytes(&v, sizeof v); }
  static T read(StateReader& r) {
    T v;
    r.readBytes(&v, sizeof v);
    return v;
  }
};

template <>
struct Serializer<std::string> {
  static void write(StateWriter& w, const std::string& s) {
    w.writeSize(s.size());
    w.writeBytes(s.data(), s.size());
  }
  static std::string read(StateReader& r) { return std::string(r.readView(r.readSize())); }
};

template <class A, class B>
requires Serializable<A> && Serializable<B>
struct Serializer<std::pair<A, B>,
                  std::enable_if_t<!std::is_trivially_copyable_v<std::pair<A, B>>>> {
  static void write(StateWriter& w, const std::pair<A, B>& p) {
    w.write(p.first);
    w.write(p.second);
  }
  static std::pair<A, B> read(StateReader& r) {
    A a = r.read<A>();
    B b = r.read<B>();
    return {std::move(a), std::move(b)};
  }
};

template <class... Ts>
requires(Serializable<Ts>&&...) struct Serializer<
    std::tuple<Ts...>, std::enable_if_t<!std::is_trivially_copyable_v<std::tuple<Ts...>>>> {
  static void write(StateWriter& w, const std::tuple<Ts...>& t) {
    std::apply([&](const auto&... parts) { (w.write(parts), ...); }, t);
  }
  static std::tuple<Ts...> read(StateReader& r) { return std::tuple<Ts...>{r.read<Ts>()...}; }
};

template <class T>
requires Serializable<T>
struct Serializer<std::vector<T>> {
  static void write(StateWriter& w, const std::vector<T>& v) {
    w.writeSize(v.size());
    for (const auto& e : v) w.write(e);
  }
  static std::vector<T> read(StateReader& r) {
    std::vector<T> v;
    std::uint64_t n = r.readSize();
    v.reserve(static_cast<std::size_t>(std::min<std::uint64_t>(n, 1 << 20)));
    for (std::uint64_t i = 0; i < n; ++i) v.push_back(r.read<T>());
    return v;
  }
};

template <class T>
requires Serializable<T>
struct Serializer<std::optional<T>,
                  std::enable_if_t<!std::is_trivially_copyable_v<std::optional<T>>>> {
  static void write(StateWriter& w, const std::optional<T>& v) {
    w.write(v.has_value());
    if (v) w.write(*v);
  }
  static std::optional<T> read(StateReader& r) {
    if (!r.read<bool>()) return std::nullopt;
    return r.read<T>();
  }
};

namespace detail {
template <class M>
struct MapSerializer {
  static void write(StateWriter& w, const M& m) {
    w.writeSize(m.size());
    for (const auto& [k, v] : m) {
      w.write(k);
      w.write(v);
    }
  }
  static M read(StateReader& r) {
    M m;
    std::uint64_t n = r.readSize();
    for (std::uint64_t i = 0; i < n; ++i) {
      auto k = r.read<typename M::key_type>();
      auto v = r.read<typename M::mapped_type>();
      m.emplace(std::move(k), std::move(v));
    }
    return m;
  }
};

/// The name of T as the compiler spells it (no RTTI needed).
template <class T>
std::string typeName() {
  std::string_view f = __PRETTY_FUNCTION__;  // "... typeName() [with T = X; ...]"
  auto start = f.find("T = ");
  if (start == std::string_view::npos) return std::string(f);
  start += 4;
  auto end = f.find_first_of(";]", start);
  return std::string(f.substr(start, end - start));
}

/// Writes `value` if its type is serializable, else throws a ConfigError naming the type.
template <class T>
void writeIfSerializable(StateWriter& w, const T& value) {
  if constexpr (Serializable<T>) {
    w.write(value);
  } else {
    throw ConfigError("cannot snapshot state of type '" + typeName<T>() +
                      "': specialize lightflus::Serializer for it");
  }
}

template <class T>
T readIfSerializable(StateReader& r) {
  if constexpr (Serializable<T>) {
    return r.read<T>();
  } else {
    throw ConfigError("cannot restore state of type '" + typeName<T>() +
                      "': specialize lightflus::Serializer for it");
  }
}
}  // namespace detail

template <class K, class V, class H, class E, class A>
requires Serializable<K> && Serializable<V>
struct Serializer<std::unordered_map<K, V, H, E, A>>
    : detail::MapSerializer<std::unordered_map<K, V, H, E, A>> {
};
template <class K, class V, class C, class A>
requires Serializable<K> && Serializable<V>
struct Serializer<std::map<K, V, C, A>> : detail::MapSerializer<std::map<K, V, C, A>> {
};

}  // namespace lightflus
