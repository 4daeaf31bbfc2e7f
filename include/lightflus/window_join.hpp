// Window join: the pairs of two streams' elements with equal keys in the same window.
//
// As Flink's window join: `a.join(b).where(ka).equalTo(kb).window(assigner).apply(f)` calls f
// for every pair (a, b) whose keys are equal and that fall into the same window, when the
// window fires (an inner join: a window with elements of one side only emits nothing):
//
//     auto matched = bids.join(auctions)
//                        .where([](const Bid& b) { return b.auction; })
//                        .equalTo([](const Auction& a) { return a.id; })
//                        .window(TumblingEventTimeWindows::of(Time::seconds(10)))
//                        .apply([](const Bid& b, const Auction& a) { return Match{b, a}; });
//
// apply(f) takes f(const A&, const B&) -> Out, or apply<Out>(f) a flat join function
// f(const A&, const B&, Collector<Out>&) that emits any number of results per pair. Results
// carry the window's maxTimestamp() (end - 1), as other window results do. Any window assigner
// works (tumbling, sliding, session; event or processing time). The watermark is the minimum
// of both inputs'; elements too late for their windows are dropped and counted in the
// operator's late_dropped metric. The window state (both sides' elements) is snapshotted by
// key group and needs a Serializer for A and B.
#pragma once

#include <utility>
#include <vector>

#include "lightflus/connected_streams.hpp"
#include "lightflus/window.hpp"

namespace lightflus {

namespace detail {

/// The window function of a join: keeps both sides' elements, emits their product per key.
template <class A, class B, class Out_, class F>
struct JoinWindowFunction {
  F fn;
  using Acc = std::pair<std::vector<A>, std::vector<B>>;
  using Out = Out_;
  Acc create() const { return {}; }
  void add(Acc& acc, const TwoInput<A, B>& v) {
    if (v.index() == 0)
      acc.first.push_back(*std::get_if<0>(&v));
    else
      acc.second.push_back(*std::get_if<1>(&v));
  }
  void merge(Acc& acc, Acc&& other) {
    acc.first.insert(acc.first.end(), std::make_move_iterator(other.first.begin()),
                     std::make_move_iterator(other.first.end()));
    acc.second.insert(acc.second.end(), std::make_move_iterator(other.second.begin()),
                      std::make_move_iterator(other.second.end()));
  }
  template <class K, class W>
  void emit(const K&, const W&, const Acc& acc, Timestamp ts, Batch<Out>& out) {
    Collector<Out> c(out, ts);
    for (const auto& a : acc.first)
      for (const auto& b : acc.second) fn(a, b, c);
  }
};

/// f(const A&, const B&) -> Out as a flat join function.
template <class A, class B, class Out, class F>
struct PlainJoin {
  F fn;
  void operator()(const A& a, const B& b, Collector<Out>& out) { out.collect(fn(a, b)); }
};

}  // namespace detail

/// A window join with its keys and window: give the join function with apply().
template <class A, class B, class KA, class KB, class W>
class WindowedJoin {
 public:
  using K = KeyOf<KA, A>;

  WindowedJoin(DataStream<A> first, DataStream<B> second, KA ka, KB kb, W assigner)
      : first_(std::move(first)),
        second_(std::move(second)),
        ka_(std::move(ka)),
        kb_(std::move(kb)),
        assigner_(std::move(assigner)) {}

  /// Keeps windows this long after the watermark passed them; late pairs re-fire the window.
  WindowedJoin allowedLateness(Duration d) const {
    WindowedJoin j = *this;
    j.lateness_ = d;
    return j;
  }

  /// f(const A&, const B&) -> Out for every pair of a window.
  template <class F>
  requires std::invocable<F&, const A&, const B&>
  auto apply(F fn) const {
    using Out = std::decay_t<std::invoke_result_t<F&, const A&, const B&>>;
    return build<Out>(detail::PlainJoin<A, B, Out, F>{std::move(fn)});
  }
  /// f(const A&, const B&, Collector<Out>&) for every pair of a window (a flat join).
  template <class Out, class F>
  requires std::invocable < F&, const A&, const B&, Collector<Out>
  & > DataStream<Out> apply(F fn) const { return build<Out>(std::move(fn)); }

 private:
  template <class Out, class F>
  DataStream<Out> build(F fn) const {
    using Both = detail::TwoInput<A, B>;
    using Key = detail::TwoInputKey<A, B, KA, KB>;
    using WF = detail::JoinWindowFunction<A, B, Out, F>;
    Key key{ka_, kb_};
    W assigner = assigner_;
    Duration lateness = lateness_;
    WF wf{std::move(fn)};
    return detail::addTwoInputNode<Out>(
        first_, second_, ka_, kb_, "windowJoin",
        [key, assigner, wf, lateness](const detail::OperatorInit& init,
                                      const std::vector<void*>& outs) {
          return std::make_unique<detail::WindowOperator<K, Both, Key, W, WF, std::hash<K>>>(
              init, static_cast<detail::Input<Out>*>(outs[0]), nullptr, key, assigner, wf,
              lateness);
        });
  }

  DataStream<A> first_;
  DataStream<B> second_;
  KA ka_;
  KB kb_;
  W assigner_;
  Duration lateness_{0};
};

/// `a.join(b).where(ka).equalTo(kb)`: choose the window.
template <class A, class B, class KA, class KB>
class JoinEqualTo {
 public:
  JoinEqualTo(DataStream<A> first, DataStream<B> second, KA ka, KB kb)
      : first_(std::move(first)),
        second_(std::move(second)),
        ka_(std::move(ka)),
        kb_(std::move(kb)) {}

  template <class W>
  requires WindowAssigner<W> WindowedJoin<A, B, KA, KB, W> window(W assigner)
  const { return WindowedJoin<A, B, KA, KB, W>(first_, second_, ka_, kb_, std::move(assigner)); }

 private:
  DataStream<A> first_;
  DataStream<B> second_;
  KA ka_;
  KB kb_;
};

/// `a.join(b).where(ka)`: give the second stream's key with equalTo().
template <class A, class B, class KA>
class JoinWhere {
 public:
  JoinWhere(DataStream<A> first, DataStream<B> second, KA ka)
      : first_(std::move(first)), second_(std::move(second)), ka_(std::move(ka)) {}

  /// kb(const B&) returns the key type of where()'s selector.
  template <class KB>
  requires KeySelector<KB, B> JoinEqualTo<A, B, KA, KB> equalTo(KB kb)
  const {
    static_assert(std::is_same_v<KeyOf<KA, A>, KeyOf<KB, B>>,
                  "join(...).where(ka).equalTo(kb) expects both key selectors to return the same "
                  "key type");
    return JoinEqualTo<A, B, KA, KB>(first_, second_, ka_, std::move(kb));
  }

 private:
  DataStream<A> first_;
  DataStream<B> second_;
  KA ka_;
};

/// `a.join(b)`: give the first stream's key with where().
template <class A, class B>
class JoinedStreams {
 public:
  JoinedStreams(DataStream<A> first, DataStream<B> second)
      : first_(std::move(first)), second_(std::move(second)) {}

  template <class KA>
  requires KeySelector<KA, A> JoinWhere<A, B, KA> where(KA ka)
  const { return JoinWhere<A, B, KA>(first_, second_, std::move(ka)); }

 private:
  DataStream<A> first_;
  DataStream<B> second_;
};

template <class T>
template <class B>
JoinedStreams<T, B> DataStream<T>::join(const DataStream<B>& other) const {
  if (other.graph() != graph())
    throw ConfigError("join() takes a stream of the same ExecutionContext");
  return JoinedStreams<T, B>(*this, other);
}

}  // namespace lightflus
