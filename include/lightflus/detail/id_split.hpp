// IdSplit: how the sources that emit "element i" for i = 0, 1, 2, ... (collections,
// generators, Nexmark) share those ids among their parallel subtasks, limit their rate, and
// snapshot and restore their position, also at another parallelism.
//
// Subtask s of p emits the ids s, s+p, s+2p, ... in order; its snapshot holds the next id it
// would emit. Restored at the same parallelism, each subtask goes on from there.
//
// Restored at parallelism p from q old subtasks whose next ids were n[0], ..., n[q-1], the ids
// emitted so far are exactly {i : i < n[i mod q]}: a layer (q, n). New subtask j walks j, j+p,
// ... from the smallest id of its stride not below min(n), skipping the ids the layer holds;
// beyond max(n) (the horizon) there is nothing to skip and the walk costs what it did before.
// The subtask's snapshot carries the layers it inherited along with its own next id, so that
// a second rescale before every subtask has passed the old horizon stays exact: the ids
// emitted are then the union of the inherited layers and the layer of the new next ids. A
// layer is dropped once a newer one holds all of it (its max(n) <= the newer min(n)), and a
// subtask drops its layers once it has passed their horizon.
//
// The rate, when there is one, is in ids per second over all subtasks, shared equally: a
// subtask emits at most floor(elapsed * rate / p) + 1 ids in the first `elapsed` seconds after
// it opened.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "lightflus/error.hpp"
#include "lightflus/serializer.hpp"
#include "lightflus/time.hpp"

namespace lightflus::detail {

/// The split of the ids 0 .. end-1 of one source subtask; see the top of the file. Usage in a
/// source:
///
///     void open(const SourceContext& ctx) override { split_.open(ctx.subtask, ctx.parallelism); }
///     SourceStatus poll(SourceOutput<T>& out) override {
///       return sourceStatus(split_.emit(out.remaining(), [&](std::uint64_t i) { ... }));
///     }
class IdSplit {
 public:
  /// What emit() did.
  enum class Progress {
    More,       ///< emitted what it could; call again
    Throttled,  ///< the rate allows nothing now; call again after blockedWait()
    Done,       ///< every id of this subtask has been emitted
  };

  /// No end: the ids go on for ever.
  static constexpr std::uint64_t kUnbounded = std::numeric_limits<std::uint64_t>::max();

  /// `end`: the ids are 0 .. end-1 over all subtasks (kUnbounded: no end). `rate`: ids per
  /// second over all subtasks (0: as fast as the job consumes).
  IdSplit(std::uint64_t end, double rate) : end_(end), rate_(rate) {}
  /// For a source option `count` where 0 means unbounded (GeneratorOptions, nexmark::Options).
  static IdSplit forCount(std::uint64_t count, double rate) {
    return IdSplit(count == 0 ? kUnbounded : count, rate);
  }

  /// Starts subtask `subtask` of `parallelism`: from its restored position if there is one,
  /// else from id `subtask`.
  void open(int subtask, int parallelism) {
    step_ = static_cast<std::uint64_t>(parallelism);
    subtask_rate_ = rate_ / static_cast<double>(parallelism);
    start_ = std::chrono::steady_clock::now();
    emitted_since_open_ = 0;
    if (rescaled_) {
      // Every id below the frontier was emitted: start at the first id of this stride not below
      // it; emit() skips the ids the layers hold above it.
      std::uint64_t frontier = 0;
      for (const Layer& l : layers_) frontier = std::max(frontier, l.min);
      const auto s = static_cast<std::uint64_t>(subtask);
      next_ = frontier + (s + step_ - frontier % step_) % step_;
      rescaled_ = false;
    } else if (!restored_) {
      next_ = static_cast<std::uint64_t>(subtask);
    }
    horizon_ = 0;
    for (const Layer& l : layers_) horizon_ = std::max(horizon_, l.max);
  }

  /// Calls `collect(id)` for the next ids of this subtask, at most `room` of them and at most
  /// what the rate allows now.
  template <class Collect>
  Progress emit(std::uint64_t room, Collect&& collect) {
    std::uint64_t limit = room;
    if (subtask_rate_ > 0) {
      const double elapsed =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
      const auto allowed = static_cast<std::uint64_t>(elapsed * subtask_rate_) + 1;
      if (allowed <= emitted_since_open_) return Progress::Throttled;
      limit = std::min(limit, allowed - emitted_since_open_);
    }
    std::uint64_t n = 0;
    while (n < limit && next_ < end_) {
      // Below the horizon, an id an inherited layer holds was emitted before the rescale.
      if (next_ < horizon_ && inLayers(next_)) {
        next_ += step_;
        continue;
      }
      collect(next_);
      next_ += step_;
      ++n;
    }
    emitted_since_open_ += n;
    if (next_ >= horizon_ && !layers_.empty()) layers_.clear();  // nothing left in them for us
    return next_ >= end_ ? Progress::Done : Progress::More;
  }

  /// How long to wait after Throttled.
  Duration blockedWait() const {
    if (subtask_rate_ <= 0) return Duration(1);
    return Duration(std::max<std::int64_t>(1, static_cast<std::int64_t>(1000.0 / subtask_rate_)));
  }

  /// Writes the position: a format tag, the next id and the inherited layers.
  void snapshot(StateWriter& w) const {
    w.write(kFormat);
    w.write(next_);
    w.writeSize(layers_.size());
    for (const Layer& l : layers_) w.write(l.next);
  }

  /// Restores this subtask's own snapshot (same parallelism). Also reads the format of older
  /// versions: the next id alone, one u64.
  void restore(StateReader& r) {
    Position p = read(r);
    next_ = p.next;
    layers_ = std::move(p.layers);
    restored_ = true;
  }

  /// Restores from the snapshots of all the subtasks of a run at another parallelism; the
  /// position is resolved in open(), which knows this subtask's index.
  void restoreRescaled(const std::vector<std::string>& previous) {
    if (previous.empty()) throw InputError("a rescaled restore needs the old subtasks' snapshots");
    std::vector<Layer> layers;
    std::vector<std::uint64_t> nexts;
    for (const std::string& bytes : previous) {
      StateReader r(bytes);
      Position p = read(r);
      nexts.push_back(p.next);
      for (Layer& l : p.layers)
        if (std::find(layers.begin(), layers.end(), l) == layers.end())
          layers.push_back(std::move(l));
    }
    layers.push_back(Layer::of(std::move(nexts)));
    // A layer whose every id a newer one holds adds nothing.
    for (std::size_t i = 0; i < layers.size();) {
      const bool held = std::any_of(layers.begin(), layers.end(), [&](const Layer& m) {
        return &m != &layers[i] && layers[i].max <= m.min;
      });
      if (held)
        layers.erase(layers.begin() + static_cast<std::ptrdiff_t>(i));
      else
        ++i;
    }
    layers_ = std::move(layers);
    rescaled_ = true;
    restored_ = true;
  }

  /// The next id this subtask would emit (tests, diagnostics).
  std::uint64_t next() const { return next_; }
  /// How many layers of earlier parallelisms this subtask still consults.
  std::size_t layers() const { return layers_.size(); }

 private:
  /// The ids {i : i < next[i mod next.size()]}: what the subtasks of one earlier run emitted.
  struct Layer {
    std::vector<std::uint64_t> next;
    std::uint64_t min = 0;  ///< every id below it is in the layer
    std::uint64_t max = 0;  ///< no id from it on is in the layer

    static Layer of(std::vector<std::uint64_t> next) {
      Layer l;
      l.next = std::move(next);
      l.min = *std::min_element(l.next.begin(), l.next.end());
      l.max = *std::max_element(l.next.begin(), l.next.end());
      return l;
    }
    bool holds(std::uint64_t id) const { return id < next[id % next.size()]; }
    friend bool operator==(const Layer& a, const Layer& b) { return a.next == b.next; }
  };

  struct Position {
    std::uint64_t next = 0;
    std::vector<Layer> layers;
  };

  /// Tags the current format. A snapshot of an older version starts with the next id instead,
  /// which never comes near 2^64.
  static constexpr std::uint64_t kFormat = 0xFFFF'FFFF'FFFF'FF02;

  static Position read(StateReader& r) {
    Position p;
    const auto first = r.read<std::uint64_t>();
    if (first != kFormat) {  // the older format: the next id alone
      p.next = first;
      return p;
    }
    p.next = r.read<std::uint64_t>();
    const std::uint64_t n = r.readSize();
    for (std::uint64_t i = 0; i < n; ++i) {
      auto next = r.read<std::vector<std::uint64_t>>();
      if (next.empty()) throw InputError("snapshot data is truncated or corrupt (an empty layer)");
      p.layers.push_back(Layer::of(std::move(next)));
    }
    return p;
  }

  bool inLayers(std::uint64_t id) const {
    for (const Layer& l : layers_)
      if (l.holds(id)) return true;
    return false;
  }

  std::uint64_t end_;
  double rate_;
  std::uint64_t next_ = 0;
  std::uint64_t step_ = 1;
  std::vector<Layer> layers_;  ///< inherited, oldest first
  std::uint64_t horizon_ = 0;  ///< max over the layers of their max; 0 without layers
  bool restored_ = false;
  bool rescaled_ = false;  ///< restoreRescaled() ran; open() picks the start
  double subtask_rate_ = 0;
  std::chrono::steady_clock::time_point start_;
  std::uint64_t emitted_since_open_ = 0;
};

}  // namespace lightflus::detail
