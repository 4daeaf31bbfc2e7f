// Elements, batches and collectors: the units data moves in.
//
// An Element is a value with its event timestamp. Operators exchange Batches (vectors of
// elements), so that a chain of operators costs one virtual call per batch, not per element.
// A Collector is what flatMap and process functions emit into; it appends to the output
// batch without a virtual call. An OutputTag names a side output (late data of a window,
// what a process function sends with ctx.output(tag, value)).
#pragma once

#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "lightflus/time.hpp"

namespace lightflus {

/// A value and its event timestamp (kMinTimestamp when the stream has no event time).
template <class T>
struct Element {
  T value;
  Timestamp timestamp = kMinTimestamp;
};

/// The unit in which elements travel between operators and tasks.
template <class T>
using Batch = std::vector<Element<T>>;

namespace detail {
// Converts to T by explicit construction. Copy-initializing T from it calls the conversion
// function, whose prvalue result initializes the element itself (guaranteed elision).
template <class T, class U>
struct Construct {
  U&& arg;
  operator T() const { return T(std::forward<U>(arg)); }
};
}  // namespace detail

/// Appends an element whose value is constructed in place from `value`: Element is an
/// aggregate, so emplace_back initializes its value from the argument directly, and explicit
/// constructors (std::string from std::string_view) go through detail::Construct.
template <class T, class U>
void appendElement(Batch<T>& batch, U&& value, Timestamp timestamp) {
  if constexpr (std::is_convertible_v<U&&, T>)
    batch.emplace_back(std::forward<U>(value), timestamp);
  else
    batch.emplace_back(detail::Construct<T, U>{std::forward<U>(value)}, timestamp);
}

/// Receives the output of flatMap and process functions.
///
///     stream.flatMap<std::string>([](const std::string& line, Collector<std::string>& out) {
///       for (std::string_view word : split(line)) out.collect(word);
///     });
///
/// collect() constructs the value in the output batch from whatever T can be constructed
/// from (here a std::string from a std::string_view, with no temporary string to move); a T
/// is moved or copied in. Each collected value takes the timestamp of the element being
/// processed unless a timestamp is given.
template <class T>
class Collector {
 public:
  Collector(Batch<T>& out, Timestamp timestamp) : out_(&out), timestamp_(timestamp) {}
  template <class U = T>
  void collect(U&& value) {
    appendElement(*out_, std::forward<U>(value), timestamp_);
  }
  template <class U = T>
  void collect(U&& value, Timestamp timestamp) {
    appendElement(*out_, std::forward<U>(value), timestamp);
  }
  /// The timestamp new elements get by default.
  Timestamp timestamp() const { return timestamp_; }
  void setTimestamp(Timestamp t) { timestamp_ = t; }

 private:
  Batch<T>* out_;
  Timestamp timestamp_;
};

/// Names a side output of type T (late data of a window, ctx.output() of a process function);
/// read it with getSideOutput(tag) on the operator's result stream.
template <class T>
class OutputTag {
 public:
  explicit OutputTag(std::string id) : id_(std::move(id)) {}
  const std::string& id() const { return id_; }

 private:
  std::string id_;
};

}  // namespace lightflus
