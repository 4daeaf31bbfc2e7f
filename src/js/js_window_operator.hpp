// Keyed tumbling and sliding windows of TypeScript jobs with their accumulators inside V8.
//
// The engine's WindowOperator with a JsWindowFunction keeps each accumulator as a Value: every
// element crosses into V8 for add() and the accumulator crosses back and forth per fold. Here
// the window state lives in the isolate (js_window_helpers.hpp): one call per batch adds every
// element, and after a fused chain and keyBy (JsChainWindowOperator, where no exchange sits in
// between) the chain's outputs never leave V8 at all: a word of a word count is split, keyed
// and counted in one call.
//
// The state belongs to one isolate, and isolates belong to worker threads, so these operators
// are threadBound(): their task always runs on one worker thread. Snapshots hold the windows
// as Values (keys, accumulators, flags), restorable at another parallelism, and the same for
// both operators, which share the uid of the aggregate they implement.
//
// Session windows (merging) stay on the engine's WindowOperator.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "js_operators.hpp"
#include "js_state_site.hpp"

namespace lightflus::js {

/// What a window aggregate computes (from the job's graph).
struct JsWindowSpec {
  bool sliding = false;
  std::int64_t size = 0;
  std::int64_t slide = 0;
  std::int64_t offset = 0;
  bool event_time = false;
  std::int64_t lateness = 0;
  int reduce = -1;  ///< the reduce UDF, or -1 for an aggregate
  AggregateUdfs aggregate;
  /// The input is a combiner's partials (JSON text of {n: count, acc: accumulator}), merged with
  /// merge() (or the reduce function).
  bool partials = false;
  /// The window function (key, window, result) => output, or -1; `window_flat`: it returns
  /// an array (or iterable) of outputs.
  int window_fn = -1;
  bool window_flat = false;
  /// Late elements go to the late-data side output (sideOutputLateData) instead of being
  /// dropped and counted.
  bool late_output = false;
  /// The input is key-group blocks (js_blocks.hpp) from a keyBy over JSON texts.
  bool input_blocks = false;
};

/// The part the operators share: the state's calls into JavaScript, results, timers,
/// snapshots. `emit` hands results downstream. As a combiner (`combiner`), the state is the
/// partial accumulators of one batch, taken by takePartials().
class JsWindowCore {
 public:
  using Emit = std::function<void(Batch<Value>&)>;
  JsWindowCore(const detail::OperatorInit& init, std::shared_ptr<JsJob> job, JsWindowSpec spec,
               Emit emit, bool combiner = false);

  /// Where late elements go (spec.late_output); nothing is sent when not set.
  void setLateOutput(detail::Input<Value>* late) { late_ = late; }
  detail::Input<Value>* lateOutput() const { return late_; }

  void open();
  void close();
  JsCallSite& site() { return state_.site(); }

  /// Adds keyed elements; returns how many (key-group blocks hold several each).
  std::size_t add(Batch<KeyedValue>& batch);
  /// Adds elements as a keyBy in the same task parsed them (js_keyed_reader.hpp).
  void addParsed(const KeyedArrays& arrays);
  /// Runs the fused chain and keyBy over `batch`, then adds their outputs. False, with the
  /// window state unchanged, when a chain or key function threw. With `nexmark`, `batch` holds
  /// Nexmark event ids (js_nexmark.hpp).
  bool addChained(Batch<Value>& batch, const std::vector<int>& udfs,
                  const std::vector<std::string>& kinds, int key_udf,
                  NexmarkCrossing* nexmark = nullptr);
  /// Fires what is due at `up_to`, or everything (`end`).
  void fire(Timestamp up_to, bool end);
  /// Fires the event-time windows the watermark `w` has passed and hands their results on
  /// (before the watermark that fired them goes downstream).
  void watermark(Timestamp w) {
    if (spec_.event_time) fire(w, false);
    flush();
  }
  /// The input ended: fires everything left and hands it on.
  void end() {
    fire(kMaxTimestamp, true);
    flush();
  }
  void flush();
  /// A combiner's partials so far, as (key, JSON text of {n, acc}) elements; `time` is their
  /// timestamp in processing time (in event time, the latest of their elements').
  void takePartials(Batch<KeyedValue>& out, Timestamp time);

  void snapshot(StateWriter& w);
  void restore(const detail::OperatorRestore& r);

 private:
  struct RestoredWindow {
    std::int64_t start = 0;
    bool passed = false;
    std::vector<std::tuple<Value, Value, std::uint8_t>> entries;  // key, acc, flags
  };

  // Makes the state in this thread's isolate (and applies a pending restore); inside a
  // JsIsolate::Scope.
  void makeState(ValueConverter& convert);
  // Runs body(js, convert) in this thread's isolate (scopes entered, the state made), failures
  // tagged with the operator's name.
  template <class Body>
  void inIsolate(Body&& body);
  // Results, late counts and new windows of a helper call.
  void collect(v8::Local<v8::Value> taken, ValueConverter& convert);
  // windowAdd over JS arrays, element `from` on, with dead-letter handling: `record(i)` is
  // element i as a Value.
  template <class Record>
  void addArrays(v8::Local<v8::Value> keys, v8::Local<v8::Value> same, v8::Local<v8::Array> values,
                 v8::Local<v8::Value> times, Timestamp now, ValueConverter& convert,
                 Record&& record);
  void checkTimestamps(const std::vector<Timestamp>& ts) const;
  // add() for spec.input_blocks.
  void addBlocks(Batch<KeyedValue>& batch);
  // Adds parsed elements whose times are in `arrays`.
  void addTimed(JsIsolate& js, ValueConverter& convert, const KeyedArrays& arrays);

  detail::OperatorInit init_;
  JsStateSite state_;
  JsWindowSpec spec_;
  Emit emit_;
  const bool combiner_;
  std::vector<RestoredWindow> restored_;
  std::set<Timestamp> timers_;  // processing-time timers registered
  Batch<Value> buffer_;
  std::vector<Timestamp> times_;
  std::vector<double> block_times_;
  std::string scratch_;  // the JSON text of a batch of blocks
  std::vector<Value> keys_, partials_;
  std::size_t block_count_ = 0;  // elements in the last batch of blocks
  detail::Input<Value>* late_ = nullptr;
  Batch<Value> late_buffer_;
};

/// A keyed window aggregate or reduce after a keyBy. With `readers`, it enters itself there: a
/// keyBy chained before it hands it parsed batches (js_keyed_reader.hpp).
class JsWindowOperator final : public detail::OneInputOperator<KeyedValue, Value>,
                               public JsKeyedReader {
 public:
  JsWindowOperator(const detail::OperatorInit& init, detail::Input<Value>* out,
                   std::shared_ptr<JsJob> job, JsWindowSpec spec,
                   std::shared_ptr<JsKeyedReaders> readers = nullptr);
  ~JsWindowOperator() override;
  void addParsed(const KeyedArrays& arrays) override;

  bool stateful() const override { return true; }
  bool threadBound() const override { return true; }
  void open() override { core_.open(); }
  void close() override { core_.close(); }
  void processBatch(Batch<KeyedValue>& batch) override;
  void processWatermark(Timestamp w) override;
  void processIdle() override;
  void processBarrier(std::uint64_t id) override;
  void endInput() override;
  void snapshot(StateWriter& w) override { core_.snapshot(w); }
  void restore(const detail::OperatorRestore& r) override { core_.restore(r); }
  /// The late-data side output (spec.late_output).
  void setLateOutput(detail::Input<Value>* late) { core_.setLateOutput(late); }

 private:
  JsWindowCore core_;
  std::shared_ptr<JsKeyedReaders> readers_;
};

/// A chain of map/flatMap/filter and the keyBy after it, feeding a JsWindowCore: one call into
/// JavaScript per batch. A batch in which a chain or key function throws is redone step by step,
/// by a JsChainOperator and a JsKeyByOperator feeding the core, which find the failing element
/// (dead letters, positions) as the separate operators do; the window state is untouched until
/// the chain and keys of the whole batch are computed.
class JsChainedCore {
 public:
  JsChainedCore(const detail::OperatorInit& init, std::shared_ptr<JsJob> job, std::vector<int> udfs,
                std::vector<std::string> kinds, int key_udf, JsWindowSpec spec,
                JsWindowCore::Emit emit, bool combiner,
                std::shared_ptr<const nexmark::Generator> nexmark);

  void open();
  void close();
  /// Runs the chain and keyBy over `batch` and adds their outputs to the core.
  void add(Batch<Value>& batch);
  JsWindowCore& core() { return core_; }

 private:
  // The step-by-step path's end: keyed elements into the core.
  class KeyedInput final : public detail::Input<KeyedValue> {
   public:
    explicit KeyedInput(JsWindowCore& core) : core_(core) {}
    void processBatch(Batch<KeyedValue>& batch) override { core_.add(batch); }
    void processWatermark(Timestamp) override {}
    void processIdle() override {}
    void processBarrier(std::uint64_t) override {}
    void endInput() override {}

   private:
    JsWindowCore& core_;
  };
  detail::OperatorInit stepInit(const detail::OperatorInit& init);

  detail::OperatorCounters step_counters_;  // the step-by-step operators' own counts
  JsWindowCore core_;
  std::vector<int> udfs_;
  std::vector<std::string> kinds_;
  int key_udf_;
  KeyedInput keyed_input_;
  JsKeyByOperator<Value> step_keys_;
  JsChainOperator<Value> step_chain_;
  std::optional<NexmarkCrossing> nexmark_;  // the input is Nexmark event ids
};

/// A chain of map/flatMap/filter, the keyBy after it and the window aggregate or reduce after
/// that, in one operator: where the keyBy needs no exchange (parallelism 1).
class JsChainWindowOperator final : public detail::OneInputOperator<Value, Value> {
 public:
  JsChainWindowOperator(const detail::OperatorInit& init, detail::Input<Value>* out,
                        std::shared_ptr<JsJob> job, std::vector<int> udfs,
                        std::vector<std::string> kinds, int key_udf, JsWindowSpec spec,
                        std::shared_ptr<const nexmark::Generator> nexmark = nullptr);

  bool stateful() const override { return true; }
  bool threadBound() const override { return true; }
  void open() override { chained_.open(); }
  void close() override { chained_.close(); }
  void processBatch(Batch<Value>& batch) override;
  void processWatermark(Timestamp w) override;
  void processIdle() override;
  void processBarrier(std::uint64_t id) override;
  void endInput() override;
  void snapshot(StateWriter& w) override { chained_.core().snapshot(w); }
  void restore(const detail::OperatorRestore& r) override { chained_.core().restore(r); }
  /// The late-data side output (spec.late_output).
  void setLateOutput(detail::Input<Value>* late) { chained_.core().setLateOutput(late); }

 private:
  JsChainedCore chained_;
};

/// A chain of map/flatMap/filter and the keyBy after it, combining per batch before the keyBy
/// exchange of a window aggregate that can merge (or a reduce): one partial accumulator per key
/// and batch crosses to the JsWindowOperator (spec.partials) instead of every element. The
/// state lasts one batch, so the operator is stateless between batches.
class JsChainCombineOperator final : public detail::OneInputOperator<Value, KeyedValue> {
 public:
  JsChainCombineOperator(const detail::OperatorInit& init, detail::Input<KeyedValue>* out,
                         std::shared_ptr<JsJob> job, std::vector<int> udfs,
                         std::vector<std::string> kinds, int key_udf, JsWindowSpec spec,
                         std::shared_ptr<const nexmark::Generator> nexmark = nullptr);

  void open() override { chained_.open(); }
  void close() override { chained_.close(); }
  void processBatch(Batch<Value>& batch) override;

 private:
  JsChainedCore chained_;
};

}  // namespace lightflus::js
