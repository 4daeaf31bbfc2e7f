// Elements, batches and collectors: the units data moves in.
//
// An Element is a value with its event timestamp. Operators exchange Batches (vectors of
// elements), so that a chain of operators costs one virtual call per batch, not per element.
// A Collector is what flatMap and process functions emit into; it appends to the output
// batch without a virtual call.
#pragma once

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

/// Receives the output of flatMap and process functions.
///
///     stream.flatMap<std::string>([](const std::string& line, Collector<std::string>& out) {
///       for (auto word : split(line)) out.collect(std::string(word));
///     });
///
/// Each collected value takes the timestamp of the element being processed unless a
/// timestamp is given.
template <class T>
class Collector {
 public:
  Collector(Batch<T>& out, Timestamp timestamp) : out_(&out), timestamp_(timestamp) {}
  // Templates so that the value is constructed in the batch: collect(std::move(word)) costs
  // one move, where taking T by value and pushing an Element cost three.
  template <class U = T>
  void collect(U&& value) {
    out_->emplace_back(std::forward<U>(value), timestamp_);
  }
  template <class U = T>
  void collect(U&& value, Timestamp timestamp) {
    out_->emplace_back(std::forward<U>(value), timestamp);
  }
  /// The timestamp new elements get by default.
  Timestamp timestamp() const { return timestamp_; }
  void setTimestamp(Timestamp t) { timestamp_ = t; }

 private:
  Batch<T>* out_;
  Timestamp timestamp_;
};

}  // namespace lightflus
