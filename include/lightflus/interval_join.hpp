// Interval join: pairs of elements of two keyed streams whose timestamps are close.
//
// As Flink's interval join: for every a of the first stream and b of the second with the same
// key, f(a, b, out) is called when
//
//     a.timestamp + lower <= b.timestamp <= a.timestamp + upper
//
// (bounds inclusive unless made exclusive). It runs in event time:
//
//     orders.keyBy(byCustomer)
//         .intervalJoin(payments.keyBy(byPayer))
//         .between(Time::seconds(-5), Time::seconds(30))
//         .process<Paid>([](const Order& o, const Payment& p, Collector<Paid>& out) {
//           out.collect(Paid{o, p});
//         });
//
// Each joined element takes the larger of the two timestamps (out.timestamp()). Both sides
// are buffered per key and timestamp in keyed state; a buffered element is dropped once the
// watermark (the minimum of both inputs') has passed the last time a partner could still
// arrive: a + upper for the first stream, b - lower for the second. An element whose
// timestamp is behind the watermark is late: it joins nothing and is counted in the
// operator's late_dropped metric, or sent to sideOutputLeftLateData/RightLateData's tag.
// State is snapshotted by key group (restorable at another parallelism).
#pragma once

#include <algorithm>
#include <string>
#include <vector>

#include "lightflus/connected_streams.hpp"

namespace lightflus {

namespace detail {

struct IntervalJoinBounds {
  Timestamp lower = 0;
  Timestamp upper = 0;
  std::string left_late_tag;   ///< "" : count late elements of the first stream only
  std::string right_late_tag;  ///< "" : count late elements of the second stream only
};

/// The interval join as a co-process function: buffers in map state keyed by timestamp,
/// clean-up timers, late elements counted or sent to a side output.
template <class A, class B, class Out, class F, class Ctx>
class IntervalJoinFunction {
 public:
  IntervalJoinFunction(F fn, IntervalJoinBounds bounds, OperatorCounters* counters)
      : fn_(std::move(fn)), bounds_(std::move(bounds)), counters_(counters) {}

  void processElement1(const A& a, Ctx& ctx) {
    const Timestamp ts = ctx.timestamp();
    if (isLate(ts, ctx)) return late(a, bounds_.left_late_tag, ctx);
    left(ctx).getOrInsert(ts).push_back(a);
    for (const auto& [t, bs] : right(ctx).entries()) {
      if (t < ts + bounds_.lower || t > ts + bounds_.upper) continue;
      for (const auto& b : bs) join(a, b, std::max(ts, t), ctx);
    }
    ctx.registerEventTimeTimer(bounds_.upper > 0 ? ts + bounds_.upper : ts);
  }

  void processElement2(const B& b, Ctx& ctx) {
    const Timestamp ts = ctx.timestamp();
    if (isLate(ts, ctx)) return late(b, bounds_.right_late_tag, ctx);
    right(ctx).getOrInsert(ts).push_back(b);
    for (const auto& [t, as] : left(ctx).entries()) {
      if (t < ts - bounds_.upper || t > ts - bounds_.lower) continue;
      for (const auto& a : as) join(a, b, std::max(ts, t), ctx);
    }
    ctx.registerEventTimeTimer(bounds_.lower < 0 ? ts - bounds_.lower : ts);
  }

  /// Clean-up: one timer per (key, time) serves both sides. The first stream's bucket at
  /// time s registered s + max(upper, 0), the second's at s + max(-lower, 0); so the buckets
  /// due at `t` are exactly these two (either may be absent).
  void onTimer(Timestamp t, Ctx& ctx) {
    auto l = left(ctx);
    l.remove(bounds_.upper <= 0 ? t : t - bounds_.upper);
    if (l.entries().empty()) l.clear();
    auto r = right(ctx);
    r.remove(bounds_.lower <= 0 ? t + bounds_.lower : t);
    if (r.entries().empty()) r.clear();
  }

 private:
  auto left(Ctx& ctx) { return ctx.template mapState<Timestamp, std::vector<A>>("left"); }
  auto right(Ctx& ctx) { return ctx.template mapState<Timestamp, std::vector<B>>("right"); }

  static bool isLate(Timestamp ts, Ctx& ctx) {
    if (ts == kMinTimestamp)
      throw Error(
          "intervalJoin() received an element without a timestamp; call "
          "assignTimestamps() on both inputs before the join");
    return ts < ctx.currentWatermark();
  }
  template <class V>
  void late(const V& v, const std::string& tag, Ctx& ctx) {
    if (tag.empty())
      counters_->late_dropped.fetch_add(1, std::memory_order_relaxed);
    else
      ctx.output(OutputTag<V>(tag), v);
  }
  void join(const A& a, const B& b, Timestamp ts, Ctx& ctx) {
    Collector<Out> out = ctx.collector();
    out.setTimestamp(ts);
    fn_(a, b, out);
  }

  F fn_;
  IntervalJoinBounds bounds_;
  OperatorCounters* counters_;
};

}  // namespace detail

template <class A, class KSA, class B, class KSB>
class IntervalJoined;

/// `a.keyBy(ka).intervalJoin(b.keyBy(kb))`: give the bounds with between().
template <class A, class KSA, class B, class KSB>
class IntervalJoin {
 public:
  IntervalJoin(KeyedStream<A, KSA> left, KeyedStream<B, KSB> right)
      : left_(std::move(left)), right_(std::move(right)) {}

  /// Joins b with a when a.timestamp + lower <= b.timestamp <= a.timestamp + upper.
  /// Throws ConfigError when lower > upper.
  IntervalJoined<A, KSA, B, KSB> between(Duration lower, Duration upper) const {
    if (lower > upper)
      throw ConfigError("intervalJoin().between(lower, upper) needs lower <= upper; got " +
                        std::to_string(lower.count()) + " ms > " + std::to_string(upper.count()) +
                        " ms");
    detail::IntervalJoinBounds bounds;
    bounds.lower = lower.count();
    bounds.upper = upper.count();
    return IntervalJoined<A, KSA, B, KSB>(left_, right_, std::move(bounds));
  }

 private:
  KeyedStream<A, KSA> left_;
  KeyedStream<B, KSB> right_;
};

/// An interval join with its bounds: options, then process().
template <class A, class KSA, class B, class KSB>
class IntervalJoined {
 public:
  IntervalJoined(KeyedStream<A, KSA> left, KeyedStream<B, KSB> right,
                 detail::IntervalJoinBounds bounds)
      : left_(std::move(left)), right_(std::move(right)), bounds_(std::move(bounds)) {}

  /// Excludes b.timestamp == a.timestamp + lower.
  IntervalJoined lowerBoundExclusive() const {
    IntervalJoined j = *this;
    ++j.bounds_.lower;
    return j;
  }
  /// Excludes b.timestamp == a.timestamp + upper.
  IntervalJoined upperBoundExclusive() const {
    IntervalJoined j = *this;
    --j.bounds_.upper;
    return j;
  }
  /// Sends late elements of the first stream to `tag` (read with getSideOutput(tag)).
  IntervalJoined sideOutputLeftLateData(const OutputTag<A>& tag) const {
    IntervalJoined j = *this;
    j.bounds_.left_late_tag = tag.id();
    return j;
  }
  /// Sends late elements of the second stream to `tag` (read with getSideOutput(tag)).
  IntervalJoined sideOutputRightLateData(const OutputTag<B>& tag) const {
    IntervalJoined j = *this;
    j.bounds_.right_late_tag = tag.id();
    return j;
  }

  /// Calls f(const A&, const B&, Collector<Out>&) for every joined pair; out.timestamp() is
  /// the larger of the two timestamps, and what f collects gets it.
  template <class Out, class F>
  requires std::invocable < F&, const A&, const B&, Collector<Out>
  & > DataStream<Out> process(F fn) const {
    if (bounds_.lower > bounds_.upper)
      throw ConfigError("intervalJoin(): the exclusive bounds leave an empty interval");
    auto connected =
        left_.input().connect(right_.input()).keyBy(left_.selector(), right_.selector());
    using Ctx = typename decltype(connected)::template Context<Out>;
    using Join = detail::IntervalJoinFunction<A, B, Out, F, Ctx>;
    auto bounds = bounds_;
    return connected.template build<Out>(
        "intervalJoin",
        [fn, bounds](const detail::OperatorInit& init) { return Join(fn, bounds, init.counters); });
  }

 private:
  KeyedStream<A, KSA> left_;
  KeyedStream<B, KSB> right_;
  detail::IntervalJoinBounds bounds_;
};

template <class T, class KS>
template <class B, class KSB>
IntervalJoin<T, KS, B, KSB> KeyedStream<T, KS>::intervalJoin(
    const KeyedStream<B, KSB>& other) const {
  static_assert(std::is_same_v<KeyOf<KS, T>, KeyOf<KSB, B>>,
                "intervalJoin() expects both keyed streams to have the same key type");
  return IntervalJoin<T, KS, B, KSB>(*this, other);
}

}  // namespace lightflus
