// nexmark::Text: the string fields of Nexmark events, without an allocation per event.
//
// Almost every string the generator makes is either a slice of a table that lives as long as
// the process (a bid's channel, url and extra, a person's city and state, every extra) or a
// short generated name (a person's name, email address and credit card, an auction's item
// name). Text holds the first kind as a view of the table, the second inline (up to
// kInlineCapacity characters), and owns a heap copy only of longer strings that are neither (an
// auction's description, the fields of events read from JSON). So generating, moving and
// copying a bid allocates nothing, and a query that passes a bid's extra on copies 24 bytes.
//
//     Text a = "Peter Smith";                       // inline copy
//     Text b = Text::borrowed(kTable[i]);           // a view: kTable outlives every copy of b
//     std::string_view v = a;                       // reads like a std::string_view
#pragma once

#include <compare>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>

#include "lightflus/serializer.hpp"

namespace lightflus::nexmark {

/// An immutable string: inline when short, a view of storage that outlives it, or its own
/// heap copy. Compares, hashes and converts like std::string_view.
class Text {
 public:
  /// The longest string kept inline (without a view or an allocation).
  static constexpr std::size_t kInlineCapacity = 22;

  Text() noexcept = default;
  /// A copy of `s`: inline when it fits, otherwise on the heap.
  Text(std::string_view s) { assign(s); }
  Text(const char* s) : Text(std::string_view(s)) {}
  Text(const std::string& s) : Text(std::string_view(s)) {}

  /// A view of `s`, which must outlive every copy of the Text (a static table, a literal).
  static Text borrowed(std::string_view s) noexcept { return Text(s, Kind::Borrowed); }

  Text(const Text& other) {
    if (other.kind_ == Kind::Owned)
      assign(other.view());
    else
      copyFields(other);
  }
  Text(Text&& other) noexcept {
    copyFields(other);
    other.kind_ = Kind::Inline;
    other.inline_size_ = 0;
  }
  Text& operator=(const Text& other) {
    if (this != &other) *this = Text(other);
    return *this;
  }
  Text& operator=(Text&& other) noexcept {
    if (this != &other) {
      release();
      copyFields(other);
      other.kind_ = Kind::Inline;
      other.inline_size_ = 0;
    }
    return *this;
  }
  ~Text() { release(); }

  const char* data() const noexcept { return kind_ == Kind::Inline ? bytes_ : outside().data; }
  std::size_t size() const noexcept {
    return kind_ == Kind::Inline ? inline_size_ : outside().size;
  }
  bool empty() const noexcept { return size() == 0; }
  std::string_view view() const noexcept { return {data(), size()}; }
  operator std::string_view() const noexcept { return view(); }
  std::string str() const { return std::string(view()); }
  const char* begin() const noexcept { return data(); }
  const char* end() const noexcept { return data() + size(); }
  char operator[](std::size_t i) const noexcept { return data()[i]; }

  std::size_t find(std::string_view s, std::size_t pos = 0) const noexcept {
    return view().find(s, pos);
  }
  std::size_t find(char c, std::size_t pos = 0) const noexcept { return view().find(c, pos); }
  std::size_t rfind(std::string_view s, std::size_t pos = std::string_view::npos) const noexcept {
    return view().rfind(s, pos);
  }
  bool starts_with(std::string_view s) const noexcept { return view().starts_with(s); }

  // One pair of operators against std::string_view serves Text, std::string and literals
  // alike (a Text converts to std::string_view; C++20 tries both argument orders).
  friend bool operator==(const Text& a, std::string_view b) noexcept { return a.view() == b; }
  friend std::strong_ordering operator<=>(const Text& a, std::string_view b) noexcept {
    return a.view() <=> b;
  }

 private:
  enum class Kind : std::uint8_t { Inline, Borrowed, Owned };
  struct Outside {
    const char* data;
    std::size_t size;
  };

  Text(std::string_view s, Kind kind) noexcept { setOutside(s.data(), s.size(), kind); }

  Outside outside() const noexcept {
    Outside o;
    std::memcpy(&o, bytes_, sizeof o);
    return o;
  }
  void setOutside(const char* data, std::size_t size, Kind kind) noexcept {
    const Outside o{data, size};
    std::memcpy(bytes_, &o, sizeof o);
    kind_ = kind;
  }
  void assign(std::string_view s) {
    if (s.size() <= kInlineCapacity) {
      std::memcpy(bytes_, s.data(), s.size());
      inline_size_ = static_cast<std::uint8_t>(s.size());
      kind_ = Kind::Inline;
    } else {
      char* copy = new char[s.size()];
      std::memcpy(copy, s.data(), s.size());
      setOutside(copy, s.size(), Kind::Owned);
    }
  }
  void copyFields(const Text& other) noexcept {
    std::memcpy(bytes_, other.bytes_, sizeof bytes_);
    inline_size_ = other.inline_size_;
    kind_ = other.kind_;
  }
  void release() noexcept {
    if (kind_ == Kind::Owned) delete[] outside().data;
  }

  // Inline characters, or an Outside {data, size}: 24 bytes in all.
  alignas(Outside) char bytes_[kInlineCapacity];
  std::uint8_t inline_size_ = 0;
  Kind kind_ = Kind::Inline;
};

static_assert(sizeof(Text) == 24);

}  // namespace lightflus::nexmark

template <>
struct std::hash<lightflus::nexmark::Text> {
  std::size_t operator()(const lightflus::nexmark::Text& t) const noexcept {
    return std::hash<std::string_view>{}(t.view());
  }
};

namespace lightflus {

/// A Text is written as a std::string is; it reads back as its own copy.
template <>
struct Serializer<nexmark::Text> {
  static void write(StateWriter& w, const nexmark::Text& t) {
    w.writeSize(t.size());
    w.writeBytes(t.data(), t.size());
  }
  static nexmark::Text read(StateReader& r) { return nexmark::Text(r.readView(r.readSize())); }
};

}  // namespace lightflus
