// Keyed operators: rolling reduce and aggregate, and process functions with state and timers.
//
// After keyBy(), reduce(f) keeps one value per key and emits the updated value for every
// element (a rolling reduce, as the original Lightflus did); aggregate(a) does the same with an
// accumulator. process(f) gives full control: f.processElement(value, ctx) may read and write
// keyed state (ctx.valueState<S>("name"), listState, mapState), register event-time and
// processing-time timers, emit with ctx.collect() and send to side outputs with
// ctx.output(tag, value); f.onTimer(time, ctx) runs when a timer fires. A plain callable
// (value, ctx) works too when no timers are needed.
//
//     struct Timeout {
//       void processElement(const Event& e, KeyedContext<std::string, Alert>& ctx) {
//         ctx.valueState<Timestamp>("last").update(ctx.timestamp());
//         ctx.registerEventTimeTimer(ctx.timestamp() + 60'000);
//       }
//       void onTimer(Timestamp t, KeyedContext<std::string, Alert>& ctx) { ... }
//     };
//
// Event-time timers fire when the watermark passes them, and all remaining ones at the end of
// a bounded input; processing-time timers fire by the wall clock while the job runs.
#pragma once

#include <queue>
#include <unordered_set>

#include "lightflus/detail/operator.hpp"
#include "lightflus/detail/side_outputs.hpp"
#include "lightflus/functions.hpp"
#include "lightflus/state.hpp"

namespace lightflus {

namespace detail {

/// Event-time timers of a keyed operator, ordered by time, deduplicated per (key, time).
template <class K, class Hash>
class KeyedTimerQueue {
 public:
  bool add(const K& key, Timestamp time) {
    if (!registered_.insert(Entry{time, key}).second) return false;
    queue_.push(Entry{time, key});
    return true;
  }
  void remove(const K& key, Timestamp time) { registered_.erase(Entry{time, key}); }
  /// Registers without queueing (timers fired by someone else: processing time).
  bool addUnqueued(const K& key, Timestamp time) {
    return registered_.insert(Entry{time, key}).second;
  }
  bool empty() const { return queue_.empty(); }
  /// Pops timers with time <= `upto` and calls fn(key, time) for each still registered.
  template <class F>
  void fire(Timestamp upto, F&& fn) {
    while (!queue_.empty() && queue_.top().time <= upto) {
      Entry e = queue_.top();
      queue_.pop();
      if (registered_.erase(e) == 0) continue;  // deleted
      fn(e.key, e.time);
    }
  }
  void snapshot(StateWriter& w) const {
    w.writeSize(registered_.size());
    for (const auto& e : registered_) {
      w.write(e.time);
      writeIfSerializable(w, e.key);
    }
  }
  void restore(StateReader& r, const std::function<bool(const K&)>& owned) {
    auto n = r.readSize();
    for (std::uint64_t i = 0; i < n; ++i) {
      auto t = r.read<Timestamp>();
      K k = readIfSerializable<K>(r);
      if (owned(k)) add(k, t);
    }
  }
  template <class F>
  void forEach(F&& fn) const {
    for (const auto& e : registered_) fn(e.key, e.time);
  }

 private:
  struct Entry {
    Timestamp time;
    K key;
    bool operator>(const Entry& o) const { return time > o.time; }
    bool operator==(const Entry& o) const { return time == o.time && key == o.key; }
  };
  struct EntryHash {
    std::size_t operator()(const Entry& e) const {
      return Hash{}(e.key) * 31 + std::hash<Timestamp>{}(e.time);
    }
  };
  std::priority_queue<Entry, std::vector<Entry>, std::greater<>> queue_;
  std::unordered_set<Entry, EntryHash> registered_;
};

/// Base of keyed operators: key selector, state backend, restore by key group.
template <class K, class In, class Out, class KS, class Hash>
class KeyedOperatorBase : public OneInputOperator<In, Out> {
 public:
  KeyedOperatorBase(const OperatorInit& init, Input<Out>* out, KS selector)
      : OneInputOperator<In, Out>(init, out), selector_(std::move(selector)) {}
  bool stateful() const override { return true; }
  void snapshot(StateWriter& w) override {
    w.writeLengthPrefixed([&](StateWriter& inner) { backend_.snapshot(inner); });
    snapshotExtra(w);
  }
  void restore(const OperatorRestore& r) override {
    std::vector<std::string> backends, extras;
    for (const auto& prev : r.previous) {
      if (prev.empty()) continue;
      StateReader reader(prev);
      backends.push_back(reader.read<std::string>());
      extras.emplace_back(reader.remaining());
    }
    auto owned = [subtask = r.subtask, p = r.parallelism, maxp = r.max_parallelism](const K& k) {
      return ownsKey(k, Hash{}, subtask, p, maxp);
    };
    backend_.restore(backends, owned);
    for (const auto& extra : extras) {
      StateReader reader(extra);
      restoreExtra(reader, owned);
    }
  }

 protected:
  virtual void snapshotExtra(StateWriter&) {}
  virtual void restoreExtra(StateReader&, const std::function<bool(const K&)>&) {}

  KS selector_;
  KeyedStateBackend<K, Hash> backend_;
};

/// Rolling reduce: emits the updated value per element.
template <class K, class T, class KS, class F, class Hash>
class KeyedReduceOperator final : public KeyedOperatorBase<K, T, T, KS, Hash> {
 public:
  KeyedReduceOperator(const OperatorInit& init, Input<T>* out, KS selector, F fn)
      : KeyedOperatorBase<K, T, T, KS, Hash>(init, out, std::move(selector)), fn_(std::move(fn)) {}
  void open() override { table_ = &this->backend_.template table<T>("reduce"); }
  void processBatch(Batch<T>& batch) override {
    this->countIn(batch.size());
    auto& out = this->buffer_;
    auto& map = table_->map;
    guarded(this->name(), [&] {
      for (auto& e : batch) {
        decltype(auto) key = this->selector_(std::as_const(e.value));
        auto it = map.find(key);
        if (it == map.end())
          it = map.emplace(K(key), std::move(e.value)).first;
        else
          it->second = fn_(std::as_const(it->second), std::as_const(e.value));
        out.push_back(Element<T>{it->second, e.timestamp});
      }
    });
    this->emit(out);
  }

 private:
  F fn_;
  detail::StateTable<K, T, Hash>* table_ = nullptr;
};

/// Rolling aggregate: emits getResult(accumulator) per element.
template <class K, class T, class KS, class A, class Hash>
class KeyedAggregateOperator final
    : public KeyedOperatorBase<K, T, AggregateResultOf<A>, KS, Hash> {
 public:
  using R = AggregateResultOf<A>;
  using Acc = AccumulatorOf<A>;
  KeyedAggregateOperator(const OperatorInit& init, Input<R>* out, KS selector, A agg)
      : KeyedOperatorBase<K, T, R, KS, Hash>(init, out, std::move(selector)),
        agg_(std::move(agg)) {}
  void open() override { table_ = &this->backend_.template table<Acc>("aggregate"); }
  void processBatch(Batch<T>& batch) override {
    this->countIn(batch.size());
    auto& out = this->buffer_;
    auto& map = table_->map;
    guarded(this->name(), [&] {
      for (auto& e : batch) {
        decltype(auto) key = this->selector_(std::as_const(e.value));
        auto it = map.find(key);
        if (it == map.end()) it = map.emplace(K(key), agg_.createAccumulator()).first;
        agg_.add(it->second, std::as_const(e.value));
        out.push_back(Element<R>{agg_.getResult(std::as_const(it->second)), e.timestamp});
      }
    });
    this->emit(out);
  }

 private:
  A agg_;
  detail::StateTable<K, Acc, Hash>* table_ = nullptr;
};

template <class K, class In, class Out, class KS, class F, class Hash>
class KeyedProcessOperator;

}  // namespace detail

/// What a keyed process function sees: the key, time, state, timers and the output.
template <class K, class Out, class Hash = std::hash<K>>
class KeyedContext {
 public:
  const K& key() const { return *key_; }
  /// The current element's timestamp, or the firing timer's time in onTimer().
  Timestamp timestamp() const { return timestamp_; }
  Timestamp currentWatermark() const { return *watermark_; }
  Timestamp currentProcessingTime() const { return processingTimeNow(); }
  void registerEventTimeTimer(Timestamp time) { event_timers_->add(*key_, time); }
  void deleteEventTimeTimer(Timestamp time) { event_timers_->remove(*key_, time); }
  void registerProcessingTimeTimer(Timestamp time) { register_processing_(*key_, time); }
  void collect(Out value) { out_->push_back(Element<Out>{std::move(value), timestamp_}); }
  void collect(Out value, Timestamp timestamp) {
    out_->push_back(Element<Out>{std::move(value), timestamp});
  }
  /// A Collector into the main output at the current timestamp (for code written against one).
  Collector<Out> collector() { return Collector<Out>(*out_, timestamp_); }
  /// Sends `value` to the side output `tag`, read with getSideOutput(tag) on the result stream
  /// (dropped when nothing reads it).
  ///
  ///     const OutputTag<Event> kRejected("rejected");
  ///     ctx.output(kRejected, event);
  template <class S, class U>
  void output(const OutputTag<S>& tag, U&& value) {
    side_outputs_->template output<S>(tag.id(), std::forward<U>(value), timestamp_);
  }
  template <class S>
  ValueState<K, S, Hash> valueState(const std::string& name) {
    return ValueState<K, S, Hash>(backend_->template table<S>(name), *backend_);
  }
  template <class S>
  ListState<K, S, Hash> listState(const std::string& name) {
    return ListState<K, S, Hash>(backend_->template table<std::vector<S>>(name), *backend_);
  }
  template <class UK, class UV>
  MapState<K, UK, UV, Hash> mapState(const std::string& name) {
    return MapState<K, UK, UV, Hash>(backend_->template table<std::unordered_map<UK, UV>>(name),
                                     *backend_);
  }

 private:
  template <class, class, class, class, class, class>
  friend class detail::KeyedProcessOperator;
  const K* key_ = nullptr;
  Timestamp timestamp_ = kMinTimestamp;
  const Timestamp* watermark_ = nullptr;
  Batch<Out>* out_ = nullptr;
  detail::SideOutputs* side_outputs_ = nullptr;
  KeyedStateBackend<K, Hash>* backend_ = nullptr;
  detail::KeyedTimerQueue<K, Hash>* event_timers_ = nullptr;
  std::function<void(const K&, Timestamp)> register_processing_;
};

namespace detail {

template <class F, class T, class Ctx>
concept HasProcessElement = requires(F& f, const T& v, Ctx& c) {
  f.processElement(v, c);
};
template <class F, class Ctx>
concept HasOnTimer = requires(F& f, Timestamp t, Ctx& c) {
  f.onTimer(t, c);
};

template <class K, class In, class Out, class KS, class F, class Hash>
class KeyedProcessOperator final : public KeyedOperatorBase<K, In, Out, KS, Hash> {
 public:
  using Ctx = KeyedContext<K, Out, Hash>;
  /// `outputs`: the main output, then the side outputs.
  KeyedProcessOperator(const OperatorInit& init, const std::vector<void*>& outputs, KS selector,
                       F fn)
      : KeyedOperatorBase<K, In, Out, KS, Hash>(init, static_cast<Input<Out>*>(outputs[0]),
                                                std::move(selector)),
        fn_(std::move(fn)),
        side_outputs_(init, outputs) {
    ctx_.watermark_ = &watermark_;
    ctx_.out_ = &this->buffer_;
    ctx_.side_outputs_ = &side_outputs_;
    ctx_.backend_ = &this->backend_;
    ctx_.event_timers_ = &event_timers_;
    ctx_.register_processing_ = [this](const K& key, Timestamp t) { addProcessingTimer(key, t); };
  }
  void open() override {
    for (auto& [key, t] : restored_processing_) addProcessingTimer(key, t);
    restored_processing_.clear();
  }
  void processBatch(Batch<In>& batch) override {
    this->countIn(batch.size());
    guarded(this->name(), [&] {
      for (auto& e : batch) {
        K key = this->selector_(std::as_const(e.value));
        setKey(key, e.timestamp);
        if constexpr (HasProcessElement<F, In, Ctx>)
          fn_.processElement(std::as_const(e.value), ctx_);
        else
          fn_(std::as_const(e.value), ctx_);
      }
    });
    emitAll();
  }
  void processWatermark(Timestamp w) override {
    fireEventTimers(w);
    side_outputs_.processWatermark(w);
    this->out_->processWatermark(w);
  }
  void processIdle() override {
    side_outputs_.processIdle();
    this->out_->processIdle();
  }
  void processBarrier(std::uint64_t id) override {
    side_outputs_.processBarrier(id);
    this->out_->processBarrier(id);
  }
  void endInput() override {
    fireEventTimers(kMaxTimestamp);
    side_outputs_.endInput();
    this->out_->endInput();
  }

 protected:
  void snapshotExtra(StateWriter& w) override {
    event_timers_.snapshot(w);
    processing_timers_.snapshot(w);
  }
  void restoreExtra(StateReader& r, const std::function<bool(const K&)>& owned) override {
    event_timers_.restore(r, owned);
    KeyedTimerQueue<K, Hash> processing;
    processing.restore(r, owned);
    processing.forEach([&](const K& k, Timestamp t) { restored_processing_.emplace_back(k, t); });
  }

 private:
  void setKey(const K& key, Timestamp ts) {
    this->backend_.setCurrentKey(&key);
    ctx_.key_ = &key;
    ctx_.timestamp_ = ts;
  }
  void emitAll() {
    this->emit(this->buffer_);
    side_outputs_.flush();
  }
  void fireEventTimers(Timestamp upto) {
    if (upto > watermark_) watermark_ = upto;
    if constexpr (HasOnTimer<F, Ctx>) {
      guarded(this->name(), [&] {
        event_timers_.fire(upto, [&](const K& key, Timestamp t) {
          setKey(key, t);
          fn_.onTimer(t, ctx_);
        });
      });
      emitAll();
    }
  }
  void addProcessingTimer(const K& key, Timestamp t) {
    if (!processing_timers_.addUnqueued(key, t)) return;
    this->init_.services->registerProcessingTimer(t, [this, key, t](Timestamp) {
      processing_timers_.remove(key, t);
      if constexpr (HasOnTimer<F, Ctx>) {
        guarded(this->name(), [&] {
          setKey(key, t);
          fn_.onTimer(t, ctx_);
        });
        emitAll();
      }
    });
  }

  F fn_;
  SideOutputs side_outputs_;
  Ctx ctx_;
  Timestamp watermark_ = kMinTimestamp;
  KeyedTimerQueue<K, Hash> event_timers_;
  KeyedTimerQueue<K, Hash> processing_timers_;
  std::vector<std::pair<K, Timestamp>> restored_processing_;
};

}  // namespace detail
}  // namespace lightflus
