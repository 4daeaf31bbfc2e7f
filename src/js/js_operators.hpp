// The operators that run a JavaScript job's functions on the engine.
//
// JsGraphBuilder turns the job's graph into engine operators over Values: a stream is a
// DataStream<Value>, or, after keyBy, a DataStream<KeyedValue> (the key the job's key function
// returned, carried with the element through the engine's hash exchange and through keyed
// map/flatMap/filter). Each operator calls into the JsWorker of its thread once per batch:
//
// - JsChainOperator: a fused chain of map/flatMap/filter (lightflus.__compileChain), one call
//   per batch, array in, array out; outputs keep the timestamp (and key) of their input;
// - JsKeyByOperator: the keys of a batch in one call;
// - JsTimestampOperator: event times of a batch in one call, then the engine's timestamp
//   assigner (watermarks);
// - JsRollingOperator / JsChainRollingOperator (js_rolling_operator.hpp): rolling reduce and
//   aggregate with state per key in V8, the chains around them in the same call;
// - JsWindowFunction: the aggregate function the engine's WindowOperator folds windows with;
//   it buffers elements and folds them in JavaScript a few hundred at a time and when the
//   window fires.
//
// A UDF that throws fails the job with the operator's name, the message and the position in
// the job's file, or, with ErrorPolicy::kDeadLetter, sends the element to the dead-letter
// output and goes on. Exceeding the time or heap limit always fails the job.
#pragma once

#include <v8-array-buffer.h>
#include <v8-typed-array.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "js_blocks.hpp"
#include "js_job.hpp"
#include "js_keyed_reader.hpp"
#include "js_nexmark.hpp"
#include "js_value.hpp"
#include "lightflus/datastream.hpp"
#include "lightflus/state.hpp"
#include "lightflus/value.hpp"

namespace lightflus::js {

/// An element of a keyed stream: (key, value).
using KeyedValue = std::pair<Value, Value>;

/// The key selector of keyed streams.
struct KeyOfPair {
  const Value& operator()(const KeyedValue& element) const { return element.first; }
};

inline const Value& valueOf(const Value& v) {
  return v;
}
inline const Value& valueOf(const KeyedValue& element) {
  return element.second;
}
inline Value& valueOf(Value& v) {
  return v;
}
inline Value& valueOf(KeyedValue& element) {
  return element.second;
}

/// One operator subtask's access to the job: its thread's worker, the label of its calls and
/// the handling of failed calls.
class JsCallSite {
 public:
  JsCallSite(std::shared_ptr<JsJob> job, std::string operator_name);
  ~JsCallSite();
  JsCallSite(const JsCallSite&) = delete;
  JsCallSite& operator=(const JsCallSite&) = delete;

  /// Takes the worker of the calling thread.
  void open() { current(); }
  /// Lets go of the worker.
  void close() noexcept { worker_.reset(); }

  /// The worker of the calling thread, taken anew when the operator moved to another thread
  /// (the engine's worker pool runs a task's steps on any of its threads): call it at the
  /// start of every batch. Each isolate is then used by one thread, and operators on different
  /// threads never wait for each other's isolate.
  JsWorker& current() {
    if (!worker_ || thread_ != std::this_thread::get_id()) {
      worker_ = job_->worker();
      thread_ = std::this_thread::get_id();
    }
    return *worker_;
  }
  JsWorker& worker() { return *worker_; }
  JsIsolate& js() { return worker_->js(); }
  JsJob& job() { return *job_; }
  /// The label of this operator's calls: "operator 'split'".
  const std::string& label() const noexcept { return label_; }
  const std::string& operatorName() const noexcept { return operator_name_; }

  /// After a call into the job failed with `error` (inside the Scope of that call): the index,
  /// in the call's input, of the element whose UDF threw, when the job sends such records to
  /// the dead-letter output. Otherwise throws OperatorFailure naming the operator whose UDF
  /// failed: `operator 'split': Error: boom (at wordCount.ts:5:11)`.
  std::size_t failedElement(const UserCodeError& error);
  /// Sends `record` to the dead-letter output, with the error failedElement() accepted.
  void deadLetter(const Value& record);
  /// `lightflus.__chainPosition[name]`.
  v8::Local<v8::Value> position(std::string_view name);
  /// A number of __chainPosition as an index.
  std::size_t positionIndex(std::string_view name);

 private:
  std::shared_ptr<JsJob> job_;
  std::string operator_name_;
  std::string label_;
  std::shared_ptr<JsWorker> worker_;
  std::thread::id thread_;  // where worker_ was taken
  std::string last_error_;
  std::string last_operator_;
};

/// Reads the `n` numbers of a typed array.
template <class T, class Array>
void copyTypedArray(v8::Local<Array> array, std::vector<T>& out, std::size_t n) {
  out.resize(n);
  if (n > 0) array->CopyContents(out.data(), n * sizeof(T));
}

/// A JS Int32Array holding `values`.
v8::Local<v8::Int32Array> toInt32Array(v8::Isolate* isolate,
                                       const std::vector<std::int32_t>& values);

/// What a dead letter shows of an element's value: the value of its JSON text when the operator
/// reads JSON texts (JsonTextLinesSource's lines, js_json_lines.hpp), else the value itself.
inline Value recordOf(const Value& value, bool json_texts) {
  return json_texts ? Value::parseJson(value.asString()) : value;
}

/// Emits `buffer` downstream in batches of at most `batch_size`.
template <class T, class Emit>
void emitChunked(Batch<T>& buffer, std::size_t batch_size, Emit&& emit) {
  if (buffer.size() <= batch_size) {
    emit(buffer);
    return;
  }
  Batch<T> chunk;
  chunk.reserve(batch_size);
  for (auto& e : buffer) {
    chunk.push_back(std::move(e));
    if (chunk.size() == batch_size) emit(chunk);
  }
  emit(chunk);
  buffer.clear();
}

/// A fused chain of map/flatMap/filter UDFs over T = Value or KeyedValue (the key stays).
template <class T>
class JsChainOperator final : public detail::OneInputOperator<T, T> {
 public:
  /// `json_texts`: the input's Values are JSON texts to parse (js_json_lines.hpp). With
  /// `nexmark`, the input elements are Nexmark event ids (js_nexmark.hpp), and the UDFs see the
  /// events.
  JsChainOperator(const detail::OperatorInit& init, detail::Input<T>* out,
                  std::shared_ptr<JsJob> job, std::vector<int> udfs, std::vector<std::string> kinds,
                  bool json_texts = false,
                  std::shared_ptr<const nexmark::Generator> nexmark = nullptr)
      : detail::OneInputOperator<T, T>(init, out),
        site_(std::move(job), init.operator_name),
        udfs_(std::move(udfs)),
        kinds_(std::move(kinds)),
        json_texts_(json_texts) {
    if (nexmark) nexmark_.emplace(std::move(nexmark));
  }

  void open() override { site_.open(); }
  void close() override { site_.close(); }

  void processBatch(Batch<T>& batch) override {
    this->countIn(batch.size());
    if (batch.empty()) return;
    detail::guarded(this->name(), [&] { run(batch); });
    emitChunked(this->buffer_, this->init_.batch_size, [&](Batch<T>& b) { this->emit(b); });
    batch.clear();
  }

 private:
  void run(Batch<T>& batch) {
    JsIsolate& js = site_.current().js();
    JsIsolate::Scope scope(js);
    v8::Isolate* isolate = js.isolate();
    v8::Local<v8::Context> context = js.context();
    v8::TryCatch try_catch(isolate);
    ValueConverter convert(isolate, context);
    v8::Local<v8::Function> chain = site_.worker().chain(udfs_, kinds_);
    // Outputs need their input's index for its key, or for its timestamp when the batch's
    // timestamps differ.
    bool origins_needed = std::is_same_v<T, KeyedValue>;
    for (const auto& e : batch)
      origins_needed = origins_needed || e.timestamp != batch[0].timestamp;
    std::size_t from = 0;
    while (from < batch.size()) {
      v8::HandleScope handles(isolate);
      auto project = [](const Element<T>& e) -> const Value& { return valueOf(e.value); };
      v8::Local<v8::Array> input;
      if constexpr (std::is_same_v<T, Value>) {
        if (nexmark_) input = nexmark_->toJsArray(site_.worker(), convert, batch, from);
      }
      if (input.IsEmpty()) input = convert.inputArray(batch, from, project, json_texts_);
      v8::Local<v8::Array> origins = v8::Array::New(isolate);
      v8::Local<v8::Value> args[] = {input, origins};
      v8::Local<v8::Array> output;
      std::size_t count = 0;
      std::size_t failed = batch.size();
      try {
        output = js.call(site_.label(), chain, v8::Undefined(isolate),
                         std::span(args, origins_needed ? 2 : 1))
                     .template As<v8::Array>();
        count = output->Length();
      } catch (const UserCodeError& error) {
        failed = from + site_.failedElement(error);
        output = site_.position("output").template As<v8::Array>();
        count = site_.positionIndex("outputLength");
      }
      values_.clear();
      convert.fromJsArray(output, count, values_);
      for (std::size_t j = 0; j < count; ++j) {
        Value& value = values_[j];
        std::size_t origin = from;
        if (origins_needed)
          origin += static_cast<std::size_t>(origins->Get(context, static_cast<std::uint32_t>(j))
                                                 .ToLocalChecked()
                                                 .template As<v8::Number>()
                                                 ->Value());
        const Element<T>& source = batch[origin];
        if constexpr (std::is_same_v<T, KeyedValue>)
          this->buffer_.push_back(
              Element<T>{KeyedValue{source.value.first, std::move(value)}, source.timestamp});
        else
          this->buffer_.push_back(Element<T>{std::move(value), source.timestamp});
      }
      if (failed == batch.size()) break;
      site_.deadLetter(nexmark_ ? nexmark_->event(valueOf(batch[failed].value))
                                : recordOf(valueOf(batch[failed].value), json_texts_));
      from = failed + 1;
    }
  }

  JsCallSite site_;
  std::vector<int> udfs_;
  std::vector<std::string> kinds_;
  bool json_texts_;
  std::optional<NexmarkCrossing> nexmark_;  // the input is Nexmark event ids
  std::vector<Value> values_;               // outputs of the current call
};

/// keyBy: In (Value, or KeyedValue when re-keying) -> KeyedValue, keys computed per batch.
///
/// Over JSON texts (`json_texts`, a plain stream of JsonTextLinesSource's lines, possibly
/// through assignTimestamps) the batch is parsed with one JSON.parse; with `emit_blocks` the
/// elements then leave as key-group blocks (js_blocks.hpp) holding each line's text as it is, so
/// they never become Values; without, each value is parsed into a Value here.
///
/// Over JSON texts an assignTimestamps before the keyBy (in the same task) fuses into it
/// (`timestamps`): one call computes each element's time and key from the same parsed object,
/// and the operator emits the watermarks the engine's TimestampAssigner would.
///
/// With blocks and a `direct` reader (js_keyed_reader.hpp: the keyed operator chained after it,
/// at parallelism 1), the parsed elements go to the reader as they are instead of as blocks:
/// each line is parsed once. The reader gets them after the keyBy's own dead letters of the
/// batch, as it would get the blocks.
template <class In>
class JsKeyByOperator final : public detail::OneInputOperator<In, KeyedValue> {
 public:
  /// The assignTimestamps fused into a keyBy: its function and watermark strategy.
  struct Timestamps {
    int udf = -1;
    WatermarkStrategy strategy;
  };

  JsKeyByOperator(const detail::OperatorInit& init, detail::Input<KeyedValue>* out,
                  std::shared_ptr<JsJob> job, int udf, bool json_texts = false,
                  bool emit_blocks = false, std::optional<Timestamps> timestamps = std::nullopt,
                  JsKeyedReader* direct = nullptr)
      : detail::OneInputOperator<In, KeyedValue>(init, out),
        site_(std::move(job), init.operator_name),
        udf_(udf),
        json_texts_(json_texts),
        emit_blocks_(json_texts && emit_blocks),
        direct_(json_texts && emit_blocks ? direct : nullptr),
        timestamps_(json_texts ? timestamps : std::nullopt),
        blocks_(init.max_parallelism) {}

  void open() override {
    site_.open();
    if (timestamps_ && timestamps_->strategy.idleness.count() > 0) scheduleIdleCheck();
  }
  void close() override { site_.close(); }

  void processBatch(Batch<In>& batch) override {
    this->countIn(batch.size());
    if (batch.empty()) return;
    detail::guarded(this->name(), [&] { run(batch); });
    if (emit_blocks_ && !direct_) blocks_.take(this->buffer_);
    this->emit(this->buffer_);
    batch.clear();
    if (!timestamps_) return;
    // As detail::TimestampAssigner: the largest time so far, less the allowed out-of-orderness.
    last_element_ = processingTimeNow();
    idle_ = false;
    if (max_timestamp_ == kMinTimestamp) return;
    Timestamp w = max_timestamp_ - timestamps_->strategy.max_out_of_orderness.count() - 1;
    if (w > emitted_) {
      emitted_ = w;
      this->out_->processWatermark(w);
    }
  }
  // With assignTimestamps fused in, its watermarks replace the input's (but the end of input).
  void processWatermark(Timestamp w) override {
    if (!timestamps_ || w == kMaxTimestamp) this->out_->processWatermark(w);
  }
  void processIdle() override {
    if (!timestamps_) this->out_->processIdle();
  }

 private:
  void scheduleIdleCheck() {
    const Duration idleness = timestamps_->strategy.idleness;
    auto every = std::max<Timestamp>(1, idleness.count() / 2);
    this->init_.services->registerProcessingTimer(
        processingTimeNow() + every, [this, idleness](Timestamp now) {
          if (!idle_ && now - last_element_ >= idleness.count()) {
            idle_ = true;
            this->out_->processIdle();
          }
          scheduleIdleCheck();
        });
  }

  void run(Batch<In>& batch) {
    if constexpr (std::is_same_v<In, Value>) {
      if (timestamps_) return runTimed(batch);
    }
    runKeys(batch);
  }

  // assignTimestamps and keyBy in one call per batch (host helper timedKeys). Elements whose
  // function threw go to the dead letters; one whose key function threw still counts for the
  // watermark (it had its time, as with the two operators apart).
  void runTimed(Batch<In>& batch) {
    JsIsolate& js = site_.current().js();
    JsIsolate::Scope scope(js);
    v8::Isolate* isolate = js.isolate();
    v8::Local<v8::Context> context = js.context();
    v8::TryCatch try_catch(isolate);
    ValueConverter convert(isolate, context);
    v8::Local<v8::Function> timed_keys = site_.worker().helper("timedKeys");
    auto project = [](const Element<In>& e) -> const Value& { return valueOf(e.value); };
    v8::HandleScope outer(isolate);  // holds the parts for a direct reader
    direct_parts_.clear();
    std::size_t from = 0;
    while (from < batch.size()) {
      std::optional<v8::HandleScope> handles;
      if (!direct_) handles.emplace(isolate);
      std::size_t count = batch.size() - from;
      v8::Local<v8::Uint8Array> same =
          v8::Uint8Array::New(v8::ArrayBuffer::New(isolate, count), 0, count);
      v8::Local<v8::Array> values = convert.parseJsonTexts(batch, from, project);
      v8::Local<v8::Value> args[] = {v8::Number::New(isolate, timestamps_->udf),
                                     v8::Number::New(isolate, udf_), values, same,
                                     v8::Boolean::New(isolate, emit_blocks_ && !direct_)};
      v8::Local<v8::Value> times, keys;
      std::size_t failed = batch.size();
      std::size_t timed = count;  // elements with a time
      try {
        v8::Local<v8::Array> parts =
            js.call(site_.label(), timed_keys, v8::Undefined(isolate), args)
                .template As<v8::Array>();
        times = parts->Get(context, 0).ToLocalChecked();
        keys = parts->Get(context, 1).ToLocalChecked();
      } catch (const UserCodeError& error) {
        failed = from + site_.failedElement(error);
        count = failed - from;
        v8::Local<v8::Value> udf = site_.position("udf");
        timed = count + (udf->IsNumber() && udf.As<v8::Number>()->Value() == udf_ ? 1 : 0);
        times = site_.position("output");
        keys = site_.position("keys");
      }
      copyTypedArray(times.template As<v8::Float64Array>(), times_, timed);
      for (std::size_t j = 0; j < timed; ++j) {
        const auto t = static_cast<Timestamp>(times_[j]);
        if (j < count) batch[from + j].timestamp = t;
        if (t > max_timestamp_) max_timestamp_ = t;
      }
      if (direct_)
        addDirect(js, batch, from, count, keys, same, values);
      else if (emit_blocks_)
        addBlocks(convert, batch, from, count, keys);
      else
        addElements(convert, batch, from, count, keys.template As<v8::Array>(), same);
      if (failed == batch.size()) break;
      site_.deadLetter(recordOf(valueOf(batch[failed].value), json_texts_));
      from = failed + 1;
    }
    handDirect();
  }

  void runKeys(Batch<In>& batch) {
    JsIsolate& js = site_.current().js();
    JsIsolate::Scope scope(js);
    v8::Isolate* isolate = js.isolate();
    v8::Local<v8::Context> context = js.context();
    v8::TryCatch try_catch(isolate);
    ValueConverter convert(isolate, context);
    v8::Local<v8::Function> keys_of =
        site_.worker().helper(emit_blocks_ && !direct_ ? "keyTexts" : "keys");
    auto project = [](const Element<In>& e) -> const Value& { return valueOf(e.value); };
    v8::HandleScope outer(isolate);  // holds the parts for a direct reader
    direct_parts_.clear();
    std::size_t from = 0;
    while (from < batch.size()) {
      std::optional<v8::HandleScope> handles;
      if (!direct_) handles.emplace(isolate);
      std::size_t count = batch.size() - from;
      v8::Local<v8::Uint8Array> same =
          v8::Uint8Array::New(v8::ArrayBuffer::New(isolate, count), 0, count);
      v8::Local<v8::Array> values = convert.inputArray(batch, from, project, json_texts_);
      v8::Local<v8::Value> args[] = {v8::Number::New(isolate, udf_), values, same};
      v8::Local<v8::Value> keys;
      std::size_t failed = batch.size();
      try {
        keys = js.call(site_.label(), keys_of, v8::Undefined(isolate), args);
      } catch (const UserCodeError& error) {
        failed = from + site_.failedElement(error);
        keys = site_.position("output");
        count = failed - from;
      }
      if (direct_)
        addDirect(js, batch, from, count, keys, same, values);
      else if (emit_blocks_)
        addBlocks(convert, batch, from, count, keys);
      else
        addElements(convert, batch, from, count, keys.template As<v8::Array>(), same);
      if (failed == batch.size()) break;
      site_.deadLetter(recordOf(valueOf(batch[failed].value), json_texts_));
      from = failed + 1;
    }
    handDirect();
  }

  // For the direct reader: elements [from, from + count) of `batch`, parsed in `values`, with
  // their keys (as keys() gives them, with `same`) as the blocks would carry them (helper
  // plainKeys) and their timestamps. Handed over by handDirect() once the batch is done.
  void addDirect(JsIsolate& js, const Batch<In>& batch, std::size_t from, std::size_t count,
                 v8::Local<v8::Value> keys, v8::Local<v8::Uint8Array> same,
                 v8::Local<v8::Array> values) {
    if (count == 0) return;
    v8::Isolate* isolate = js.isolate();
    v8::Local<v8::Context> context = js.context();
    v8::Local<v8::Value> args[] = {keys, same, values,
                                   v8::Number::New(isolate, static_cast<double>(count))};
    v8::Local<v8::Array> parts =
        js.call(site_.label(), site_.worker().helper("plainKeys"), v8::Undefined(isolate), args)
            .template As<v8::Array>();
    KeyedArrays arrays;
    arrays.keys = parts->Get(context, 0).ToLocalChecked().template As<v8::Array>();
    arrays.values = parts->Get(context, 1).ToLocalChecked().template As<v8::Array>();
    arrays.same = v8::Uint8Array::New(v8::ArrayBuffer::New(isolate, count), 0, count);
    arrays.times =
        v8::Float64Array::New(v8::ArrayBuffer::New(isolate, count * sizeof(double)), 0, count);
    auto* times = static_cast<double*>(arrays.times->Buffer()->GetBackingStore()->Data());
    for (std::size_t j = 0; j < count; ++j) times[j] = jsElementTime(batch[from + j].timestamp);
    arrays.count = count;
    direct_parts_.push_back(arrays);
  }

  void handDirect() {
    if (!direct_) return;
    std::size_t handed = 0;
    for (const KeyedArrays& arrays : direct_parts_) {
      direct_->addParsed(arrays);
      handed += arrays.count;
    }
    direct_parts_.clear();
    this->init_.counters->records_out.fetch_add(handed, std::memory_order_relaxed);
  }

  void addElements(ValueConverter& convert, Batch<In>& batch, std::size_t from, std::size_t count,
                   v8::Local<v8::Array> keys, v8::Local<v8::Uint8Array> same) {
    keys_.clear();
    convert.fromJsArray(keys, count, keys_);
    copyTypedArray(same, same_, count);
    for (std::size_t j = 0; j < count; ++j) {
      Element<In>& e = batch[from + j];
      Value value =
          json_texts_ ? Value::parseJson(valueOf(e.value).asString()) : std::move(valueOf(e.value));
      Value key = same_[j] ? value : std::move(keys_[j]);
      this->buffer_.push_back(
          Element<KeyedValue>{KeyedValue{std::move(key), std::move(value)}, e.timestamp});
    }
  }

  // `keys`: the JSON text of the array of keys (host helper keyTexts), or, after a UDF threw,
  // the array of the keys before it.
  void addBlocks(ValueConverter& convert, Batch<In>& batch, std::size_t from, std::size_t count,
                 v8::Local<v8::Value> keys) {
    if (keys->IsArray()) {
      keys_.clear();
      convert.fromJsArray(keys.As<v8::Array>(), count, keys_);
      key_texts_ = "[";
      for (std::size_t j = 0; j < count; ++j) {
        if (j > 0) key_texts_ += ',';
        keys_[j].appendJson(key_texts_);
      }
      key_texts_ += ']';
    } else {
      key_texts_.assign(convert.text(keys.As<v8::String>()));
    }
    key_spans_.clear();
    if (!splitJsonArray(key_texts_, key_spans_) || key_spans_.size() < count)
      throw Error("internal error: a keyBy's keys do not split into " + std::to_string(count) +
                  " JSON texts");
    const std::string_view texts(key_texts_);
    for (std::size_t j = 0; j < count; ++j) {
      const auto [begin, end] = key_spans_[j];
      const Element<In>& e = batch[from + j];
      blocks_.add(texts.substr(begin, end - begin), valueOf(e.value).asString(), e.timestamp);
    }
  }

  JsCallSite site_;
  int udf_;
  bool json_texts_;
  bool emit_blocks_;
  JsKeyedReader* direct_;                  // the reader parsed batches go to, or null
  std::vector<KeyedArrays> direct_parts_;  // for it, of the current batch
  std::optional<Timestamps> timestamps_;
  std::vector<double> times_;  // of the current call
  Timestamp max_timestamp_ = kMinTimestamp;
  Timestamp emitted_ = kMinTimestamp;
  Timestamp last_element_ = processingTimeNow();
  bool idle_ = false;
  KeyGroupBlocks blocks_;
  std::string key_texts_;
  std::vector<std::pair<std::size_t, std::size_t>> key_spans_;
  std::vector<Value> keys_;         // keys of the current call
  std::vector<std::uint8_t> same_;  // 1: the key is the element itself
};

/// A chain of map/flatMap/filter and the keyBy after it, in one call into JavaScript per batch
/// (the host helper chainKeys): the outputs come back with their keys, and a key that is its
/// element (keyBy(w => w)) is not converted. This spares the keyBy's second crossing of every
/// element. A batch in which a UDF throws is redone step by step, by a JsChainOperator and a
/// JsKeyByOperator inside this one, which find the failing element (dead letters, positions);
/// the chain's UDFs then run twice for the elements before it.
///
/// With `emit_blocks`, it emits key-group blocks (js_blocks.hpp) instead of elements: for
/// readers across the exchange that are JavaScript operators told so (`input_blocks`), which
/// parse a batch of blocks with one JSON.parse. Elements then cross without becoming Values.
/// With a `direct` reader too (js_keyed_reader.hpp: the keyed operator chained after it), the
/// chain's outputs go to it as they are; a batch redone step by step still goes as blocks.
class JsChainKeyByOperator final : public detail::OneInputOperator<Value, KeyedValue> {
 public:
  JsChainKeyByOperator(const detail::OperatorInit& init, detail::Input<KeyedValue>* out,
                       std::shared_ptr<JsJob> job, std::vector<int> udfs,
                       std::vector<std::string> kinds, int key_udf, bool emit_blocks = false,
                       bool json_texts = false,
                       std::shared_ptr<const nexmark::Generator> nexmark = nullptr,
                       JsKeyedReader* direct = nullptr)
      : detail::OneInputOperator<Value, KeyedValue>(init, out),
        site_(job, init.operator_name),
        udfs_(udfs),
        kinds_(kinds),
        key_udf_(key_udf),
        emit_blocks_(emit_blocks),
        direct_(emit_blocks ? direct : nullptr),
        json_texts_(json_texts),
        blocks_(init.max_parallelism),
        blocks_out_(out, init.max_parallelism),
        step_keys_(stepInit(init), emit_blocks ? &blocks_out_ : out, job, key_udf),
        step_chain_(stepInit(init), &step_keys_, job, std::move(udfs), std::move(kinds), json_texts,
                    nexmark) {
    if (nexmark) nexmark_.emplace(std::move(nexmark));
  }

  void open() override {
    site_.open();
    step_chain_.open();
    step_keys_.open();
  }
  void close() override {
    step_keys_.close();
    step_chain_.close();
    site_.close();
  }

  void processBatch(Batch<Value>& batch) override {
    this->countIn(batch.size());
    if (batch.empty()) return;
    bool done = false;
    detail::guarded(this->name(), [&] { done = fused(batch); });
    if (done) {
      emitChunked(this->buffer_, this->init_.batch_size,
                  [&](Batch<KeyedValue>& b) { this->emit(b); });
      batch.clear();
      return;
    }
    this->buffer_.clear();
    const std::uint64_t before = step_counters_.records_out.load(std::memory_order_relaxed);
    step_chain_.processBatch(batch);  // through step_keys_ to the output
    this->init_.counters->records_out.fetch_add(
        step_counters_.records_out.load(std::memory_order_relaxed) - before,
        std::memory_order_relaxed);
  }

 private:
  detail::OperatorInit stepInit(const detail::OperatorInit& init) {
    detail::OperatorInit step = init;
    step.counters = &step_counters_;
    return step;
  }

  // The step-by-step path's end with emit_blocks: the elements as key-group blocks.
  class BlocksOutput final : public detail::Input<KeyedValue> {
   public:
    BlocksOutput(detail::Input<KeyedValue>* out, int max_parallelism)
        : out_(out), blocks_(max_parallelism) {}
    void processBatch(Batch<KeyedValue>& batch) override {
      for (auto& e : batch)
        blocks_.add(e.value.first.toJson(), e.value.second.toJson(), e.timestamp);
      batch.clear();
      blocks_.take(batch);
      out_->processBatch(batch);
    }
    void processWatermark(Timestamp w) override { out_->processWatermark(w); }
    void processIdle() override { out_->processIdle(); }
    void processBarrier(std::uint64_t id) override { out_->processBarrier(id); }
    void endInput() override { out_->endInput(); }

   private:
    detail::Input<KeyedValue>* out_;
    KeyGroupBlocks blocks_;
  };

  // The fast path; false when a UDF threw (nothing was emitted).
  bool fused(Batch<Value>& batch) {
    JsIsolate& js = site_.current().js();
    JsIsolate::Scope scope(js);
    v8::Isolate* isolate = js.isolate();
    v8::Local<v8::Context> context = js.context();
    v8::TryCatch try_catch(isolate);
    v8::HandleScope handles(isolate);
    ValueConverter convert(isolate, context);
    bool origins_needed = false;
    for (const auto& e : batch)
      origins_needed = origins_needed || e.timestamp != batch[0].timestamp;
    auto project = [](const Element<Value>& e) -> const Value& { return e.value; };
    // chainKeys' `json`: 2 for the direct reader, 1 for blocks, 0 for elements.
    const int json = direct_ ? 2 : (emit_blocks_ ? 1 : 0);
    v8::Local<v8::Value> args[] = {
        site_.worker().chain(udfs_, kinds_), v8::Number::New(isolate, key_udf_),
        nexmark_ ? nexmark_->toJsArray(site_.worker(), convert, batch, 0)
                 : convert.inputArray(batch, 0, project, json_texts_),
        v8::Boolean::New(isolate, origins_needed), v8::Number::New(isolate, json)};
    v8::Local<v8::Array> parts;
    try {
      parts =
          js.call(site_.label(), site_.worker().helper("chainKeys"), v8::Undefined(isolate), args)
              .As<v8::Array>();
    } catch (const UserCodeError&) {
      return false;
    }
    auto part = [&](std::uint32_t i) { return parts->Get(context, i).ToLocalChecked(); };
    v8::Local<v8::Array> outputs = part(0).As<v8::Array>();
    const std::size_t count = outputs->Length();
    // The index in `batch` of each output's input (for its timestamp), copied out at once.
    if (origins_needed) {
      v8::Local<v8::Int32Array> origins = part(7).As<v8::Int32Array>();
      copyTypedArray(origins, origins_, origins->Length());
      if (origins_.size() != count)
        throw Error("internal error: a keyBy returned " + std::to_string(count) + " outputs and " +
                    std::to_string(origins_.size()) + " origins");
    } else {
      origins_.assign(count, 0);  // every input has the batch's one timestamp
    }
    if (direct_) {
      handDirect(js, batch, outputs, part(1), part(2).As<v8::Uint8Array>());
      return true;
    }
    if (emit_blocks_) {
      if (!part(3)->IsString() || !part(5)->IsString())
        throw Error("internal error: a keyBy did not return its outputs and keys as JSON");
      texts_.assign(convert.text(part(3).As<v8::String>()));
      key_texts_.assign(convert.text(part(5).As<v8::String>()));
      if (!splitJsonArray(texts_, spans_) || !splitJsonArray(key_texts_, key_spans_) ||
          spans_.size() != count || key_spans_.size() != count)
        throw Error("internal error: a keyBy's outputs and keys do not split into " +
                    std::to_string(count) + " JSON texts");
      const std::string_view texts(texts_), keys(key_texts_);
      for (std::size_t j = 0; j < count; ++j) {
        const auto [key_begin, key_end] = key_spans_[j];
        const auto [begin, end] = spans_[j];
        blocks_.add(keys.substr(key_begin, key_end - key_begin), texts.substr(begin, end - begin),
                    batch[static_cast<std::size_t>(origins_[j])].timestamp);
      }
      blocks_.take(this->buffer_);
      return true;
    }
    values_.clear();
    if (!part(3)->IsString() || !convert.fromPackedStrings(part(3).As<v8::String>(),
                                                           part(4).As<v8::Int32Array>(), values_)) {
      values_.clear();
      convert.fromJsArray(outputs, count, values_);
    }
    v8::Local<v8::Array> keys = part(1).As<v8::Array>();
    keys_.clear();
    if (!part(5)->IsString() ||
        !convert.fromPackedStrings(part(5).As<v8::String>(), part(6).As<v8::Int32Array>(), keys_)) {
      keys_.clear();
      convert.fromJsArray(keys, keys->Length(), keys_);
    }
    copyTypedArray(part(2).As<v8::Uint8Array>(), same_, count);
    std::size_t next_key = 0;
    for (std::size_t j = 0; j < count; ++j) {
      Value key = same_[j] ? values_[j] : std::move(keys_.at(next_key++));
      this->buffer_.push_back(
          Element<KeyedValue>{KeyedValue{std::move(key), std::move(values_[j])},
                              batch[static_cast<std::size_t>(origins_[j])].timestamp});
    }
    return true;
  }

  // The chain's outputs, their keys (every one, `same` all 0) and timestamps to the direct
  // reader; counted as this operator's records out.
  void handDirect(JsIsolate& js, const Batch<Value>& batch, v8::Local<v8::Array> outputs,
                  v8::Local<v8::Value> keys, v8::Local<v8::Uint8Array> same) {
    const std::size_t count = outputs->Length();
    if (count == 0) return;
    v8::Isolate* isolate = js.isolate();
    v8::Local<v8::Context> context = js.context();
    v8::Local<v8::Value> args[] = {keys, same, outputs,
                                   v8::Number::New(isolate, static_cast<double>(count))};
    v8::Local<v8::Array> parts =
        js.call(site_.label(), site_.worker().helper("plainKeys"), v8::Undefined(isolate), args)
            .As<v8::Array>();
    KeyedArrays arrays;
    arrays.keys = parts->Get(context, 0).ToLocalChecked().As<v8::Array>();
    arrays.values = parts->Get(context, 1).ToLocalChecked().As<v8::Array>();
    arrays.same = same;
    arrays.times =
        v8::Float64Array::New(v8::ArrayBuffer::New(isolate, count * sizeof(double)), 0, count);
    auto* times = static_cast<double*>(arrays.times->Buffer()->GetBackingStore()->Data());
    for (std::size_t j = 0; j < count; ++j)
      times[j] = jsElementTime(batch[static_cast<std::size_t>(origins_[j])].timestamp);
    arrays.count = count;
    direct_->addParsed(arrays);
    this->init_.counters->records_out.fetch_add(count, std::memory_order_relaxed);
  }

  detail::OperatorCounters step_counters_;  // the step-by-step operators' own counts
  JsCallSite site_;
  std::vector<int> udfs_;
  std::vector<std::string> kinds_;
  int key_udf_;
  bool emit_blocks_;
  JsKeyedReader* direct_;  // the reader outputs go to, or null
  bool json_texts_;
  KeyGroupBlocks blocks_;
  std::string texts_, key_texts_;
  std::vector<std::pair<std::size_t, std::size_t>> spans_, key_spans_;
  BlocksOutput blocks_out_;
  JsKeyByOperator<Value> step_keys_;
  JsChainOperator<Value> step_chain_;
  std::optional<NexmarkCrossing> nexmark_;  // the input is Nexmark event ids
  std::vector<Value> values_, keys_;
  std::vector<std::uint8_t> same_;
  std::vector<std::int32_t> origins_;  // of the current call's outputs
};

/// assignTimestamps: event times computed per batch in JavaScript, then the engine's
/// TimestampAssigner (watermarks, idleness) with those times.
template <class T>
class JsTimestampOperator final : public detail::Operator, public detail::Input<T> {
 public:
  /// `json_texts`: the input's Values are JSON texts (js_json_lines.hpp), parsed for the
  /// function and passed on as they are.
  JsTimestampOperator(const detail::OperatorInit& init, detail::Input<T>* out,
                      std::shared_ptr<JsJob> job, int udf, WatermarkStrategy strategy,
                      bool json_texts = false)
      : site_(std::move(job), init.operator_name),
        udf_(udf),
        json_texts_(json_texts),
        assigner_(init, out, Precomputed{&timestamps_, &next_}, strategy),
        name_(init.operator_name) {}

  void* input() override { return static_cast<detail::Input<T>*>(this); }
  void open() override {
    site_.open();
    assigner_.open();
  }
  void close() override {
    assigner_.close();
    site_.close();
  }
  void processBatch(Batch<T>& batch) override {
    if (batch.empty()) return;
    detail::guarded(name_, [&] { run(batch); });
    next_ = 0;
    if (!batch.empty()) assigner_.processBatch(batch);
  }
  void processWatermark(Timestamp w) override { assigner_.processWatermark(w); }
  void processIdle() override { assigner_.processIdle(); }
  void processBarrier(std::uint64_t id) override { assigner_.processBarrier(id); }
  void endInput() override { assigner_.endInput(); }

 private:
  struct Precomputed {
    const std::vector<double>* timestamps;
    std::size_t* next;
    Timestamp operator()(const T&) const {
      return static_cast<Timestamp>((*timestamps)[(*next)++]);
    }
  };

  void run(Batch<T>& batch) {
    JsIsolate& js = site_.current().js();
    JsIsolate::Scope scope(js);
    v8::Isolate* isolate = js.isolate();
    v8::TryCatch try_catch(isolate);
    ValueConverter convert(isolate, js.context());
    v8::Local<v8::Function> times_of = site_.worker().helper("timestamps");
    timestamps_.clear();
    std::vector<double> part;
    std::size_t from = 0, kept = 0;
    while (from < batch.size()) {
      v8::HandleScope handles(isolate);
      auto project = [](const Element<T>& e) -> const Value& { return valueOf(e.value); };
      v8::Local<v8::Value> args[] = {v8::Number::New(isolate, udf_),
                                     convert.inputArray(batch, from, project, json_texts_)};
      std::size_t failed = batch.size();
      try {
        auto times = js.call(site_.label(), times_of, v8::Undefined(isolate), args)
                         .template As<v8::Float64Array>();
        copyTypedArray(times, part, batch.size() - from);
      } catch (const UserCodeError& error) {
        failed = from + site_.failedElement(error);
        copyTypedArray(site_.position("output").template As<v8::Float64Array>(), part,
                       failed - from);
      }
      // Keep the elements that have a time (dead letters leave the batch).
      for (std::size_t j = 0; j < part.size(); ++j) {
        if (kept != from + j) batch[kept] = std::move(batch[from + j]);
        ++kept;
        timestamps_.push_back(part[j]);
      }
      if (failed == batch.size()) break;
      site_.deadLetter(recordOf(valueOf(batch[failed].value), json_texts_));
      from = failed + 1;
    }
    batch.resize(kept);
  }

  JsCallSite site_;
  int udf_;
  bool json_texts_;
  std::vector<double> timestamps_;
  std::size_t next_ = 0;
  detail::TimestampAssigner<T, Precomputed> assigner_;
  std::string name_;
};

/// The UDF ids of an aggregate function (docs/js-graph.md: `aggregate`).
struct AggregateUdfs {
  int create = -1;
  int add = -1;
  int result = -1;
  int merge = -1;  ///< -1: none
};

/// The accumulator of a window: the folded value so far, and elements not folded yet.
struct JsWindowAccumulator {
  Value acc;
  bool has = false;  ///< `acc` holds a value (reduce: an element came; aggregate: created)
  std::vector<Value> pending;
};

/// The aggregate function the engine's WindowOperator folds a JS window reduce or aggregate
/// with. add() only buffers the element (C++); every kFoldEvery elements, and when the window
/// fires or merges, the buffer is folded in one call into JavaScript.
class JsWindowFunction {
 public:
  static constexpr std::size_t kFoldEvery = 256;

  /// A window reduce (`reduce_udf >= 0`) or aggregate.
  JsWindowFunction(std::shared_ptr<JsJob> job, std::string operator_name, int reduce_udf,
                   AggregateUdfs aggregate)
      : job_(std::move(job)),
        operator_name_(std::move(operator_name)),
        reduce_udf_(reduce_udf),
        aggregate_(aggregate) {}

  JsWindowAccumulator createAccumulator() const { return {}; }
  void add(JsWindowAccumulator& acc, const KeyedValue& element) const {
    acc.pending.push_back(element.second);
    if (acc.pending.size() >= kFoldEvery) fold(acc);
  }
  Value getResult(const JsWindowAccumulator& acc) const;
  void merge(JsWindowAccumulator& acc, const JsWindowAccumulator& other) const;
  /// The window function `udf(key, window, result)` (a TimeWindow of [start, end)).
  Value applyWindow(int udf, const Value& key, Timestamp start, Timestamp end, Value result) const;
  /// No pre-aggregation before the keyBy exchange (detail/combine.hpp) for JS windows yet: a JS
  /// aggregate may have no merge(), and folding partials in JS is not measured yet.
  bool combinable() const { return false; }

 private:
  void fold(JsWindowAccumulator& acc) const;
  JsCallSite& site() const;

  std::shared_ptr<JsJob> job_;
  std::string operator_name_;
  int reduce_udf_;
  AggregateUdfs aggregate_;
  // Opened on first use, on the thread of the window operator that holds this copy.
  mutable std::shared_ptr<JsCallSite> site_;
};

}  // namespace lightflus::js

template <>
struct lightflus::Serializer<lightflus::js::JsWindowAccumulator> {
  static void write(StateWriter& w, const js::JsWindowAccumulator& a) {
    w.write(a.acc);
    w.write(a.has);
    w.write(a.pending);
  }
  static js::JsWindowAccumulator read(StateReader& r) {
    js::JsWindowAccumulator a;
    a.acc = r.read<Value>();
    a.has = r.read<bool>();
    a.pending = r.read<std::vector<Value>>();
    return a;
  }
};
