// The DataStream API: building a job as a graph of transformations.
//
// An ExecutionContext starts a job: sources give DataStream<T>s, transformations give new
// streams, sinks end them, and execute() runs the whole graph:
//
//     lightflus::ExecutionContext ctx("word-count");
//     ctx.readTextFile("book.txt")
//         .flatMap<std::string>([](const std::string& line, auto& out) { ... })
//         .keyBy([](const std::string& w) -> const std::string& { return w; })
//         .window(GlobalWindows::create())
//         .aggregate(Count{}, [](const std::string& w, const GlobalWindow&, long n) {
//           return std::pair(w, n); })
//         .print();
//     ctx.execute();
//
// Every operator can be named (`.name("split")`, used in metrics and errors) and given its own
// parallelism (`.parallelism(4)`); `.uid("...")` pins the identity its state has in snapshots
// (by default the operator's position in the graph).
#pragma once

#include <cstdio>
#include <memory>
#include <ranges>
#include <string>
#include <type_traits>
#include <vector>

#include <fmt/format.h>

#include "lightflus/detail/combine.hpp"
#include "lightflus/detail/graph.hpp"
#include "lightflus/detail/operators.hpp"
#include "lightflus/executor.hpp"
#include "lightflus/functions.hpp"
#include "lightflus/process.hpp"
#include "lightflus/sink.hpp"
#include "lightflus/source.hpp"
#include "lightflus/window.hpp"

namespace lightflus {

template <class T>
class DataStream;
template <class T, class KS>
class KeyedStream;
template <class T, class KS, class A>
class WindowedStream;
template <class T, class A>
class AllWindowedStream;
template <class A, class B>
class ConnectedStreams;
template <class A, class KSA, class B, class KSB>
class IntervalJoin;
template <class A, class B>
class JoinedStreams;

namespace detail {

/// Adds nodes and edges to a graph (shared by the stream classes).
class GraphBuilder {
 public:
  explicit GraphBuilder(std::shared_ptr<StreamGraph> graph) : graph_(std::move(graph)) {}

  template <class Out>
  int addNode(std::string kind, NodeSpec::Factory make) {
    NodeSpec n;
    n.id = static_cast<int>(graph_->nodes.size());
    n.kind = kind;
    n.name = kind;
    n.uid = fmt::format("{}-{}", kind, n.id);
    n.make = std::move(make);
    if constexpr (!std::is_void_v<Out>)
      n.ports.push_back(PortInfo{std::make_shared<PortSpec<Out>>()});
    graph_->nodes.push_back(std::move(n));
    return graph_->nodes.back().id;
  }
  template <class S>
  int addPort(int node, std::string tag, bool requires_consumer) {
    auto& ports = graph_->nodes[static_cast<std::size_t>(node)].ports;
    ports.push_back(PortInfo{std::make_shared<PortSpec<S>>(), std::move(tag), requires_consumer});
    return static_cast<int>(ports.size()) - 1;
  }
  void addEdge(int from, int port, int to, Partitioning p,
               std::shared_ptr<const HashExchangeSpec> hash = nullptr) {
    graph_->edges.push_back(EdgeSpec{from, port, to, p, std::move(hash)});
  }
  NodeSpec& node(int id) { return graph_->nodes[static_cast<std::size_t>(id)]; }
  const std::shared_ptr<StreamGraph>& graph() const { return graph_; }

 private:
  std::shared_ptr<StreamGraph> graph_;
};

template <class T, class KS>
struct KeyHasher {
  KS selector;
  std::size_t operator()(const T& v) const { return std::hash<KeyOf<KS, T>>{}(selector(v)); }
};

/// Formats a value for print(): fmt when it can, else a clear compile error.
struct DefaultFormat {
  template <class T>
  void operator()(std::string& out, const T& v) const {
    if constexpr (fmt::is_formattable<T>::value) {
      fmt::format_to(std::back_inserter(out), "{}", v);
    } else {
      static_assert(fmt::is_formattable<T>::value,
                    "print() needs a fmt::formatter for the element type, or pass a format "
                    "function: print([](std::string& out, const T& v) { ... })");
    }
  }
};

}  // namespace detail

/// A handle on a sink, to name it or set its parallelism.
class SinkHandle {
 public:
  SinkHandle(std::shared_ptr<detail::StreamGraph> graph, int node)
      : graph_(std::move(graph)), node_(node) {}
  SinkHandle& name(std::string n) {
    graph_->nodes[static_cast<std::size_t>(node_)].name = std::move(n);
    return *this;
  }
  SinkHandle& parallelism(int p) {
    graph_->nodes[static_cast<std::size_t>(node_)].parallelism = p;
    return *this;
  }
  SinkHandle& uid(std::string u) {
    graph_->nodes[static_cast<std::size_t>(node_)].uid = std::move(u);
    return *this;
  }

 private:
  std::shared_ptr<detail::StreamGraph> graph_;
  int node_;
};

/// Options for sources added with fromSource().
struct SourceOptions {
  /// The source reads one thing (a file, stdin): it runs with parallelism 1.
  bool single = false;
  /// The source may emit dead letters (MalformedPolicy::DeadLetter): read them with
  /// deadLetters(); the job refuses to start if nothing does.
  bool dead_letters = false;
};

/// Builds and runs a job.
class ExecutionContext {
 public:
  explicit ExecutionContext(std::string job_name = "job")
      : graph_(std::make_shared<detail::StreamGraph>()) {
    graph_->job_name = std::move(job_name);
  }

  const std::string& jobName() const { return graph_->job_name; }
  /// The default parallelism of operators that do not set their own.
  ExecutionContext& parallelism(int p) {
    if (p < 1) throw ConfigError("parallelism must be at least 1");
    graph_->default_parallelism = p;
    return *this;
  }
  /// The number of key groups (the highest parallelism keyed state can be rescaled to).
  ExecutionContext& maxParallelism(int p) {
    if (p < 1) throw ConfigError("max parallelism must be at least 1");
    graph_->max_parallelism = p;
    return *this;
  }

  /// A stream from a Source; the factory makes one Source per parallel subtask.
  template <class T>
  DataStream<T> fromSource(SourceFactory<T> factory, std::string name = "source",
                           SourceOptions options = {});

  /// The elements of a vector (split over the parallel subtasks).
  template <class T>
  DataStream<T> fromCollection(std::vector<T> items, std::string name = "collection") {
    auto shared = std::make_shared<const std::vector<T>>(std::move(items));
    return fromSource<T>([shared] { return std::make_unique<CollectionSource<T>>(shared); },
                         std::move(name));
  }

  /// fn(0), fn(1), ...: bounded with options.count, rate-limited with options.rate.
  template <class F>
  auto generate(F fn, GeneratorOptions options = {}, std::string name = "generator") {
    using T = std::decay_t<std::invoke_result_t<F&, std::uint64_t>>;
    return fromSource<T>(
        [fn, options] { return std::make_unique<GeneratorSource<T, F>>(fn, options); },
        std::move(name));
  }

  /// Runs the job to its end (bounded sources) and throws JobFailedError if it fails.
  void execute(ExecutionOptions options = {}) { start(std::move(options)).wait(); }
  /// Starts the job and returns at once.
  JobHandle start(ExecutionOptions options = {}) {
    return startJob(std::make_shared<const detail::StreamGraph>(*graph_), std::move(options));
  }

  /// The logical graph (for tools and tests).
  const detail::StreamGraph& graph() const { return *graph_; }

 private:
  std::shared_ptr<detail::StreamGraph> graph_;
};

/// A stream of T.
template <class T>
class DataStream {
 public:
  DataStream(std::shared_ptr<detail::StreamGraph> graph, int node, int port = 0)
      : b_(std::move(graph)), node_(node), port_(port) {}

  /// Names the operator that produces this stream (metrics, errors).
  DataStream name(std::string n) const {
    b_.node(node_).name = std::move(n);
    return *this;
  }
  DataStream parallelism(int p) const {
    if (p < 1) throw ConfigError("parallelism must be at least 1");
    b_.node(node_).parallelism = p;
    return *this;
  }
  /// The identity of this operator's state in snapshots.
  DataStream uid(std::string u) const {
    b_.node(node_).uid = std::move(u);
    return *this;
  }

  /// f(const T&) -> R for every element.
  template <class F>
  requires MapFunction<F, T>
  auto map(F f) const {
    using R = std::decay_t<std::invoke_result_t<const F&, const T&>>;
    return then<R>("map", [f](const detail::OperatorInit& init, const std::vector<void*>& outs) {
      return std::make_unique<detail::MapOperator<T, R, F>>(init, out<R>(outs), f);
    });
  }

  /// f(const T&, Collector<R>&) emits any number of elements per element.
  template <class R, class F>
  requires FlatMapFunction<F, T, R> DataStream<R> flatMap(F f)
  const {
    return then<R>(
        "flatMap", [f](const detail::OperatorInit& init, const std::vector<void*>& outs) {
          return std::make_unique<detail::FlatMapOperator<T, R, F>>(init, out<R>(outs), f);
        });
  }
  /// f(const T&) returns a range whose elements are emitted.
  template <class F>
  requires FlatMapRangeFunction<F, T>
  auto flatMap(F f) const {
    using R = std::decay_t<std::ranges::range_value_t<std::invoke_result_t<F&, const T&>>>;
    return then<R>(
        "flatMap", [f](const detail::OperatorInit& init, const std::vector<void*>& outs) {
          return std::make_unique<detail::FlatMapRangeOperator<T, R, F>>(init, out<R>(outs), f);
        });
  }

  /// Keeps the elements for which f(const T&) is true.
  template <class F>
  requires FilterFunction<F, T> DataStream<T> filter(F f)
  const {
    return then<T>("filter", [f](const detail::OperatorInit& init, const std::vector<void*>& outs) {
      return std::make_unique<detail::FilterOperator<T, F>>(init, out<T>(outs), f);
    });
  }

  /// Partitions by key: f(const T&) -> K (K needs std::hash and ==).
  template <class F>
  requires KeySelector<F, T> KeyedStream<T, F> keyBy(F f)
  const { return KeyedStream<T, F>(b_.graph(), node_, port_, std::move(f)); }

  /// Sets event timestamps with f(const T&) -> Timestamp (ms) and generates watermarks.
  template <class F>
  DataStream<T> assignTimestamps(F f, WatermarkStrategy strategy = {}) const {
    return then<T>("assignTimestamps", [f, strategy](const detail::OperatorInit& init,
                                                     const std::vector<void*>& outs) {
      return std::make_unique<detail::TimestampAssigner<T, F>>(init, out<T>(outs), f, strategy);
    });
  }

  /// Merges this stream with others of the same type (`union` is a C++ keyword).
  template <class... More>
  DataStream<T> unionWith(const More&... others) const {
    int id = b_.template addNode<T>("union", identityFactory());
    b_.addEdge(node_, port_, id, detail::Partitioning::Forward);
    (b_.addEdge(others.node_, others.port_, id, detail::Partitioning::Forward), ...);
    return DataStream<T>(b_.graph(), id);
  }

  /// Pairs this stream with `other` (of any element type) for an operator over both:
  /// `a.connect(b).keyBy(ka, kb).process<Out>(f)` (see connected_streams.hpp).
  template <class B>
  ConnectedStreams<T, B> connect(const DataStream<B>& other) const;
  /// Joins this stream with `other` per key and window:
  /// `a.join(b).where(ka).equalTo(kb).window(assigner).apply(f)` (see window_join.hpp).
  template <class B>
  JoinedStreams<T, B> join(const DataStream<B>& other) const;

  /// Cuts the whole stream (not each key) into windows (Flink's windowAll; see window_all.hpp):
  /// `stream.windowAll(TumblingEventTimeWindows::of(Time::seconds(10))).aggregate(Count{})`.
  /// The windows fire in one task.
  template <class A>
  requires WindowAssigner<A> AllWindowedStream<T, A> windowAll(A assigner)
  const;

  /// Spreads batches round-robin over the next operator's subtasks.
  DataStream<T> rebalance() const {
    int id = b_.template addNode<T>("rebalance", identityFactory());
    b_.addEdge(node_, port_, id, detail::Partitioning::Rebalance);
    return DataStream<T>(b_.graph(), id);
  }

  /// The side output `tag` of the operator that produces this stream.
  template <class S>
  DataStream<S> getSideOutput(const OutputTag<S>& tag) const {
    int port = b_.graph()->portOf(node_, tag.id());
    if (port < 0 && b_.node(node_).open_side_outputs)
      port = b_.template addPort<S>(node_, tag.id(), false);
    if (port < 0)
      throw ConfigError("operator '" + b_.node(node_).name + "' has no side output '" + tag.id() +
                        "'");
    const auto& spec = *b_.node(node_).ports[static_cast<std::size_t>(port)].spec;
    if (spec.elementType() != detail::typeTag<S>())
      throw ConfigError("side output '" + tag.id() + "' of operator '" + b_.node(node_).name +
                        "' has another element type than this OutputTag's");
    return DataStream<S>(b_.graph(), node_, port);
  }
  /// Records the source could not decode (with MalformedPolicy::DeadLetter).
  DataStream<DeadLetter> deadLetters() const {
    return getSideOutput(OutputTag<DeadLetter>("dead-letters"));
  }

  /// Writes to a Sink (one instance per parallel subtask).
  SinkHandle sink(SinkFactory<T> factory, std::string name = "sink") const {
    int id = b_.template addNode<void>(
        "sink", [factory](const detail::OperatorInit& init, const std::vector<void*>&) {
          return std::make_unique<detail::SinkOperator<T>>(init, factory);
        });
    b_.node(id).name = std::move(name);
    b_.addEdge(node_, port_, id, detail::Partitioning::Forward);
    return SinkHandle(b_.graph(), id);
  }
  /// Collects everything in memory (tests and small jobs); read the result after execute().
  CollectResult<T> collect(std::string name = "collect") const {
    CollectResult<T> result;
    auto state = result.state_;
    sink([state] { return std::make_unique<CollectSink<T>>(state); }, std::move(name));
    return result;
  }
  /// Prints one line per element to stdout; `format(std::string& out, const T&)` appends the
  /// text of one element (fmt's "{}" by default).
  template <class Format = detail::DefaultFormat>
  SinkHandle print(Format format = {}, std::string name = "stdout") const {
    return sink([format] { return std::make_unique<PrintSink<T, Format>>(format, stdout); },
                std::move(name));
  }
  /// Calls f(const T&) for every element (concurrently when the sink is parallel).
  template <class F>
  SinkHandle forEach(F f, std::string name = "forEach") const {
    return sink([f] { return std::make_unique<CallbackSink<T, F>>(f); }, std::move(name));
  }

  int nodeId() const { return node_; }
  /// The output port of the node this stream reads (0, or a side output's).
  int portId() const { return port_; }
  const std::shared_ptr<detail::StreamGraph>& graph() const { return b_.graph(); }

 private:
  template <class>
  friend class DataStream;
  template <class, class>
  friend class KeyedStream;

  template <class R>
  static detail::Input<R>* out(const std::vector<void*>& outs) {
    return static_cast<detail::Input<R>*>(outs[0]);
  }
  static detail::NodeSpec::Factory identityFactory() {
    return [](const detail::OperatorInit& init, const std::vector<void*>& outs) {
      return std::make_unique<detail::IdentityOperator<T>>(init, out<T>(outs));
    };
  }
  template <class R>
  DataStream<R> then(const char* kind, detail::NodeSpec::Factory make) const {
    int id = b_.template addNode<R>(kind, std::move(make));
    b_.addEdge(node_, port_, id, detail::Partitioning::Forward);
    return DataStream<R>(b_.graph(), id);
  }

  mutable detail::GraphBuilder b_;
  int node_;
  int port_;
};

/// A stream partitioned by key; stateful operators keep state per key.
template <class T, class KS>
class KeyedStream {
 public:
  using K = KeyOf<KS, T>;
  using Hash = std::hash<K>;

  KeyedStream(std::shared_ptr<detail::StreamGraph> graph, int node, int port, KS selector)
      : b_(std::move(graph)), node_(node), port_(port), selector_(std::move(selector)) {}

  /// Rolling reduce: f(const T& acc, const T& value) -> T; emits the new value per element.
  template <class F>
  requires ReduceFunction<F, T> DataStream<T> reduce(F f)
  const {
    KS ks = selector_;
    return keyed<T>("reduce",
                    [ks, f](const detail::OperatorInit& init, const std::vector<void*>& outs) {
                      return std::make_unique<detail::KeyedReduceOperator<K, T, KS, F, Hash>>(
                          init, static_cast<detail::Input<T>*>(outs[0]), ks, f);
                    });
  }

  /// Rolling aggregate: emits agg.getResult(accumulator) per element.
  template <class A>
  requires AggregateFunction<A, T> DataStream<AggregateResultOf<A>> aggregate(A agg)
  const {
    using R = AggregateResultOf<A>;
    KS ks = selector_;
    return keyed<R>("aggregate",
                    [ks, agg](const detail::OperatorInit& init, const std::vector<void*>& outs) {
                      return std::make_unique<detail::KeyedAggregateOperator<K, T, KS, A, Hash>>(
                          init, static_cast<detail::Input<R>*>(outs[0]), ks, agg);
                    });
  }

  /// A process function with keyed state, timers and side outputs (see process.hpp).
  template <class Out, class F>
  DataStream<Out> process(F f) const {
    KS ks = selector_;
    auto stream = keyed<Out>(
        "process", [ks, f](const detail::OperatorInit& init, const std::vector<void*>& outs) {
          return std::make_unique<detail::KeyedProcessOperator<K, T, Out, KS, F, Hash>>(init, outs,
                                                                                        ks, f);
        });
    b_.node(stream.nodeId()).open_side_outputs = true;
    return stream;
  }

  /// Groups elements into windows (see window.hpp).
  template <class A>
  requires WindowAssigner<A> WindowedStream<T, KS, A> window(A assigner)
  const { return WindowedStream<T, KS, A>(*this, std::move(assigner)); }
  /// A window per key that fires every `n` elements (and at the end of the input).
  WindowedStream<T, KS, GlobalWindows> countWindow(std::uint64_t n) const {
    return window(GlobalWindows::ofCount(n));
  }

  /// Joins with `other` where the timestamps are close: `.between(lower, upper).process(f)`
  /// (see interval_join.hpp). Both streams must have the same key type.
  template <class B, class KSB>
  IntervalJoin<T, KS, B, KSB> intervalJoin(const KeyedStream<B, KSB>& other) const;

  const KS& selector() const { return selector_; }
  /// The stream before keyBy().
  DataStream<T> input() const { return DataStream<T>(b_.graph(), node_, port_); }

 private:
  template <class, class, class>
  friend class WindowedStream;

  template <class R>
  DataStream<R> keyed(const char* kind, detail::NodeSpec::Factory make,
                      const std::string& late_tag = "", bool late_port = false) const {
    int id = b_.template addNode<R>(kind, std::move(make));
    b_.node(id).keyed = true;
    if (late_port) b_.template addPort<T>(id, late_tag, false);
    auto hash = std::make_shared<detail::TypedHashExchange<T, detail::KeyHasher<T, KS>>>(
        detail::KeyHasher<T, KS>{selector_});
    b_.addEdge(node_, port_, id, detail::Partitioning::Hash, std::move(hash));
    return DataStream<R>(b_.graph(), id);
  }

  mutable detail::GraphBuilder b_;
  int node_;
  int port_;
  KS selector_;
};

/// A keyed stream grouped into windows.
template <class T, class KS, class A>
class WindowedStream {
 public:
  using K = KeyOf<KS, T>;
  using W = typename A::Window;

  WindowedStream(KeyedStream<T, KS> keyed, A assigner)
      : keyed_(std::move(keyed)), assigner_(std::move(assigner)) {}

  /// Keeps fired windows this long after the watermark passed them; late elements within it
  /// update and re-fire the window.
  WindowedStream allowedLateness(Duration d) const {
    WindowedStream w = *this;
    w.lateness_ = d;
    return w;
  }
  /// Sends elements too late for their windows to the side output `tag`
  /// (read it with getSideOutput(tag) on the window's result stream).
  WindowedStream sideOutputLateData(const OutputTag<T>& tag) const {
    WindowedStream w = *this;
    w.late_tag_ = tag.id();
    return w;
  }

  /// One result per window: f(const T&, const T&) -> T over its elements.
  template <class F>
  requires ReduceFunction<F, T> DataStream<T> reduce(F f)
  const { return build(detail::ReduceWindowFunction<T, F>{f}); }
  /// One agg.getResult() per window.
  ///
  /// Over tumbling event-time or global windows, with an aggregate that has merge(), no allowed
  /// lateness and no late-data output, the elements are pre-aggregated per key before the keyBy
  /// exchange (see detail/combine.hpp): same results, far less data crossing between tasks.
  template <class Agg>
  requires AggregateFunction<Agg, T>
  auto aggregate(Agg agg) const {
    if constexpr (kCombinable<Agg>)
      if (combinable(agg)) return buildCombined(detail::PlainAggregate<T, Agg>{agg}, agg);
    return build(detail::PlainAggregate<T, Agg>{agg});
  }
  /// fn(const K&, const Window&, result) -> Out per window.
  template <class Agg, class F>
  requires AggregateFunction<Agg, T>
  auto aggregate(Agg agg, F fn) const {
    if constexpr (kCombinable<Agg>)
      if (combinable(agg))
        return buildCombined(detail::AggregateWithWindow<T, Agg, F, K, W>{agg, fn}, agg);
    return build(detail::AggregateWithWindow<T, Agg, F, K, W>{agg, fn});
  }
  /// fn(const K&, const Window&, const std::vector<T>&, Collector<Out>&) per window.
  template <class Out, class F>
  DataStream<Out> process(F fn) const {
    return build(detail::ProcessWindowFunction<T, Out, F>{fn});
  }
  /// Per key and window, the elements with the `n` highest `by(element)` (any type with <), as
  /// Ranked<T, Window>{rank, value, window} rows in rank order. Ties share a rank and all make
  /// it (SQL's RANK() <= n: scores 9, 7, 7, 5 with n = 2 give ranks 1, 2, 2); equal scores keep
  /// their arrival order. Only candidates are kept, as in an aggregate, and like one it is
  /// pre-aggregated before the exchange over tumbling and global windows.
  template <class By>
  requires std::invocable<const By&, const T&> DataStream<Ranked<T, W>> topN(std::size_t n, By by)
  const {
    if (n == 0) throw ConfigError("topN(n, by) needs n >= 1");
    detail::TopNAggregate<T, By> agg{n, std::move(by)};
    detail::TopNWindowFunction<T, By, W> wf{agg};
    if constexpr (kCombinable<detail::TopNAggregate<T, By>>)
      if (combinable(agg)) return buildCombined(wf, agg).name("topN");
    return build(wf).name("topN");
  }

 private:
  template <class WF>
  DataStream<typename WF::Out> build(WF wf) const {
    using Out = typename WF::Out;
    KS ks = keyed_.selector();
    A assigner = assigner_;
    Duration lateness = lateness_;
    bool has_late = !late_tag_.empty();
    auto make = [ks, assigner, wf, lateness, has_late](const detail::OperatorInit& init,
                                                       const std::vector<void*>& outs) {
      auto* late = has_late ? static_cast<detail::Input<T>*>(outs[1]) : nullptr;
      return std::make_unique<detail::WindowOperator<K, T, KS, A, WF, std::hash<K>>>(
          init, static_cast<detail::Input<Out>*>(outs[0]), late, ks, assigner, wf, lateness);
    };
    return keyed_.template keyed<Out>("window", make, late_tag_, has_late);
  }

  template <class Agg>
  static constexpr bool kCombinable = MergingAggregate<Agg> &&
                                      (std::is_same_v<A, TumblingEventTimeWindows> ||
                                       std::is_same_v<A, GlobalWindows>);

  /// An aggregate can refuse pre-aggregation with `bool combinable() const` returning false.
  template <class Agg>
  bool combinable(const Agg& agg) const {
    if constexpr (requires { agg.combinable(); })
      if (!agg.combinable()) return false;
    if constexpr (std::is_same_v<A, GlobalWindows>)
      if (assigner_.count != 0) return false;  // count windows fire per element count
    return lateness_.count() == 0 && late_tag_.empty();
  }

  template <class WF, class Agg>
  DataStream<typename WF::Out> buildCombined(WF wf, Agg agg) const {
    using Out = typename WF::Out;
    using P = detail::Partial<K, AccumulatorOf<Agg>>;
    using MWF = detail::MergePartials<WF, P>;
    auto& b = keyed_.b_;
    KS ks = keyed_.selector();
    A assigner = assigner_;
    int combiner = b.template addNode<P>(
        "combine",
        [ks, assigner, agg](const detail::OperatorInit& init, const std::vector<void*>& outs) {
          return std::make_unique<detail::CombineOperator<K, T, KS, A, Agg, std::hash<K>>>(
              init, static_cast<detail::Input<P>*>(outs[0]), ks, assigner, agg);
        });
    b.node(combiner).follow_input = true;
    b.addEdge(keyed_.node_, keyed_.port_, combiner, detail::Partitioning::Forward);
    MWF mwf{wf};
    int id = b.template addNode<Out>("window", [assigner, mwf](const detail::OperatorInit& init,
                                                               const std::vector<void*>& outs) {
      return std::make_unique<
          detail::WindowOperator<K, P, detail::PartialKey, A, MWF, std::hash<K>>>(
          init, static_cast<detail::Input<Out>*>(outs[0]), nullptr, detail::PartialKey{}, assigner,
          mwf, Duration(0));
    });
    b.node(id).keyed = true;
    auto hash =
        std::make_shared<detail::TypedHashExchange<P, detail::KeyHasher<P, detail::PartialKey>>>(
            detail::KeyHasher<P, detail::PartialKey>{detail::PartialKey{}});
    b.addEdge(combiner, 0, id, detail::Partitioning::Hash, std::move(hash));
    return DataStream<Out>(b.graph(), id);
  }

  KeyedStream<T, KS> keyed_;
  A assigner_;
  Duration lateness_{0};
  std::string late_tag_;
};

template <class T>
DataStream<T> ExecutionContext::fromSource(SourceFactory<T> factory, std::string name,
                                           SourceOptions options) {
  detail::GraphBuilder b(graph_);
  bool dead = options.dead_letters;
  int id = b.template addNode<T>(
      "source", [factory, dead](const detail::OperatorInit& init, const std::vector<void*>& outs) {
        auto* dl = dead ? static_cast<detail::Input<DeadLetter>*>(outs[1]) : nullptr;
        return std::make_unique<detail::SourceDriver<T>>(
            init, factory, static_cast<detail::Input<T>*>(outs[0]), dl);
      });
  auto& node = b.node(id);
  node.name = std::move(name);
  node.source = true;
  node.single = options.single;
  if (dead) b.template addPort<DeadLetter>(id, "dead-letters", true);
  return DataStream<T>(graph_, id);
}

}  // namespace lightflus

// Operators over two inputs define members declared above (connect, join, intervalJoin); that
// header includes the joins in turn, so that each header works when included first.
#include "lightflus/connected_streams.hpp"
#include "lightflus/window_all.hpp"
