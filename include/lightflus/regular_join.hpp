// Regular joins: every pair of elements of two keyed streams with the same key, whenever each
// arrives (Flink SQL's regular join), with an optional state retention time.
//
//     auto enriched = orders.connect(customers)
//                         .keyBy(byCustomer, byId)
//                         .join()
//                         .stateRetention(Time::hours(1))
//                         .inner([](const Order& o, const Customer& c) { return Enriched{o, c}; });
//
//     auto withNames = orders.connect(customers)
//                          .keyBy(byCustomer, byId)
//                          .join()
//                          .leftOuter([](const Order& o, const Customer* c) {
//                            return Named{o.id, c ? c->name : "?"};
//                          });   // DataStream<Change<Named>>: +I, and -D/+I when a match comes
//
// inner(f): when an element arrives, f(a, b) is emitted for every element of the other side
// kept for its key, and the element is kept. Both sides are kept in keyed state without end
// unless stateRetention(d) is set: an element is then dropped d after it arrived (processing
// time, as Flink's state TTL and table.exec.state.ttl), and an element that arrives later does
// not meet it; dropping emits nothing. Each result takes the arriving element's timestamp.
//
// leftOuter(f) is an updating result (lightflus/changelog.hpp): an element of the first stream
// with no partner yet is emitted at once as +I f(a, nullptr); when its first partner arrives,
// that row is retracted (-D f(a, nullptr)) and +I f(a, &b) follows, and every later partner adds
// +I f(a, &b). Replayed in order the rows give the left join of everything kept. Write them
// with a sink that applies changelogs (JSON lines with changelogJson, Redis, MySQL,
// Elasticsearch).
//
// State is snapshotted by key group, like every keyed operator: the join restores at another
// parallelism. The operator's kind is "join".
#pragma once

#include <cstdint>
#include <limits>
#include <type_traits>
#include <utility>
#include <vector>

#include "lightflus/changelog.hpp"
#include "lightflus/connected_streams.hpp"

namespace lightflus {

namespace detail {

/// An element kept by a regular join: when it arrived (processing time) and, for the first
/// stream of a left outer join, how many partners it met.
template <class V>
struct JoinEntry {
  V value;
  Timestamp arrived = 0;
  std::uint64_t matches = 0;
};

/// The regular join as a co-process function.
template <class A, class B, class Out, class F, class Ctx, bool kLeftOuter>
class RegularJoinFunction {
 public:
  RegularJoinFunction(F fn, Duration retention) : fn_(std::move(fn)), retention_(retention) {}

  void processElement1(const A& a, Ctx& ctx) {
    const Timestamp now = ctx.currentProcessingTime();
    JoinEntry<A> entry{a, now, 0};
    for (const auto& b : right(ctx).get()) {
      if (!alive(b, now)) continue;
      ++entry.matches;
      emit(a, &b.value, RowKind::Insert, ctx);
    }
    if constexpr (kLeftOuter)
      if (entry.matches == 0) emit(a, nullptr, RowKind::Insert, ctx);
    left(ctx).add(std::move(entry));
    expireLater(now, ctx);
  }

  void processElement2(const B& b, Ctx& ctx) {
    const Timestamp now = ctx.currentProcessingTime();
    auto lefts = left(ctx);
    if constexpr (kLeftOuter) {
      std::vector<JoinEntry<A>> kept = lefts.get();
      bool changed = false;
      for (auto& a : kept) {
        if (!alive(a, now)) continue;
        if (a.matches == 0) emit(a.value, nullptr, RowKind::Delete, ctx);
        emit(a.value, &b, RowKind::Insert, ctx);
        ++a.matches;
        changed = true;
      }
      if (changed) lefts.update(std::move(kept));
    } else {
      for (const auto& a : lefts.get())
        if (alive(a, now)) emit(a.value, &b, RowKind::Insert, ctx);
    }
    right(ctx).add(JoinEntry<B>{b, now, 0});
    expireLater(now, ctx);
  }

  /// Drops the elements of the key whose retention ran out.
  void onTimer(Timestamp t, Ctx& ctx) {
    if (retention_.count() <= 0) return;
    dropExpired(left(ctx), t);
    dropExpired(right(ctx), t);
  }

 private:
  auto left(Ctx& ctx) { return ctx.template listState<JoinEntry<A>>("left"); }
  auto right(Ctx& ctx) { return ctx.template listState<JoinEntry<B>>("right"); }

  template <class V>
  bool alive(const JoinEntry<V>& e, Timestamp now) const {
    return retention_.count() <= 0 || e.arrived + retention_.count() > now;
  }

  void expireLater(Timestamp now, Ctx& ctx) {
    if (retention_.count() > 0) ctx.registerProcessingTimeTimer(now + retention_.count());
  }

  template <class State>
  void dropExpired(State state, Timestamp now) {
    auto kept = state.get();
    const auto before = kept.size();
    std::erase_if(kept, [&](const auto& e) { return !alive(e, now); });
    if (kept.empty())
      state.clear();
    else if (kept.size() != before)
      state.update(std::move(kept));
  }

  void emit(const A& a, const B* b, RowKind kind, Ctx& ctx) {
    if constexpr (kLeftOuter)
      ctx.collect(Out{kind, fn_(a, b)});
    else
      ctx.collect(fn_(a, *b));
  }

  F fn_;
  Duration retention_;
};

}  // namespace detail

/// (An entry of a trivially copyable element is itself one and is copied as bytes.)
template <class V>
struct Serializer<detail::JoinEntry<V>,
                  std::enable_if_t<!std::is_trivially_copyable_v<detail::JoinEntry<V>>>> {
  static void write(StateWriter& w, const detail::JoinEntry<V>& e) {
    w.write(e.value);
    w.write(e.arrived);
    w.write(e.matches);
  }
  static detail::JoinEntry<V> read(StateReader& r) {
    detail::JoinEntry<V> e;
    e.value = r.read<V>();
    e.arrived = r.read<Timestamp>();
    e.matches = r.read<std::uint64_t>();
    return e;
  }
};

/// A regular join of two keyed streams (from KeyedConnectedStreams::join()).
template <class A, class B, class KA, class KB>
class RegularJoin {
 public:
  explicit RegularJoin(KeyedConnectedStreams<A, B, KA, KB> connected)
      : connected_(std::move(connected)) {}

  /// Drops each kept element `retention` after it arrived (processing time); 0: keep all.
  RegularJoin stateRetention(Duration retention) const {
    if (retention.count() < 0) throw ConfigError("join().stateRetention(d) needs d >= 0");
    RegularJoin j = *this;
    j.retention_ = retention;
    return j;
  }

  /// f(const A&, const B&) -> Out for every pair with the same key.
  template <class F>
  requires std::invocable<F&, const A&, const B&>
  auto inner(F fn) const {
    using Out = std::decay_t<std::invoke_result_t<F&, const A&, const B&>>;
    return build<Out, F, false>(std::move(fn));
  }

  /// f(const A&, const B*) -> R for every pair, and f(a, nullptr) for an element of the first
  /// stream while it has no partner: a changelog DataStream<Change<R>> (see the top).
  template <class F>
  requires std::invocable<F&, const A&, const B*>
  auto leftOuter(F fn) const {
    using R = std::decay_t<std::invoke_result_t<F&, const A&, const B*>>;
    return build<Change<R>, F, true>(std::move(fn));
  }

 private:
  template <class Out, class F, bool kLeftOuter>
  DataStream<Out> build(F fn) const {
    using Ctx = typename KeyedConnectedStreams<A, B, KA, KB>::template Context<Out>;
    using Join = detail::RegularJoinFunction<A, B, Out, F, Ctx, kLeftOuter>;
    Duration retention = retention_;
    return connected_.template build<Out>(
        "join", [fn, retention](const detail::OperatorInit&) { return Join(fn, retention); });
  }

  KeyedConnectedStreams<A, B, KA, KB> connected_;
  Duration retention_{0};
};

template <class A, class B, class KA, class KB>
RegularJoin<A, B, KA, KB> KeyedConnectedStreams<A, B, KA, KB>::join() const {
  return RegularJoin<A, B, KA, KB>(*this);
}

}  // namespace lightflus
