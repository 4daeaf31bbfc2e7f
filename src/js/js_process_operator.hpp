// Keyed process functions of TypeScript jobs (`keyBy(...).process(fn)`): per-key value, list and
// map state, event-time and processing-time timers, side outputs and state TTL, all kept in the
// isolate of the task's thread (js_process_helpers.hpp). One call into JavaScript per batch
// processes every element; results cross back packed, with their timestamps and output ports.
//
// The same operator runs co-process functions (`a.connect(b).keyBy(ka, kb).process(f)`, and the
// joins the TypeScript API builds on them): its input is then the two-input gate of
// detail/two_input.hpp, each element tagged with its side by its input's keyBy exchange, so the
// gate merges both inputs' watermarks and aligns their barriers. Each run of elements of one
// side goes to JavaScript as one call (processElement1 or processElement2); both sides share
// the keys' state and timers.
//
// Event-time timers fire when the watermark passes them (before the watermark goes on) and
// all remaining ones at the end of a bounded input; processing-time timers fire by the wall
// clock while the job runs. Outputs of processElement carry the element's timestamp, outputs
// of onTimer the timer's time. Snapshots hold each key's state (Values), its timers and its
// last write time, restorable by key group at another parallelism.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "js_rolling_operator.hpp"
#include "js_state_site.hpp"
#include "lightflus/detail/two_input.hpp"

namespace lightflus::js {

/// The input of a co-process function: an element of the first (index 0) or the second keyed
/// input.
using CoProcessInput = detail::TwoInput<KeyedValue, KeyedValue>;

/// What a process operator runs (from the job's graph).
struct JsProcessSpec {
  int element = -1;               ///< processElement (a co-process function's processElement1)
  int element2 = -1;              ///< a co-process function's processElement2, or -1
  int timer = -1;                 ///< onTimer, or -1
  std::int64_t ttl = 0;           ///< state TTL in ms, 0: none
  std::vector<std::string> tags;  ///< side outputs read by the job: port i + 1 is tags[i]
  /// Per input (the second for co-process functions): the input is key-group blocks (see
  /// JsChainKeyByOperator).
  bool input_blocks[2] = {false, false};
};

/// In: KeyedValue for `keyBy(...).process(fn)`, CoProcessInput for a co-process function.
/// With `readers` (one input only), it enters itself there: a keyBy chained before it hands it
/// parsed batches (js_keyed_reader.hpp).
template <class In>
class JsProcessOperator final : public detail::OneInputOperator<In, Value>, public JsKeyedReader {
 public:
  JsProcessOperator(const detail::OperatorInit& init, detail::Input<Value>* out,
                    std::vector<detail::Input<Value>*> sides, std::shared_ptr<JsJob> job,
                    JsProcessSpec spec, std::shared_ptr<JsKeyedReaders> readers = nullptr);
  ~JsProcessOperator() override;

  bool stateful() const override { return true; }
  bool threadBound() const override { return true; }
  void open() override;
  void close() override;
  void processBatch(Batch<In>& batch) override;
  void addParsed(const KeyedArrays& arrays) override;
  void processWatermark(Timestamp w) override;
  void processIdle() override;
  void processBarrier(std::uint64_t id) override;
  void endInput() override;
  void snapshot(StateWriter& w) override;
  void restore(const detail::OperatorRestore& r) override;

 private:
  struct RestoredKey {
    Value key, state;
    std::vector<std::int64_t> event_times, processing_times;
    std::int64_t written = 0;
  };

  // Processes elements of input `side` (0 or 1).
  void addSide(Batch<KeyedValue>& batch, int side);
  // Runs body(js, convert) in this thread's isolate, the state made there on first use.
  template <class Body>
  void inIsolate(Body&& body);
  // Makes the state in this thread's isolate (and applies a pending restore).
  void makeState(ValueConverter& convert);
  // processAdd over `arrays`, with dead-letter handling: `record(i)` is element i.
  template <class Record>
  void add(JsIsolate& js, ValueConverter& convert, const KeyedArrays& arrays, int side,
           Record&& record);
  // Routes a helper's results to the outputs' buffers, registers new processing-time timers.
  void collect(v8::Local<v8::Value> taken, ValueConverter& convert);
  void fire(Timestamp up_to, bool processing);
  void flush();
  JsCallSite& site() { return state_.site(); }

  JsStateSite state_;
  JsProcessSpec spec_;
  std::shared_ptr<JsKeyedReaders> readers_;
  std::vector<detail::Input<Value>*> sides_;
  std::vector<Batch<Value>> side_buffers_;
  std::vector<RestoredKey> restored_;
  Batch<KeyedValue> run_;  // a co-process function's elements of one side, in a row
  std::vector<Value> values_;
  std::vector<double> times_;
  std::vector<std::uint8_t> ports_;
  std::string json_;
};

}  // namespace lightflus::js
