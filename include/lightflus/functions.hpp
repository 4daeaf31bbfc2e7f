// What user functions look like: concepts with readable failures, and aggregate functions.
//
// map(f) needs f(const T&) -> R; filter(f) needs f(const T&) -> bool; flatMap(f) needs either
// f(const T&, Collector<R>&) or f(const T&) -> a range; keyBy(f) needs f(const T&) -> K with a
// std::hash<K>; reduce(f) needs f(const T&, const T&) -> T. An aggregate function is a type
// with createAccumulator(), add(acc&, const T&) and getResult(const acc&), and merge(acc&,
// const acc&) for session windows:
//
//     struct Average {
//       std::pair<double, long> createAccumulator() const { return {0, 0}; }
//       void add(std::pair<double, long>& a, const double& v) const { a.first += v; ++a.second; }
//       double getResult(const std::pair<double, long>& a) const { return a.first / a.second; }
//       void merge(std::pair<double, long>& a, const std::pair<double, long>& b) const {
//         a.first += b.first; a.second += b.second; }
//     };
#pragma once

#include <concepts>
#include <cstdint>
#include <functional>
#include <ranges>
#include <type_traits>

#include "lightflus/element.hpp"

namespace lightflus {

// clang-format 14 breaks concepts with template arguments apart (`std::invocable < F&, ...`).
// clang-format off
template <class F, class T>
concept MapFunction = std::invocable<const F&, const T&> &&
                      !std::is_void_v<std::invoke_result_t<const F&, const T&>>;

template <class F, class T>
concept FilterFunction = std::predicate<const F&, const T&>;

template <class F, class T, class R>
concept FlatMapFunction = std::invocable<F&, const T&, Collector<R>&>;

template <class F, class T>
concept FlatMapRangeFunction =
    std::invocable<F&, const T&> && std::ranges::range<std::invoke_result_t<F&, const T&>>;

template <class F, class T>
concept KeySelector = std::invocable<const F&, const T&> && requires(const F& f, const T& v) {
  { std::hash<std::decay_t<std::invoke_result_t<const F&, const T&>>>{}(f(v)) }
    -> std::convertible_to<std::size_t>;
};

template <class F, class T>
concept ReduceFunction = std::invocable<F&, const T&, const T&> &&
                         std::convertible_to<std::invoke_result_t<F&, const T&, const T&>, T>;

template <class A, class T>
concept AggregateFunction = requires(const A& a, const T& v) {
  a.createAccumulator();
  requires requires(decltype(a.createAccumulator())& acc) {
    a.add(acc, v);
    a.getResult(std::as_const(acc));
  };
};

template <class A>
concept MergingAggregate = requires(const A& a, decltype(a.createAccumulator())& acc) {
  a.merge(acc, std::as_const(acc));
};
// clang-format on

template <class A>
using AccumulatorOf = std::decay_t<decltype(std::declval<const A&>().createAccumulator())>;
template <class A>
using AggregateResultOf = std::decay_t<decltype(std::declval<const A&>().getResult(
    std::declval<const AccumulatorOf<A>&>()))>;

/// The key type of a key selector.
template <class F, class T>
using KeyOf = std::decay_t<std::invoke_result_t<const F&, const T&>>;

/// Counts elements (an aggregate function).
struct Count {
  std::int64_t createAccumulator() const { return 0; }
  template <class T>
  void add(std::int64_t& acc, const T&) const {
    ++acc;
  }
  std::int64_t getResult(const std::int64_t& acc) const { return acc; }
  void merge(std::int64_t& acc, const std::int64_t& other) const { acc += other; }
};

}  // namespace lightflus
