// Rolling keyed reduce and aggregate of TypeScript jobs with their state inside V8, and the
// operators around them fused into the same call.
//
// JsKeyedRollingOperator kept each key's result as a Value: every element and the key's state
// crossed into V8 and back per batch, objects as JSON text, and crossed again into the next
// operator. Here (js_rolling_helpers.hpp) the state is a JS Map in the isolate of the task's
// thread; the map/flatMap/filter chain after the reduce runs in the same call; after a fused
// chain and keyBy (JsChainRollingOperator, where no exchange sits in between) the chain's
// outputs never leave V8 at all. The results cross back once per batch, packed: one string
// and its lengths when they are strings, else one JSON text.
//
// The state belongs to one isolate, and isolates belong to worker threads, so these operators
// are threadBound(). Snapshots hold the state as a map from key to result or accumulator
// (Values), the format JsKeyedRollingOperator wrote, restorable at another parallelism.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "js_operators.hpp"
#include "js_state_site.hpp"

namespace lightflus::js {

/// A keyed batch (of Values, or with `input_blocks` of key-group blocks (js_blocks.hpp), parsed
/// with one JSON.parse: `scratch` holds the text) as JS arrays (js_keyed_reader.hpp).
KeyedArrays toKeyedArrays(JsWorker& worker, ValueConverter& convert, const Batch<KeyedValue>& batch,
                          bool input_blocks, std::string& scratch);
/// Values packed by the JS helpers' pack(): [joined, Int32Array of lengths] (strings) or
/// [JSON text of the array]; replaces `out`.
void unpackValues(JsIsolate& js, ValueConverter& convert, v8::Local<v8::Value> packed,
                  std::vector<Value>& out);

/// What a rolling operator computes (from the job's graph).
struct JsRollingSpec {
  int reduce = -1;  ///< the reduce UDF, or -1 for an aggregate
  AggregateUdfs aggregate;
  /// The fused map/flatMap/filter chain after it, first to last.
  std::vector<int> post_udfs;
  std::vector<std::string> post_kinds;
  /// The input is key-group blocks (JsChainKeyByOperator with emit_blocks).
  bool input_blocks = false;
};

/// The state and the calls into JavaScript. Results go to `Results`: their values, their keys
/// (when the core was made with `js_keys`: the keys as the fused keyBy computed them) and, for
/// each, the index in the call's input batch of the element it came from.
class JsRollingCore {
 public:
  using Results = std::function<void(std::vector<Value>& values, std::vector<Value>& keys,
                                     const std::vector<std::int32_t>& origins)>;
  JsRollingCore(const detail::OperatorInit& init, std::shared_ptr<JsJob> job, JsRollingSpec spec,
                bool js_keys);

  void open() { state_.open(); }
  void close() { state_.close("rollingDrop"); }

  /// Adds keyed elements.
  void add(const Batch<KeyedValue>& batch, const Results& results);
  /// Adds elements as a keyBy in the same task parsed them (js_keyed_reader.hpp); their times
  /// are then blockTimes().
  void addParsed(const KeyedArrays& arrays, const Results& results);
  /// Runs the fused chain and keyBy over `batch`, then adds their outputs. False, with the
  /// state unchanged and nothing emitted, when a chain or key function threw.
  bool addChained(const Batch<Value>& batch, const std::vector<int>& udfs,
                  const std::vector<std::string>& kinds, int key_udf, const Results& results);

  void snapshot(StateWriter& w);
  void restore(const detail::OperatorRestore& r);

  /// During add() with key-group blocks: the timestamps of the elements in them, and after it
  /// how many there were.
  const std::vector<Timestamp>& blockTimes() const { return block_times_; }
  std::size_t lastCount() const { return last_count_; }

 private:
  // Runs body(js, convert) in this thread's isolate, the state made there on first use.
  template <class Body>
  void inIsolate(Body&& body);
  // Makes the state in this thread's isolate (and applies a pending restore).
  void makeState(ValueConverter& convert);
  // rollingAdd from element `from` on, with dead-letter handling: `record(i)` is element i.
  template <class Record>
  void addFrom(std::vector<v8::Local<v8::Value>> args, ValueConverter& convert,
               const Results& results, Record&& record);
  void collect(v8::Local<v8::Value> taken, ValueConverter& convert, const Results& results);
  // Adds elements whose times are in `arrays` (key-group blocks, or a keyBy's handoff).
  void addArrays(JsIsolate& js, ValueConverter& convert, const KeyedArrays& arrays,
                 const Results& results);

  JsCallSite& site() { return state_.site(); }

  JsStateSite state_;
  JsRollingSpec spec_;
  const bool js_keys_;
  std::vector<std::pair<Value, Value>> restored_;
  std::vector<Value> values_, keys_;
  std::vector<std::int32_t> origins_;
  std::string json_;  // the JSON array of a batch of blocks
  std::vector<Timestamp> block_times_;
  std::size_t last_count_ = 0;
};

/// appendResults for key-group blocks: timestamps from `times`, keys from `keys`.
template <class Out>
void appendBlockResults(const std::vector<Timestamp>& times, std::vector<Value>& values,
                        std::vector<Value>& keys, const std::vector<std::int32_t>& origins,
                        Batch<Out>& out) {
  for (std::size_t j = 0; j < values.size(); ++j) {
    const Timestamp t = times[static_cast<std::size_t>(origins[j])];
    if constexpr (std::is_same_v<Out, KeyedValue>)
      out.push_back(Element<KeyedValue>{KeyedValue{std::move(keys[j]), std::move(values[j])}, t});
    else
      out.push_back(Element<Value>{std::move(values[j]), t});
  }
}

/// Elements of `batch` as the outputs `values` (with `keys`, or the key of their input) with
/// the timestamps of the inputs `origins` name.
template <class In, class Out>
void appendResults(const Batch<In>& batch, std::vector<Value>& values, std::vector<Value>& keys,
                   const std::vector<std::int32_t>& origins, Batch<Out>& out) {
  for (std::size_t j = 0; j < values.size(); ++j) {
    const auto& source = batch[static_cast<std::size_t>(origins[j])];
    if constexpr (std::is_same_v<Out, KeyedValue>) {
      Value key;
      if constexpr (std::is_same_v<In, KeyedValue>)
        key = source.value.first;
      else
        key = std::move(keys[j]);
      out.push_back(
          Element<KeyedValue>{KeyedValue{std::move(key), std::move(values[j])}, source.timestamp});
    } else {
      out.push_back(Element<Value>{std::move(values[j]), source.timestamp});
    }
  }
}

/// A rolling reduce or aggregate after a keyBy (and the chain fused after it). Out is
/// KeyedValue when a reader needs the key (a keyed operator after it), else Value. With
/// `readers`, it enters itself there: a keyBy chained before it hands it parsed batches
/// (js_keyed_reader.hpp).
template <class Out>
class JsRollingOperator final : public detail::OneInputOperator<KeyedValue, Out>,
                                public JsKeyedReader {
 public:
  JsRollingOperator(const detail::OperatorInit& init, detail::Input<Out>* out,
                    std::shared_ptr<JsJob> job, JsRollingSpec spec,
                    std::shared_ptr<JsKeyedReaders> readers = nullptr)
      : detail::OneInputOperator<KeyedValue, Out>(init, out),
        blocks_(spec.input_blocks),
        core_(init, std::move(job), std::move(spec),
              /*js_keys=*/spec.input_blocks && std::is_same_v<Out, KeyedValue>),
        readers_(std::move(readers)) {
    if (readers_) readers_->add(this->input(), this);
  }
  ~JsRollingOperator() override {
    if (readers_) readers_->remove(this->input());
  }

  void addParsed(const KeyedArrays& arrays) override {
    core_.addParsed(arrays, [&](std::vector<Value>& values, std::vector<Value>& keys,
                                const std::vector<std::int32_t>& origins) {
      appendBlockResults(core_.blockTimes(), values, keys, origins, this->buffer_);
    });
    this->countIn(arrays.count);
    emitChunked(this->buffer_, this->init_.batch_size, [&](Batch<Out>& b) { this->emit(b); });
  }

  bool stateful() const override { return true; }
  bool threadBound() const override { return true; }
  void open() override { core_.open(); }
  void close() override { core_.close(); }
  void snapshot(StateWriter& w) override { core_.snapshot(w); }
  void restore(const detail::OperatorRestore& r) override { core_.restore(r); }

  void processBatch(Batch<KeyedValue>& batch) override {
    if (!blocks_) this->countIn(batch.size());
    if (batch.empty()) return;
    core_.add(batch, [&](std::vector<Value>& values, std::vector<Value>& keys,
                         const std::vector<std::int32_t>& origins) {
      if (blocks_)
        appendBlockResults(core_.blockTimes(), values, keys, origins, this->buffer_);
      else
        appendResults(batch, values, keys, origins, this->buffer_);
    });
    if (blocks_) this->countIn(core_.lastCount());
    emitChunked(this->buffer_, this->init_.batch_size, [&](Batch<Out>& b) { this->emit(b); });
    batch.clear();
  }

 private:
  const bool blocks_;  // the input is key-group blocks
  JsRollingCore core_;
  std::shared_ptr<JsKeyedReaders> readers_;
};

/// A chain of map/flatMap/filter, the keyBy after it and the rolling reduce or aggregate after
/// that (and the chain after it), in one operator: where the keyBy needs no exchange
/// (parallelism 1). A batch in which the chain or key function throws is redone step by step,
/// by a JsChainOperator and a JsKeyByOperator feeding the core, which find the failing element
/// (dead letters, positions) as the separate operators do.
template <class Out>
class JsChainRollingOperator final : public detail::OneInputOperator<Value, Out> {
 public:
  JsChainRollingOperator(const detail::OperatorInit& init, detail::Input<Out>* out,
                         std::shared_ptr<JsJob> job, std::vector<int> udfs,
                         std::vector<std::string> kinds, int key_udf, JsRollingSpec spec)
      : detail::OneInputOperator<Value, Out>(init, out),
        core_(init, job, std::move(spec), /*js_keys=*/std::is_same_v<Out, KeyedValue>),
        udfs_(udfs),
        kinds_(kinds),
        key_udf_(key_udf),
        keyed_input_(*this),
        step_keys_(stepInit(init), &keyed_input_, job, key_udf),
        step_chain_(stepInit(init), &step_keys_, job, std::move(udfs), std::move(kinds)) {}

  bool stateful() const override { return true; }
  bool threadBound() const override { return true; }
  void open() override {
    core_.open();
    step_chain_.open();
    step_keys_.open();
  }
  void close() override {
    step_keys_.close();
    step_chain_.close();
    core_.close();
  }
  void snapshot(StateWriter& w) override { core_.snapshot(w); }
  void restore(const detail::OperatorRestore& r) override { core_.restore(r); }

  void processBatch(Batch<Value>& batch) override {
    this->countIn(batch.size());
    if (batch.empty()) return;
    const bool done = core_.addChained(batch, udfs_, kinds_, key_udf_,
                                       [&](std::vector<Value>& values, std::vector<Value>& keys,
                                           const std::vector<std::int32_t>& origins) {
                                         appendResults(batch, values, keys, origins, this->buffer_);
                                       });
    if (!done) step_chain_.processBatch(batch);  // through step_keys_ into keyed_input_
    emitChunked(this->buffer_, this->init_.batch_size, [&](Batch<Out>& b) { this->emit(b); });
    batch.clear();
  }

 private:
  // The step-by-step path's end: keyed elements into the core.
  class KeyedInput final : public detail::Input<KeyedValue> {
   public:
    explicit KeyedInput(JsChainRollingOperator& op) : op_(op) {}
    void processBatch(Batch<KeyedValue>& batch) override {
      op_.core_.add(batch, [&](std::vector<Value>& values, std::vector<Value>&,
                               const std::vector<std::int32_t>& origins) {
        std::vector<Value> no_keys;
        appendResults(batch, values, no_keys, origins, op_.buffer_);
      });
      batch.clear();
    }
    void processWatermark(Timestamp) override {}
    void processIdle() override {}
    void processBarrier(std::uint64_t) override {}
    void endInput() override {}

   private:
    JsChainRollingOperator& op_;
  };

  detail::OperatorInit stepInit(const detail::OperatorInit& init) {
    detail::OperatorInit step = init;
    step.counters = &step_counters_;
    return step;
  }

  detail::OperatorCounters step_counters_;  // the step-by-step operators' own counts
  JsRollingCore core_;
  std::vector<int> udfs_;
  std::vector<std::string> kinds_;
  int key_udf_;
  KeyedInput keyed_input_;
  JsKeyByOperator<Value> step_keys_;
  JsChainOperator<Value> step_chain_;
};

}  // namespace lightflus::js
