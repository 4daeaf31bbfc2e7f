// windowAll: windows over the whole stream rather than per key (Flink's AllWindowedStream).
//
//     events.windowAll(TumblingEventTimeWindows::of(Time::seconds(10)))
//         .aggregate(MaxPrice{}, [](const TimeWindow& w, std::int64_t max) { return ...; });
//
// Every element goes to one set of windows, which fire in one task (parallelism 1). The
// functions are the keyed window's without the key: reduce(f), aggregate(agg),
// aggregate(agg, fn(window, result)), process<Out>(fn(window, elements, out)) and topN(n, by).
// A reduce, or an aggregate with merge(), over tumbling event-time or global windows is
// pre-aggregated in the parallel subtasks of the operator before it (one partial per subtask
// and window crosses to the one task), as for keyed windows; allowed lateness and late-data
// side outputs work as there and turn that off.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "lightflus/datastream.hpp"

namespace lightflus {

namespace detail {

/// The one key of windowAll: every element gets it.
struct AllWindowsKey {
  template <class T>
  std::uint8_t operator()(const T&) const {
    return 0;
  }
};

}  // namespace detail

/// The whole stream grouped into windows (from DataStream::windowAll).
template <class T, class A>
class AllWindowedStream {
 public:
  using W = typename A::Window;

  AllWindowedStream(const DataStream<T>& input, A assigner)
      : windowed_(input.keyBy(detail::AllWindowsKey{}).window(std::move(assigner))) {}

  /// Keeps fired windows this long after the watermark passed them (see WindowedStream).
  AllWindowedStream allowedLateness(Duration d) const {
    return AllWindowedStream(windowed_.allowedLateness(d));
  }
  /// Sends elements too late for their windows to the side output `tag`.
  AllWindowedStream sideOutputLateData(const OutputTag<T>& tag) const {
    return AllWindowedStream(windowed_.sideOutputLateData(tag));
  }

  /// One result per window: f(const T&, const T&) -> T over its elements.
  template <class F>
  requires ReduceFunction<F, T> DataStream<T> reduce(F f)
  const { return single(windowed_.reduce(std::move(f))); }
  /// One agg.getResult() per window.
  template <class Agg>
  requires AggregateFunction<Agg, T>
  auto aggregate(Agg agg) const { return single(windowed_.aggregate(std::move(agg))); }
  /// fn(const Window&, result) -> Out per window.
  template <class Agg, class F>
  requires AggregateFunction<Agg, T>
  auto aggregate(Agg agg, F fn) const {
    return single(windowed_.aggregate(
        std::move(agg), [fn](const std::uint8_t&, const W& w, const auto& result) mutable {
          return fn(w, result);
        }));
  }
  /// fn(const Window&, const std::vector<T>&, Collector<Out>&) per window.
  template <class Out, class F>
  DataStream<Out> process(F fn) const {
    return single(windowed_.template process<Out>(
        [fn](const std::uint8_t&, const W& w, const std::vector<T>& elements,
             Collector<Out>& out) mutable { fn(w, elements, out); }));
  }
  /// The `n` elements with the highest `by(element)` per window, as Ranked rows (see
  /// WindowedStream::topN: ties share a rank).
  template <class By>
  requires std::invocable<const By&, const T&>
  auto topN(std::size_t n, By by) const { return single(windowed_.topN(n, std::move(by))); }

 private:
  explicit AllWindowedStream(WindowedStream<T, detail::AllWindowsKey, A> windowed)
      : windowed_(std::move(windowed)) {}

  template <class Out>
  static DataStream<Out> single(const DataStream<Out>& s) {
    return s.parallelism(1);
  }

  WindowedStream<T, detail::AllWindowsKey, A> windowed_;
};

template <class T>
template <class A>
requires WindowAssigner<A> AllWindowedStream<T, A> DataStream<T>::windowAll(A assigner)
const {
  return AllWindowedStream<T, A>(*this, std::move(assigner));
}

}  // namespace lightflus
