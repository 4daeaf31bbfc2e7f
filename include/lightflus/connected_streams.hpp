// Connected streams: one operator over two inputs of different types, with shared keyed state.
//
// `a.connect(b)` pairs a DataStream<A> with a DataStream<B>; `.keyBy(ka, kb)` partitions both
// by a key of the same type, so that the elements of both sides with one key meet in one
// subtask; `.process<Out>(f)` runs a keyed co-process function there (Flink's
// KeyedCoProcessFunction):
//
//     struct Enrich {
//       void processElement1(const Order& o, KeyedContext<std::string, Shipped>& ctx) {
//         if (const auto* c = ctx.valueState<Customer>("customer").get())
//           ctx.collect(Shipped{o, *c});
//         else
//           ctx.listState<Order>("waiting").add(o);
//       }
//       void processElement2(const Customer& c, KeyedContext<std::string, Shipped>& ctx) {
//         ctx.valueState<Customer>("customer").update(c);
//         for (const auto& o : ctx.listState<Order>("waiting").get()) ctx.collect({o, c});
//         ctx.listState<Order>("waiting").clear();
//       }
//       void onTimer(Timestamp t, KeyedContext<std::string, Shipped>& ctx) { ... }  // optional
//     };
//     orders.connect(customers)
//         .keyBy([](const Order& o) { return o.customer; }, [](const Customer& c) { return c.id; })
//         .process<Shipped>(Enrich{});
//
// Both functions see the same KeyedContext as keyBy().process() does: the key, keyed state
// (shared by both sides), event- and processing-time timers, the element's timestamp,
// ctx.collect() and ctx.output(tag, value) for side outputs. The operator's watermark is the
// minimum of both inputs' watermarks; event-time timers fire when it passes them, and all
// remaining ones at the end of bounded inputs. State and timers are snapshotted by key group,
// so the operator restores at another parallelism. Interval and window joins are built on it
// (interval_join.hpp).
#pragma once

#include <concepts>
#include <type_traits>

#include "lightflus/datastream.hpp"
#include "lightflus/detail/two_input.hpp"

namespace lightflus {

/// The functions of a keyed co-process function, given its context type Ctx.
template <class F, class A, class B, class Ctx>
concept CoProcessFunction = requires(F& f, const A& a, const B& b, Ctx& ctx) {
  f.processElement1(a, ctx);
  f.processElement2(b, ctx);
};

namespace detail {

/// A co-process function seen as a process function over TwoInput elements.
template <class A, class B, class F, class Ctx>
struct CoProcessAdapter {
  F fn;
  void processElement(const TwoInput<A, B>& v, Ctx& ctx) {
    if (v.index() == 0)
      fn.processElement1(*std::get_if<0>(&v), ctx);
    else
      fn.processElement2(*std::get_if<1>(&v), ctx);
  }
  void onTimer(Timestamp t, Ctx& ctx) requires HasOnTimer<F, Ctx> { fn.onTimer(t, ctx); }
};

/// Adds a keyed node over two inputs: `make` creates its operator, whose input is an
/// Input<TwoInput<A, B>>; `first` is partitioned by ka, `second` by kb.
template <class Out, class A, class B, class KA, class KB>
DataStream<Out> addTwoInputNode(const DataStream<A>& first, const DataStream<B>& second,
                                const KA& ka, const KB& kb, const char* kind,
                                NodeSpec::Factory make) {
  if (first.graph() != second.graph())
    throw ConfigError("an operator over two inputs takes streams of one ExecutionContext only");
  GraphBuilder b(first.graph());
  int id = b.template addNode<Out>(kind, std::move(make));
  auto& node = b.node(id);
  node.keyed = true;
  node.input = std::make_shared<PortSpec<TwoInput<A, B>>>();
  using HashA = KeyHasher<A, KA>;
  using HashB = KeyHasher<B, KB>;
  b.addEdge(first.nodeId(), first.portId(), id, Partitioning::Hash,
            std::make_shared<SideHashExchange<A, A, B, 0, HashA>>(HashA{ka}));
  b.addEdge(second.nodeId(), second.portId(), id, Partitioning::Hash,
            std::make_shared<SideHashExchange<B, A, B, 1, HashB>>(HashB{kb}));
  return DataStream<Out>(first.graph(), id);
}

}  // namespace detail

template <class A, class B, class KA, class KB>
class KeyedConnectedStreams;
template <class A, class B, class KA, class KB>
class RegularJoin;

/// Two streams, possibly of different types, to be processed by one operator.
template <class A, class B>
class ConnectedStreams {
 public:
  ConnectedStreams(DataStream<A> first, DataStream<B> second)
      : first_(std::move(first)), second_(std::move(second)) {}

  /// Partitions both inputs by key: ka(const A&) and kb(const B&) return the same key type.
  template <class KA, class KB>
  requires KeySelector<KA, A> && KeySelector<KB, B> KeyedConnectedStreams<A, B, KA, KB> keyBy(KA ka,
                                                                                              KB kb)
  const {
    static_assert(std::is_same_v<KeyOf<KA, A>, KeyOf<KB, B>>,
                  "connect(...).keyBy(ka, kb) expects both key selectors to return the same key "
                  "type");
    return KeyedConnectedStreams<A, B, KA, KB>(first_, second_, std::move(ka), std::move(kb));
  }

  const DataStream<A>& first() const { return first_; }
  const DataStream<B>& second() const { return second_; }

 private:
  DataStream<A> first_;
  DataStream<B> second_;
};

/// Two streams partitioned by the same key.
template <class A, class B, class KA, class KB>
class KeyedConnectedStreams {
 public:
  using K = KeyOf<KA, A>;
  using Hash = std::hash<K>;
  /// What the co-process function's methods get.
  template <class Out>
  using Context = KeyedContext<K, Out, Hash>;

  KeyedConnectedStreams(DataStream<A> first, DataStream<B> second, KA ka, KB kb)
      : first_(std::move(first)),
        second_(std::move(second)),
        ka_(std::move(ka)),
        kb_(std::move(kb)) {}

  /// Runs a keyed co-process function: f.processElement1(const A&, KeyedContext<K, Out>&),
  /// f.processElement2(const B&, KeyedContext<K, Out>&), and optionally
  /// f.onTimer(Timestamp, KeyedContext<K, Out>&). Name the node with `.name()`, pin its state
  /// with `.uid()`, read side outputs with `.getSideOutput(tag)` on the result.
  template <class Out, class F>
  DataStream<Out> process(F fn) const {
    static_assert(CoProcessFunction<F, A, B, Context<Out>>,
                  "connect(...).keyBy(...).process<Out>(f) expects f.processElement1(const A&, "
                  "KeyedContext<K, Out>&) and f.processElement2(const B&, KeyedContext<K, Out>&)");
    return build<Out>("coProcess",
                      [fn = std::move(fn)](const detail::OperatorInit&) { return fn; });
  }

  /// A regular (unbounded) join of both sides per key, with an optional state retention:
  /// `.join().inner(f)` or `.join().leftOuter(f)` (see regular_join.hpp).
  RegularJoin<A, B, KA, KB> join() const;

  /// Adds the two-input node that runs `make(init)`, a co-process function made per subtask
  /// (internal: joins build on it).
  template <class Out, class Make>
  DataStream<Out> build(const char* kind, Make make) const {
    using Both = detail::TwoInput<A, B>;
    using Key = detail::TwoInputKey<A, B, KA, KB>;
    using F = std::invoke_result_t<const Make&, const detail::OperatorInit&>;
    using PF = detail::CoProcessAdapter<A, B, F, Context<Out>>;
    Key key{ka_, kb_};
    auto stream = detail::addTwoInputNode<Out>(
        first_, second_, ka_, kb_, kind,
        [key, make](const detail::OperatorInit& init, const std::vector<void*>& outs) {
          return std::make_unique<detail::KeyedProcessOperator<K, Both, Out, Key, PF, Hash>>(
              init, outs, key, PF{make(init)});
        });
    detail::GraphBuilder(first_.graph()).node(stream.nodeId()).open_side_outputs = true;
    return stream;
  }

 private:
  DataStream<A> first_;
  DataStream<B> second_;
  KA ka_;
  KB kb_;
};

template <class T>
template <class B>
ConnectedStreams<T, B> DataStream<T>::connect(const DataStream<B>& other) const {
  if (other.graph() != graph())
    throw ConfigError("connect() takes a stream of the same ExecutionContext");
  return ConnectedStreams<T, B>(*this, other);
}

}  // namespace lightflus

// The joins built on connected streams (they define KeyedStream::intervalJoin,
// KeyedConnectedStreams::join and DataStream::join).
#include "lightflus/interval_join.hpp"
#include "lightflus/regular_join.hpp"
#include "lightflus/window_join.hpp"
