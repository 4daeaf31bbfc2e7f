// Windows: grouping a keyed stream's elements by time or count.
//
// keyBy(...).window(assigner) assigns every element to windows: tumbling (fixed, adjacent),
// sliding (fixed, overlapping), session (a gap of inactivity closes a window; windows merge
// when an element bridges them), or global (one window per key that fires every n elements,
// or only at the end of a bounded input). Event-time windows fire when the watermark passes
// their end; processing-time windows by the wall clock. allowedLateness() keeps windows that
// already fired for a while: a late element updates the window and fires it again; elements
// later than that go to the late-data side output (sideOutputLateData) or are dropped and
// counted. An element that falls in no window (between the windows of a sliding window whose
// slide is longer than its size) is dropped without a trace unless its own timestamp is late
// (Flink's rule): it is neither late data nor counted. The end of a bounded input fires every
// window that is left.
//
//     stream.keyBy(key).window(TumblingEventTimeWindows::of(Time::seconds(5)))
//         .aggregate(Count{});
#pragma once

#include <algorithm>
#include <cstdint>
#include <iterator>
#include <memory>
#include <queue>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include "lightflus/detail/operator.hpp"
#include "lightflus/functions.hpp"
#include "lightflus/state.hpp"

namespace lightflus {

/// A time interval [start, end).
struct TimeWindow {
  Timestamp start = 0;
  Timestamp end = 0;
  /// The last timestamp that belongs to the window; it fires when the watermark reaches it.
  Timestamp maxTimestamp() const { return end - 1; }
  bool intersects(const TimeWindow& o) const { return start <= o.end && o.start <= end; }
  TimeWindow cover(const TimeWindow& o) const {
    return {std::min(start, o.start), std::max(end, o.end)};
  }
  friend bool operator==(const TimeWindow&, const TimeWindow&) = default;
  friend auto operator<=>(const TimeWindow&, const TimeWindow&) = default;
};

/// The single window of GlobalWindows.
struct GlobalWindow {
  Timestamp maxTimestamp() const { return kMaxTimestamp; }
  friend bool operator==(const GlobalWindow&, const GlobalWindow&) = default;
};

namespace detail {
inline Timestamp windowStart(Timestamp ts, std::int64_t offset, std::int64_t size) {
  std::int64_t r = (ts - offset) % size;
  if (r < 0) r += size;
  return ts - r;
}
inline void checkPositive(Duration d, const char* what) {
  if (d.count() <= 0) throw ConfigError(std::string(what) + " must be positive");
}
}  // namespace detail

/// Fixed-size, non-overlapping windows in event time.
struct TumblingEventTimeWindows {
  using Window = TimeWindow;
  static constexpr bool kEventTime = true, kMerging = false, kGlobal = false;
  Duration size;
  Duration offset{0};
  static TumblingEventTimeWindows of(Duration size, Duration offset = Duration(0)) {
    detail::checkPositive(size, "tumbling window size");
    return {size, offset};
  }
  template <class F>
  void assign(Timestamp ts, F&& fn) const {
    Timestamp s = detail::windowStart(ts, offset.count(), size.count());
    fn(TimeWindow{s, s + size.count()});
  }
};

/// Fixed-size windows every `slide`; an element belongs to size/slide windows.
struct SlidingEventTimeWindows {
  using Window = TimeWindow;
  static constexpr bool kEventTime = true, kMerging = false, kGlobal = false;
  Duration size;
  Duration slide;
  Duration offset{0};
  static SlidingEventTimeWindows of(Duration size, Duration slide, Duration offset = Duration(0)) {
    detail::checkPositive(size, "sliding window size");
    detail::checkPositive(slide, "sliding window slide");
    return {size, slide, offset};
  }
  template <class F>
  void assign(Timestamp ts, F&& fn) const {
    Timestamp last = detail::windowStart(ts, offset.count(), slide.count());
    for (Timestamp s = last; s > ts - size.count(); s -= slide.count())
      fn(TimeWindow{s, s + size.count()});
  }
};

/// Windows that close after `gap` without elements; overlapping sessions merge.
struct EventTimeSessionWindows {
  using Window = TimeWindow;
  static constexpr bool kEventTime = true, kMerging = true, kGlobal = false;
  Duration gap;
  static EventTimeSessionWindows withGap(Duration gap) {
    detail::checkPositive(gap, "session gap");
    return {gap};
  }
  template <class F>
  void assign(Timestamp ts, F&& fn) const {
    fn(TimeWindow{ts, ts + gap.count()});
  }
};

/// Tumbling windows by the wall clock.
struct TumblingProcessingTimeWindows : TumblingEventTimeWindows {
  static constexpr bool kEventTime = false;
  static TumblingProcessingTimeWindows of(Duration size, Duration offset = Duration(0)) {
    detail::checkPositive(size, "tumbling window size");
    return {{size, offset}};
  }
};

/// Sliding windows by the wall clock.
struct SlidingProcessingTimeWindows : SlidingEventTimeWindows {
  static constexpr bool kEventTime = false;
  static SlidingProcessingTimeWindows of(Duration size, Duration slide,
                                         Duration offset = Duration(0)) {
    return {SlidingEventTimeWindows::of(size, slide, offset)};
  }
};

/// Session windows by the wall clock.
struct ProcessingTimeSessionWindows : EventTimeSessionWindows {
  static constexpr bool kEventTime = false;
  static ProcessingTimeSessionWindows withGap(Duration gap) {
    return {EventTimeSessionWindows::withGap(gap)};
  }
};

/// One window per key. With a count, it fires and is cleared every `count` elements (a count
/// window); the elements left at the end of a bounded input fire then.
struct GlobalWindows {
  using Window = GlobalWindow;
  static constexpr bool kEventTime = false, kMerging = false, kGlobal = true;
  std::uint64_t count = 0;
  static GlobalWindows create() { return {}; }
  static GlobalWindows ofCount(std::uint64_t n) {
    if (n == 0) throw ConfigError("a count window needs a count of at least 1");
    return {n};
  }
  template <class F>
  void assign(Timestamp, F&& fn) const {
    fn(GlobalWindow{});
  }
};

/// A row of topN(n, by): the element, its rank (1 = highest score; equal scores share a rank,
/// as SQL's RANK()) and its window. Rows of one window come in rank order.
template <class T, class W>
struct Ranked {
  std::uint64_t rank = 0;
  T value;
  W window;
  friend bool operator==(const Ranked&, const Ranked&) = default;
};

template <class A>
concept WindowAssigner = requires {
  typename A::Window;
  A::kEventTime;
  A::kMerging;
  A::kGlobal;
};

namespace detail {

/// How a window turns elements into results: reduce.
template <class T, class F>
struct ReduceWindowFunction {
  F fn;
  using Acc = std::optional<T>;
  using Out = T;
  Acc create() const { return std::nullopt; }
  void add(Acc& acc, const T& v) {
    if (acc)
      *acc = fn(std::as_const(*acc), v);
    else
      acc.emplace(v);
  }
  void merge(Acc& acc, Acc&& other) {
    if (!other) return;
    if (acc)
      *acc = fn(std::as_const(*acc), std::as_const(*other));
    else
      acc = std::move(other);
  }
  template <class K, class W>
  void emit(const K&, const W&, const Acc& acc, Timestamp ts, Batch<Out>& out) {
    if (acc) out.push_back(Element<Out>{*acc, ts});
  }
};

template <class T, class A>
struct PlainAggregate {
  A agg;
  using Acc = AccumulatorOf<A>;
  using Out = AggregateResultOf<A>;
  Acc create() const { return agg.createAccumulator(); }
  void add(Acc& acc, const T& v) { agg.add(acc, v); }
  void merge(Acc& acc, Acc&& other) {
    if constexpr (MergingAggregate<A>)
      agg.merge(acc, std::as_const(other));
    else
      throw ConfigError("session windows need an aggregate function with merge(acc, other)");
  }
  template <class K, class W>
  void emit(const K&, const W&, const Acc& acc, Timestamp ts, Batch<Out>& out) {
    out.push_back(Element<Out>{agg.getResult(acc), ts});
  }
};

template <class T, class A, class F, class K, class W>
struct AggregateWithWindow {
  A agg;
  F fn;
  using Acc = AccumulatorOf<A>;
  using Out = std::decay_t<std::invoke_result_t<F&, const K&, const W&, AggregateResultOf<A>>>;
  Acc create() const { return agg.createAccumulator(); }
  void add(Acc& acc, const T& v) { agg.add(acc, v); }
  void merge(Acc& acc, Acc&& other) {
    if constexpr (MergingAggregate<A>)
      agg.merge(acc, std::as_const(other));
    else
      throw ConfigError("session windows need an aggregate function with merge(acc, other)");
  }
  void emit(const K& key, const W& w, const Acc& acc, Timestamp ts, Batch<Out>& out) {
    out.push_back(Element<Out>{fn(key, w, agg.getResult(acc)), ts});
  }
};

/// process: fn(key, window, const std::vector<T>& elements, Collector<Out>&).
template <class T, class Out_, class F>
struct ProcessWindowFunction {
  F fn;
  using Acc = std::vector<T>;
  using Out = Out_;
  Acc create() const { return {}; }
  void add(Acc& acc, const T& v) { acc.push_back(v); }
  void merge(Acc& acc, Acc&& other) {
    acc.insert(acc.end(), std::make_move_iterator(other.begin()),
               std::make_move_iterator(other.end()));
  }
  template <class K, class W>
  void emit(const K& key, const W& w, const Acc& acc, Timestamp ts, Batch<Out>& out) {
    Collector<Out> c(out, ts);
    fn(key, w, acc, c);
  }
};

/// top-N: the candidates of one window, (score, element) in descending score; ties keep their
/// arrival order. Only elements that can still rank within n are kept (SQL RANK() <= n: an
/// element's rank is 1 + the number of elements with a higher score, so ties share a rank and
/// all of them stay).
template <class T, class By>
struct TopNAggregate {
  std::size_t n;
  By by;
  using Score = std::decay_t<std::invoke_result_t<const By&, const T&>>;
  using Acc = std::vector<std::pair<Score, T>>;
  Acc createAccumulator() const { return {}; }
  void add(Acc& acc, const T& v) const {
    Score s = by(v);
    if (acc.size() >= n && s < acc[n - 1].first) return;  // below the n-th score: rank > n
    auto at = std::upper_bound(acc.begin(), acc.end(), s,
                               [](const Score& x, const auto& e) { return e.first < x; });
    acc.emplace(at, std::move(s), v);
    prune(acc);
  }
  void merge(Acc& acc, const Acc& other) const {
    Acc merged;
    merged.reserve(acc.size() + other.size());
    std::merge(acc.begin(), acc.end(), other.begin(), other.end(), std::back_inserter(merged),
               [](const auto& a, const auto& b) { return b.first < a.first; });
    prune(merged);
    acc = std::move(merged);
  }
  const Acc& getResult(const Acc& acc) const { return acc; }

  /// Drops the elements ranked below n: those with a score lower than the n-th element's.
  void prune(Acc& acc) const {
    if (acc.size() <= n) return;
    const Score& nth = acc[n - 1].first;
    auto end = acc.begin() + static_cast<std::ptrdiff_t>(n);
    while (end != acc.end() && !(end->first < nth)) ++end;
    acc.erase(end, acc.end());
  }
};

/// topN(n, by) as a window function: one Ranked row per candidate, in rank order.
template <class T, class By, class W>
struct TopNWindowFunction {
  TopNAggregate<T, By> agg;
  using Acc = typename TopNAggregate<T, By>::Acc;
  using Out = Ranked<T, W>;
  Acc create() const { return agg.createAccumulator(); }
  void add(Acc& acc, const T& v) { agg.add(acc, v); }
  void merge(Acc& acc, Acc&& other) { agg.merge(acc, other); }
  template <class K>
  void emit(const K&, const W& w, const Acc& acc, Timestamp ts, Batch<Out>& out) {
    std::uint64_t rank = 1;
    for (std::size_t i = 0; i < acc.size(); ++i) {
      if (i > 0 && acc[i - 1].first != acc[i].first) rank = i + 1;
      out.push_back(Element<Out>{Out{rank, acc[i].second, w}, ts});
    }
  }
};

/// The open windows of one key: a vector that keeps a single window inline. Most keys have
/// one window at a time (global and tumbling windows, one session), and the window operator
/// then finds it in the hash map's node with no allocation and no pointer to follow per element
/// (a std::vector here made keyed counting about 1.5x slower). Pointers into it are invalidated
/// by push_back() and erase(), as a vector's may be.
template <class E>
class KeyWindows {
 public:
  KeyWindows() noexcept {}
  KeyWindows(KeyWindows&& o) noexcept(std::is_nothrow_move_constructible_v<E>) { take(o); }
  KeyWindows& operator=(KeyWindows&& o) noexcept(std::is_nothrow_move_constructible_v<E>) {
    if (this != &o) {
      clear();
      take(o);
    }
    return *this;
  }
  ~KeyWindows() { clear(); }

  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  E* begin() { return heap_ ? many_.data() : &one_; }
  E* end() { return begin() + size_; }
  const E* begin() const { return heap_ ? many_.data() : &one_; }
  const E* end() const { return begin() + size_; }
  E& operator[](std::size_t i) { return begin()[i]; }
  E& back() { return begin()[size_ - 1]; }

  void push_back(E e) {
    if (heap_) {
      many_.push_back(std::move(e));
    } else if (size_ == 0) {
      std::construct_at(&one_, std::move(e));
    } else {
      std::vector<E> v;
      v.reserve(2);
      v.push_back(std::move(one_));
      v.push_back(std::move(e));
      std::destroy_at(&one_);
      std::construct_at(&many_, std::move(v));
      heap_ = true;
    }
    ++size_;
  }
  void erase(E* pos) {
    if (!heap_) {
      clear();
      return;
    }
    many_.erase(many_.begin() + (pos - many_.data()));
    --size_;
    if (size_ == 0) {
      clear();
    } else if constexpr (std::is_nothrow_move_constructible_v<E>) {
      if (size_ == 1) {  // back inline (a throwing move would leave the storage broken)
        E last = std::move(many_.front());
        std::destroy_at(&many_);
        std::construct_at(&one_, std::move(last));
        heap_ = false;
      }
    }
  }
  void clear() {
    if (heap_)
      std::destroy_at(&many_);
    else if (size_ == 1)
      std::destroy_at(&one_);
    size_ = 0;
    heap_ = false;
  }

 private:
  void take(KeyWindows& o) {
    if (o.heap_)
      std::construct_at(&many_, std::move(o.many_));
    else if (o.size_ == 1)
      std::construct_at(&one_, std::move(o.one_));
    size_ = o.size_;
    heap_ = o.heap_;
    o.clear();
  }

  std::size_t size_ = 0;
  bool heap_ = false;  // the windows are in many_; else in one_ (when size_ == 1)
  union {
    E one_;
    std::vector<E> many_;
  };
};

/// The window operator (one per keyed subtask).
template <class K, class T, class KS, class Assigner, class WF, class Hash>
class WindowOperator final : public OneInputOperator<T, typename WF::Out> {
 public:
  using W = typename Assigner::Window;
  using Acc = typename WF::Acc;
  using Out = typename WF::Out;

  WindowOperator(const OperatorInit& init, Input<Out>* out, Input<T>* late, KS selector,
                 Assigner assigner, WF wf, Duration lateness)
      : OneInputOperator<T, Out>(init, out),
        late_(late),
        selector_(std::move(selector)),
        assigner_(std::move(assigner)),
        wf_(std::move(wf)),
        lateness_(lateness.count()) {}

  bool stateful() const override { return true; }

  void open() override {
    // Timers of restored windows.
    for (auto& [key, entries] : windows_)
      for (auto& e : entries) scheduleFor(key, e);
  }

  void processBatch(Batch<T>& batch) override {
    this->countIn(batch.size());
    // Reading the clock costs about as much as counting a word, so processing-time windows
    // read it once per batch (the batch arrived at one moment; timers cannot fire while it is
    // processed), and global windows, which ignore time, not at all.
    const Timestamp now =
        Assigner::kEventTime || Assigner::kGlobal ? kMinTimestamp : processingTimeNow();
    guarded(this->name(), [&] {
      for (auto& e : batch) {
        decltype(auto) key = selector_(std::as_const(e.value));
        Timestamp ts = Assigner::kEventTime ? e.timestamp : now;
        if constexpr (Assigner::kEventTime) {
          if (ts == kMinTimestamp)
            throw Error(
                "event-time window received an element without a timestamp; call "
                "assignTimestamps() before the window");
        }
        if constexpr (Assigner::kMerging)
          addMerging(key, e, ts);
        else
          addAligned(key, e, ts);
      }
    });
    flushOut();
    if (!late_batch_.empty()) {
      // Operators may leave the batch as it was (map, filter): clear it, or the next batch
      // would send these elements again.
      late_->processBatch(late_batch_);
      late_batch_.clear();
    }
  }

  void processWatermark(Timestamp w) override {
    if constexpr (Assigner::kEventTime) {
      watermark_ = std::max(watermark_, w);
      fireTimers(w);
      // The results must go downstream before the watermark that fired them, or they arrive
      // there late (and wait here until the next batch or the end of input).
      flushOut();
    }
    this->out_->processWatermark(w);
    if (late_) late_->processWatermark(w);
  }
  void processIdle() override {
    this->out_->processIdle();
    if (late_) late_->processIdle();
  }
  void processBarrier(std::uint64_t id) override {
    this->out_->processBarrier(id);
    if (late_) late_->processBarrier(id);
  }
  void endInput() override {
    // A bounded input's end fires everything that is left, in time order.
    guarded(this->name(), [&] {
      if constexpr (Assigner::kEventTime) {
        watermark_ = kMaxTimestamp;
        fireTimers(kMaxTimestamp);
      }
      for (auto& [key, entries] : windows_)
        for (auto& e : entries)
          if (!e.fired || e.dirty) fire(key, e);
      windows_.clear();
    });
    flushOut();
    this->out_->endInput();
    if (late_) late_->endInput();
  }

  void snapshot(StateWriter& w) override {
    w.writeSize(windows_.size());
    for (const auto& [key, entries] : windows_) {
      writeIfSerializable(w, key);
      w.writeSize(entries.size());
      for (const auto& e : entries) {
        w.write(e.window);
        writeIfSerializable(w, e.acc);
        w.write(e.count);
        w.write(e.fired);
      }
    }
  }
  void restore(const OperatorRestore& r) override {
    for (const auto& bytes : r.previous) {
      if (bytes.empty()) continue;
      StateReader reader(bytes);
      auto n = reader.readSize();
      for (std::uint64_t i = 0; i < n; ++i) {
        K key = readIfSerializable<K>(reader);
        auto m = reader.readSize();
        KeyWindows<Entry> entries;
        for (std::uint64_t j = 0; j < m; ++j) {
          Entry e{reader.read<W>(), readIfSerializable<Acc>(reader), 0, false, false};
          e.count = reader.read<std::uint64_t>();
          e.fired = reader.read<bool>();
          entries.push_back(std::move(e));
        }
        if (ownsKey(key, Hash{}, r.subtask, r.parallelism, r.max_parallelism))
          windows_.emplace(std::move(key), std::move(entries));
      }
    }
  }

 private:
  struct Entry {
    W window;
    Acc acc;
    std::uint64_t count = 0;
    bool fired = false;  // fired at least once (kept for allowed lateness)
    bool dirty = false;  // changed since it fired
  };
  struct Timer {
    Timestamp time;
    K key;
    W window;
    bool operator>(const Timer& o) const { return time > o.time; }
  };

  bool isLate(const W& w) const {
    if constexpr (Assigner::kEventTime)
      return w.maxTimestamp() != kMaxTimestamp && w.maxTimestamp() + lateness_ <= watermark_;
    else
      return false;
  }
  // An element that no window took is late data only when its own timestamp is behind the
  // watermark (and the allowed lateness); otherwise it fell between windows and is dropped.
  bool isLateElement(Timestamp ts) const {
    if constexpr (Assigner::kEventTime)
      return watermark_ != kMinTimestamp && ts <= watermark_ - lateness_;
    else
      return false;
  }

  template <class Key>
  KeyWindows<Entry>& entriesOf(const Key& key) {
    auto it = windows_.find(key);
    if (it == windows_.end()) it = windows_.try_emplace(K(key)).first;
    return it->second;
  }

  template <class Key>
  void addAligned(const Key& key, Element<T>& e, Timestamp ts) {
    bool assigned = false;
    KeyWindows<Entry>* entries = nullptr;
    assigner_.assign(ts, [&](const W& w) {
      if (isLate(w)) return;
      assigned = true;
      if (!entries) entries = &entriesOf(key);
      Entry* entry = nullptr;
      for (auto& x : *entries)
        if (x.window == w) {
          entry = &x;
          break;
        }
      if (!entry) {
        entries->push_back(Entry{w, wf_.create(), 0, false, false});
        entry = &entries->back();
        scheduleFor(K(key), *entry);
      }
      wf_.add(entry->acc, std::as_const(e.value));
      ++entry->count;
      afterAdd(key, *entries, *entry);
    });
    if (!assigned && isLateElement(ts)) onLate(e);
  }

  template <class Key>
  void afterAdd(const Key& key, KeyWindows<Entry>& entries, Entry& entry) {
    if constexpr (Assigner::kGlobal) {
      if (assigner_.count > 0 && entry.count >= assigner_.count) {
        fire(K(key), entry);
        entries.erase(&entry);
      }
    } else if constexpr (Assigner::kEventTime) {
      if (entry.window.maxTimestamp() <= watermark_) {
        // A late element within the allowed lateness: fire the (updated) result now, also for
        // a window that gets its first element only now; then keep it until the lateness ends.
        bool first = !entry.fired;
        fire(K(key), entry);
        if (first) scheduleFor(K(key), entry);
      } else if (entry.fired) {
        entry.dirty = true;
      }
    }
  }

  template <class Key>
  void addMerging(const Key& key, Element<T>& e, Timestamp ts) {
    W nw;
    assigner_.assign(ts, [&](const W& w) { nw = w; });
    auto& entries = entriesOf(key);
    W merged = nw;
    for (const auto& x : entries)
      if (x.window.intersects(merged)) merged = merged.cover(x.window);
    // A second pass: covering may reach windows the first pass skipped.
    for (const auto& x : entries)
      if (x.window.intersects(merged)) merged = merged.cover(x.window);
    if (isLate(merged)) {
      if (entries.empty()) windows_.erase(windows_.find(key));
      onLate(e);
      return;
    }
    Entry result{merged, wf_.create(), 0, false, false};
    KeyWindows<Entry> kept;
    bool any_fired = false;
    for (auto& x : entries) {
      if (x.window.intersects(merged)) {
        wf_.merge(result.acc, std::move(x.acc));
        result.count += x.count;
        any_fired = any_fired || x.fired;
      } else {
        kept.push_back(std::move(x));
      }
    }
    wf_.add(result.acc, std::as_const(e.value));
    ++result.count;
    result.fired = any_fired && merged.maxTimestamp() <= watermark_;
    kept.push_back(std::move(result));
    entries = std::move(kept);
    Entry& entry = entries.back();
    // Fire first: a window the watermark has passed then gets its cleanup timer (end of the
    // lateness), not a timer at its end that would only be skipped as stale.
    if (entry.window.maxTimestamp() <= watermark_ && Assigner::kEventTime) fire(K(key), entry);
    scheduleFor(K(key), entry);
  }

  void onLate(Element<T>& e) {
    if (late_)
      late_batch_.push_back(std::move(e));
    else
      this->init_.counters->late_dropped.fetch_add(1, std::memory_order_relaxed);
  }

  void scheduleFor(const K& key, const Entry& e) {
    if constexpr (Assigner::kGlobal) {
      return;
    } else if constexpr (Assigner::kEventTime) {
      Timestamp t = e.fired ? e.window.maxTimestamp() + lateness_ : e.window.maxTimestamp();
      timers_.push(Timer{t, key, e.window});
    } else {
      W w = e.window;
      this->init_.services->registerProcessingTimer(w.maxTimestamp(), [this, key, w](Timestamp) {
        guarded(this->name(), [&] { fireProcessing(key, w); });
        flushOut();
      });
    }
  }

  void fireProcessing(const K& key, const W& w) {
    auto it = windows_.find(key);
    if (it == windows_.end()) return;
    auto& entries = it->second;
    for (std::size_t i = 0; i < entries.size(); ++i)
      if (entries[i].window == w) {
        fire(key, entries[i]);
        entries.erase(entries.begin() + static_cast<std::ptrdiff_t>(i));
        break;
      }
    if (entries.empty()) windows_.erase(it);
  }

  void fireTimers(Timestamp upto) {
    while (!timers_.empty() && timers_.top().time <= upto) {
      Timer t = timers_.top();
      timers_.pop();
      auto it = windows_.find(t.key);
      if (it == windows_.end()) continue;
      auto& entries = it->second;
      for (std::size_t i = 0; i < entries.size(); ++i) {
        Entry& e = entries[i];
        if (!(e.window == t.window)) continue;
        if (!e.fired && t.time == e.window.maxTimestamp()) {
          fire(t.key, e);
          if (lateness_ > 0 && upto != kMaxTimestamp) {
            timers_.push(Timer{e.window.maxTimestamp() + lateness_, t.key, e.window});
            break;
          }
        } else if (e.fired && t.time < e.window.maxTimestamp() + lateness_ &&
                   upto != kMaxTimestamp) {
          break;  // a stale timer of a window that merged or fired again
        }
        if (e.dirty) fire(t.key, e);
        entries.erase(entries.begin() + static_cast<std::ptrdiff_t>(i));
        break;
      }
      if (entries.empty()) windows_.erase(it);
      if (this->buffer_.size() >= this->init_.batch_size) flushOut();
    }
  }

  void fire(const K& key, Entry& e) {
    wf_.emit(key, e.window, e.acc, e.window.maxTimestamp(), this->buffer_);
    e.fired = true;
    e.dirty = false;
    if (this->buffer_.size() >= this->init_.batch_size) flushOut();
  }

  void flushOut() { this->emit(this->buffer_); }

  Input<T>* late_;
  KS selector_;
  Assigner assigner_;
  WF wf_;
  std::int64_t lateness_;
  Timestamp watermark_ = kMinTimestamp;
  std::unordered_map<K, KeyWindows<Entry>, Hash> windows_;
  std::priority_queue<Timer, std::vector<Timer>, std::greater<>> timers_;
  Batch<T> late_batch_;
};

}  // namespace detail
}  // namespace lightflus
