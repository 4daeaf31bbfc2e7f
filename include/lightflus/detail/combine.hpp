// Local pre-aggregation before a keyed window (internal): the combiner.
//
// window(...).aggregate(agg) over tumbling event-time or global windows, with an aggregate
// that can merge accumulators, is planned as two steps, as Flink's local-global aggregation
// and MapReduce's combiners do: a Combiner chained to the upstream operator adds each element
// to a per-(key, window) accumulator, and sends one Partial per (key, window) across the keyBy
// exchange when a watermark arrives, at the end of the input, or when it holds too many keys;
// the window operator merges the partials. The exchange then carries about one record per
// distinct key instead of one per element. Results are the same: partials are sent before the
// watermark that could fire their window, so a window sees the same elements in time.
#pragma once

#include <unordered_map>
#include <vector>

#include "lightflus/detail/operator.hpp"
#include "lightflus/functions.hpp"
#include "lightflus/window.hpp"

namespace lightflus::detail {

/// An accumulator for one key (and window: its timestamp lies in the window).
template <class K, class Acc>
struct Partial {
  K key;
  Acc acc;
};

/// Selects the key of a Partial.
struct PartialKey {
  template <class K, class Acc>
  const K& operator()(const Partial<K, Acc>& p) const {
    return p.key;
  }
};

template <class K, class T, class KS, class Assigner, class Agg, class Hash>
class CombineOperator final : public OneInputOperator<T, Partial<K, AccumulatorOf<Agg>>> {
 public:
  using Acc = AccumulatorOf<Agg>;
  using P = Partial<K, Acc>;
  /// At most this many (key, window) accumulators are held before they are sent.
  static constexpr std::size_t kMaxEntries = 1 << 16;

  CombineOperator(const OperatorInit& init, Input<P>* out, KS selector, Assigner assigner, Agg agg)
      : OneInputOperator<T, P>(init, out),
        selector_(std::move(selector)),
        assigner_(std::move(assigner)),
        agg_(std::move(agg)) {}

  bool stateful() const override { return true; }

  void processBatch(Batch<T>& batch) override {
    this->countIn(batch.size());
    guarded(this->name(), [&] {
      for (auto& e : batch) {
        decltype(auto) key = selector_(std::as_const(e.value));
        auto it = entries_.find(key);
        if (it == entries_.end()) it = entries_.emplace(K(key), emptySlots()).first;
        Acc& acc = slot(it->second, e.timestamp);
        agg_.add(acc, std::as_const(e.value));
      }
    });
    if (entries_.size() >= kMaxEntries) send();
  }
  void processWatermark(Timestamp w) override {
    send();
    this->out_->processWatermark(w);
  }
  void endInput() override {
    send();
    this->out_->endInput();
  }
  // Barriers pass: the task snapshotted the accumulators held here before forwarding them.

  void snapshot(StateWriter& w) override {
    w.writeSize(entries_.size());
    for (auto& [key, slots] : entries_) {
      writeIfSerializable(w, key);
      std::uint64_t n = 0;
      forEachSlot(slots, [&](Timestamp, Acc&) { ++n; });
      w.writeSize(n);
      forEachSlot(slots, [&](Timestamp ts, Acc& acc) {
        w.write(ts);
        writeIfSerializable(w, acc);
      });
    }
  }
  void restore(const OperatorRestore& r) override {
    // Partials go through the keyBy exchange later, so any subtask may hold any key.
    for (std::size_t i = 0; i < r.previous.size(); ++i) {
      if (static_cast<int>(i) % r.parallelism != r.subtask || r.previous[i].empty()) continue;
      StateReader reader(r.previous[i]);
      auto n = reader.readSize();
      for (std::uint64_t k = 0; k < n; ++k) {
        K key = readIfSerializable<K>(reader);
        auto m = reader.readSize();
        auto it = entries_.find(key);
        if (it == entries_.end()) it = entries_.emplace(key, emptySlots()).first;
        for (std::uint64_t j = 0; j < m; ++j) {
          Timestamp ts = reader.read<Timestamp>();
          Acc acc = readIfSerializable<Acc>(reader);
          if constexpr (Assigner::kGlobal)
            agg_.merge(it->second, acc);  // one accumulator per key
          else
            it->second.emplace_back(ts, std::move(acc));
        }
      }
    }
  }

 private:
  // Per key: the accumulator itself for global windows (stored in the hash node: no second
  // pointer to follow per element), else (a timestamp in the window, accumulator) pairs.
  using Slots = std::conditional_t<Assigner::kGlobal, Acc, std::vector<std::pair<Timestamp, Acc>>>;

  Acc& slot(Slots& slots, Timestamp ts) {
    if constexpr (Assigner::kGlobal) {
      static_cast<void>(ts);
      return slots;
    } else {
      if (ts == kMinTimestamp)
        throw Error(
            "event-time window received an element without a timestamp; call "
            "assignTimestamps() before the window");
      Timestamp start = 0;
      assigner_.assign(ts, [&](const TimeWindow& w) { start = w.start; });
      for (auto& [t, acc] : slots)
        if (t == start) return acc;
      slots.emplace_back(start, agg_.createAccumulator());
      return slots.back().second;
    }
  }

  /// Calls fn(timestamp, accumulator) for every window of a key.
  template <class F>
  static void forEachSlot(Slots& slots, F&& fn) {
    if constexpr (Assigner::kGlobal)
      fn(kMinTimestamp, slots);
    else
      for (auto& [ts, acc] : slots) fn(ts, acc);
  }

  void send() {
    if (entries_.empty()) return;
    auto& out = this->buffer_;
    for (auto& [key, slots] : entries_) {
      forEachSlot(slots, [&](Timestamp ts, Acc& acc) {
        out.emplace_back(P{key, std::move(acc)}, ts);
        if (out.size() >= this->init_.batch_size) this->emit(out);
      });
    }
    entries_.clear();
    this->emit(out);
  }

  Slots emptySlots() const {
    if constexpr (Assigner::kGlobal)
      return agg_.createAccumulator();
    else
      return Slots{};
  }

  KS selector_;
  Assigner assigner_;
  Agg agg_;
  std::unordered_map<K, Slots, Hash> entries_;
};

/// A window function that merges partial accumulators instead of adding elements.
template <class WF, class P>
struct MergePartials : WF {
  using Acc = typename WF::Acc;
  void add(Acc& acc, const P& p) { this->agg.merge(acc, p.acc); }
};

}  // namespace lightflus::detail
