#include "js_window_operator.hpp"

#include <v8-array-buffer.h>
#include <v8-typed-array.h>

#include <map>

#include "js_rolling_operator.hpp"
#include "lightflus/state.hpp"
#include "lightflus/time.hpp"
#include "strings.hpp"

namespace lightflus::js {

namespace {

v8::Local<v8::Float64Array> toFloat64Array(v8::Isolate* isolate,
                                           const std::vector<Timestamp>& values) {
  std::size_t bytes = values.size() * sizeof(double);
  v8::Local<v8::ArrayBuffer> buffer = v8::ArrayBuffer::New(isolate, bytes);
  auto* data = static_cast<double*>(buffer->GetBackingStore()->Data());
  for (std::size_t i = 0; i < values.size(); ++i) data[i] = static_cast<double>(values[i]);
  return v8::Float64Array::New(buffer, 0, values.size());
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// JsWindowCore

JsWindowCore::JsWindowCore(const detail::OperatorInit& init, std::shared_ptr<JsJob> job,
                           JsWindowSpec spec, Emit emit, bool combiner)
    : init_(init),
      // A combiner's state is empty between batches: it may start again in another isolate.
      state_(std::move(job), init.operator_name, "window", /*one_batch=*/combiner),
      spec_(spec),
      emit_(std::move(emit)),
      combiner_(combiner) {}

template <class Body>
void JsWindowCore::inIsolate(Body&& body) {
  state_.inIsolate([&](ValueConverter& convert) { makeState(convert); }, body);
}

void JsWindowCore::open() {
  state_.open();
  // Restored processing-time windows need their timers before any element arrives.
  if (!restored_.empty()) {
    inIsolate([](JsIsolate&, ValueConverter&) {});  // makes the state from restored_
    flush();
  }
}

void JsWindowCore::close() {
  state_.close(combiner_ ? "combineDrop" : "windowDrop");
}

void JsWindowCore::makeState(ValueConverter& convert) {
  JsIsolate& js = site().current().js();
  v8::Isolate* isolate = js.isolate();
  v8::Local<v8::Context> context = js.context();
  v8::Local<v8::Object> spec = v8::Object::New(isolate);
  auto set = [&](const char* name, v8::Local<v8::Value> v) {
    spec->Set(context, toJsString(isolate, name), v).Check();
  };
  set("sliding", v8::Boolean::New(isolate, spec_.sliding));
  set("size", jsNumber(isolate, static_cast<double>(spec_.size)));
  set("slide", jsNumber(isolate, static_cast<double>(spec_.slide)));
  set("offset", jsNumber(isolate, static_cast<double>(spec_.offset)));
  set("event", v8::Boolean::New(isolate, spec_.event_time));
  set("lateness", jsNumber(isolate, static_cast<double>(spec_.lateness)));
  set("reduce", jsNumber(isolate, spec_.reduce));
  set("create", jsNumber(isolate, spec_.aggregate.create));
  set("add", jsNumber(isolate, spec_.aggregate.add));
  set("result", jsNumber(isolate, spec_.aggregate.result));
  set("merge", jsNumber(isolate, spec_.aggregate.merge));
  set("partials", v8::Boolean::New(isolate, spec_.partials));
  set("wfn", jsNumber(isolate, spec_.window_fn));
  set("wflat", v8::Boolean::New(isolate, spec_.window_flat));
  set("lateOut", v8::Boolean::New(isolate, spec_.late_output));
  state_.make(combiner_ ? "combineNew" : "windowNew", spec);
  if (restored_.empty()) return;

  std::vector<v8::Local<v8::Value>> starts, passed, sizes, keys, accs, flags;
  for (const auto& w : restored_) {
    starts.push_back(jsNumber(isolate, static_cast<double>(w.start)));
    passed.push_back(v8::Boolean::New(isolate, w.passed));
    sizes.push_back(jsNumber(isolate, static_cast<double>(w.entries.size())));
    for (const auto& [key, acc, f] : w.entries) {
      keys.push_back(convert.toJs(key));
      accs.push_back(convert.toJs(acc));
      flags.push_back(jsNumber(isolate, f));
    }
  }
  restored_.clear();
  auto array = [&](std::vector<v8::Local<v8::Value>>& v) {
    return v8::Array::New(isolate, v.data(), v.size()).As<v8::Value>();
  };
  collect(state_.call("windowRestore", {array(starts), array(passed), array(sizes), array(keys),
                                        array(accs), array(flags)}),
          convert);
}

void JsWindowCore::collect(v8::Local<v8::Value> taken, ValueConverter& convert) {
  if (!taken->IsArray()) return;
  JsIsolate& js = site().worker().js();
  v8::Isolate* isolate = js.isolate();
  v8::Local<v8::Context> context = js.context();
  v8::Local<v8::Array> parts = taken.As<v8::Array>();
  auto part = [&](std::uint32_t i) { return parts->Get(context, i).ToLocalChecked(); };
  v8::Local<v8::Array> out = part(0).As<v8::Array>();
  v8::Local<v8::Array> json = part(1).As<v8::Array>();
  v8::Local<v8::Array> times = part(2).As<v8::Array>();
  for (std::uint32_t i = 0, n = out->Length(); i < n; ++i) {
    v8::Local<v8::Value> item = out->Get(context, i).ToLocalChecked();
    Value value =
        item->IsUndefined()
            ? Value::parseJson(toStdString(isolate, json->Get(context, i).ToLocalChecked()))
            : convert.fromJs(item);
    auto time =
        static_cast<Timestamp>(times->Get(context, i).ToLocalChecked().As<v8::Number>()->Value());
    buffer_.push_back(Element<Value>{std::move(value), time});
  }
  if (spec_.late_output && parts->Length() >= 7) {
    v8::Local<v8::Array> late_values = part(5).As<v8::Array>();
    v8::Local<v8::Array> late_times = part(6).As<v8::Array>();
    std::vector<Value> values;
    convert.fromJsArray(late_values, late_values->Length(), values);
    for (std::size_t i = 0; i < values.size(); ++i) {
      auto t = static_cast<Timestamp>(late_times->Get(context, static_cast<std::uint32_t>(i))
                                          .ToLocalChecked()
                                          .As<v8::Number>()
                                          ->Value());
      late_buffer_.push_back(Element<Value>{std::move(values[i]), t});
    }
  }
  auto late = static_cast<std::uint64_t>(part(3).As<v8::Number>()->Value());
  if (late > 0) init_.counters->late_dropped.fetch_add(late, std::memory_order_relaxed);
  if (!spec_.event_time) {
    v8::Local<v8::Array> created = part(4).As<v8::Array>();
    for (std::uint32_t i = 0, n = created->Length(); i < n; ++i) {
      auto t = static_cast<Timestamp>(
          created->Get(context, i).ToLocalChecked().As<v8::Number>()->Value());
      if (!timers_.insert(t).second) continue;
      init_.services->registerProcessingTimer(t, [this](Timestamp at) {
        timers_.erase(at);
        fire(at, false);
        flush();
      });
    }
  }
  if (buffer_.size() >= init_.batch_size) flush();
}

void JsWindowCore::flush() {
  emitChunked(buffer_, init_.batch_size, emit_);
  if (!late_buffer_.empty()) {
    if (late_ != nullptr) late_->processBatch(late_buffer_);
    late_buffer_.clear();
  }
}

void JsWindowCore::takePartials(Batch<KeyedValue>& out, Timestamp time) {
  if (!state_.made()) return;
  inIsolate([&](JsIsolate& js, ValueConverter& convert) {
    v8::Local<v8::Context> context = js.context();
    v8::Local<v8::Array> parts = state_.call("combineTake", {}).As<v8::Array>();
    v8::Local<v8::Array> keys = parts->Get(context, 0).ToLocalChecked().As<v8::Array>();
    v8::Local<v8::Array> texts = parts->Get(context, 1).ToLocalChecked().As<v8::Array>();
    v8::Local<v8::Array> times = parts->Get(context, 2).ToLocalChecked().As<v8::Array>();
    keys_.clear();
    convert.fromJsArray(keys, keys->Length(), keys_);
    partials_.clear();
    convert.fromJsArray(texts, texts->Length(), partials_);
    for (std::size_t i = 0; i < keys_.size(); ++i) {
      Timestamp t = time;
      if (spec_.event_time)
        t = static_cast<Timestamp>(times->Get(context, static_cast<std::uint32_t>(i))
                                       .ToLocalChecked()
                                       .As<v8::Number>()
                                       ->Value());
      out.push_back(
          Element<KeyedValue>{KeyedValue{std::move(keys_[i]), std::move(partials_[i])}, t});
    }
  });
}

void JsWindowCore::checkTimestamps(const std::vector<Timestamp>& ts) const {
  for (Timestamp t : ts)
    if (t == kMinTimestamp)
      throw Error(
          "event-time window received an element without a timestamp; call "
          "assignTimestamps() before the window");
}

template <class Record>
void JsWindowCore::addArrays(v8::Local<v8::Value> keys, v8::Local<v8::Value> same,
                             v8::Local<v8::Array> values, v8::Local<v8::Value> times, Timestamp now,
                             ValueConverter& convert, Record&& record) {
  v8::Isolate* isolate = site().worker().js().isolate();
  std::size_t from = 0;
  for (;;) {
    try {
      collect(state_.call(combiner_ ? "combineAdd" : "windowAdd",
                          {keys, same, values, times, jsNumber(isolate, jsTime(now)),
                           jsNumber(isolate, static_cast<double>(from))}),
              convert);
      return;
    } catch (const UserCodeError& error) {
      std::size_t failed = site().failedElement(error);  // throws unless dead-lettering
      site().deadLetter(record(failed));
      from = failed + 1;
    }
  }
}

std::size_t JsWindowCore::add(Batch<KeyedValue>& batch) {
  if (batch.empty()) return 0;
  if (spec_.input_blocks) {
    addBlocks(batch);
    return block_count_;
  }
  const std::size_t n = batch.size();
  inIsolate([&](JsIsolate& js, ValueConverter& convert) {
    v8::Isolate* isolate = js.isolate();
    v8::Local<v8::Value> times = v8::Undefined(isolate);
    Timestamp now = 0;
    if (spec_.event_time) {
      times_.clear();
      for (const auto& e : batch) times_.push_back(e.timestamp);
      checkTimestamps(times_);
      times = toFloat64Array(isolate, times_);
    } else {
      now = processingTimeNow();
    }
    // Keys equal to their value (keyBy(w => w)) are not converted twice.
    const std::size_t n = batch.size();
    v8::Local<v8::Uint8Array> same = v8::Uint8Array::New(v8::ArrayBuffer::New(isolate, n), 0, n);
    auto* same_data = static_cast<std::uint8_t*>(same->Buffer()->GetBackingStore()->Data());
    std::vector<v8::Local<v8::Value>> keys(n);
    for (std::size_t i = 0; i < n; ++i) {
      const KeyedValue& kv = batch[i].value;
      if (kv.first == kv.second)
        same_data[i] = 1;
      else
        keys[i] = convert.toJs(kv.first);
    }
    for (auto& k : keys)
      if (k.IsEmpty()) k = v8::Undefined(isolate);
    v8::Local<v8::Array> key_array = v8::Array::New(isolate, keys.data(), keys.size());
    v8::Local<v8::Array> values = convert.toJsArray(
        batch, 0, [](const Element<KeyedValue>& e) -> const Value& { return e.value.second; });
    addArrays(key_array, same, values, times, now, convert,
              [&](std::size_t i) -> const Value& { return batch[i].value.second; });
  });
  batch.clear();
  return n;
}

// Key-group blocks: one JSON.parse for the batch, the elements' times from the blocks.
void JsWindowCore::addBlocks(Batch<KeyedValue>& batch) {
  inIsolate([&](JsIsolate& js, ValueConverter& convert) {
    KeyedArrays arrays = toKeyedArrays(site().worker(), convert, batch, true, scratch_);
    block_count_ = arrays.count;
    addTimed(js, convert, arrays);
  });
  batch.clear();
}

void JsWindowCore::addParsed(const KeyedArrays& arrays) {
  inIsolate([&](JsIsolate& js, ValueConverter& convert) { addTimed(js, convert, arrays); });
}

void JsWindowCore::addTimed(JsIsolate& js, ValueConverter& convert, const KeyedArrays& arrays) {
  v8::Isolate* isolate = js.isolate();
  v8::Local<v8::Value> times = v8::Undefined(isolate);
  Timestamp now = 0;
  if (spec_.event_time) {
    copyTypedArray(arrays.times, block_times_, arrays.count);
    times_.clear();
    for (double t : block_times_) times_.push_back(elementTime(t));
    checkTimestamps(times_);
    times = arrays.times;
  } else {
    now = processingTimeNow();
  }
  v8::Local<v8::Context> context = js.context();
  addArrays(arrays.keys, arrays.same, arrays.values, times, now, convert, [&](std::size_t i) {
    return convert.fromJs(
        arrays.values->Get(context, static_cast<std::uint32_t>(i)).ToLocalChecked());
  });
}

bool JsWindowCore::addChained(Batch<Value>& batch, const std::vector<int>& udfs,
                              const std::vector<std::string>& kinds, int key_udf,
                              NexmarkCrossing* nexmark) {
  bool done = true;
  inIsolate([&](JsIsolate& js, ValueConverter& convert) {
    v8::Isolate* isolate = js.isolate();
    v8::Local<v8::Context> context = js.context();
    v8::Local<v8::Value> times = v8::Undefined(isolate);
    v8::Local<v8::Value> origins = v8::Undefined(isolate);
    Timestamp now = 0;
    if (spec_.event_time) {
      times_.clear();
      for (const auto& e : batch) times_.push_back(e.timestamp);
      checkTimestamps(times_);
      times = toFloat64Array(isolate, times_);
      origins = v8::Array::New(isolate);
    } else {
      now = processingTimeNow();
    }
    v8::Local<v8::Value> args[] = {
        site().worker().chain(udfs, kinds), jsNumber(isolate, key_udf),
        nexmark ? nexmark->toJsArray(site().worker(), convert, batch, 0)
                : convert.toJsArray(
                      batch, 0, [](const Element<Value>& e) -> const Value& { return e.value; }),
        origins, times};
    v8::Local<v8::Array> parts;
    try {
      parts = js.call(site().label(), site().worker().helper("windowChainKeys"),
                      v8::Undefined(isolate), args)
                  .As<v8::Array>();
    } catch (const UserCodeError&) {
      done = false;
      return;
    }
    auto part = [&](std::uint32_t i) { return parts->Get(context, i).ToLocalChecked(); };
    v8::Local<v8::Array> outputs = part(2).As<v8::Array>();
    addArrays(part(0), part(1), outputs, part(3), now, convert, [&](std::size_t i) {
      return convert.fromJs(outputs->Get(context, static_cast<std::uint32_t>(i)).ToLocalChecked());
    });
  });
  if (done) batch.clear();
  return done;
}

void JsWindowCore::fire(Timestamp up_to, bool end) {
  inIsolate([&](JsIsolate& js, ValueConverter& convert) {
    v8::Isolate* isolate = js.isolate();
    try {
      collect(state_.call("windowFire",
                          {jsNumber(isolate, jsTime(up_to)), v8::Boolean::New(isolate, end)}),
              convert);
    } catch (const UserCodeError& error) {
      site().failedElement(error);  // a result has no record: this throws
      throw detail::OperatorFailure(init_.operator_name, error.what());
    }
  });
}

void JsWindowCore::snapshot(StateWriter& w) {
  // Windows restored but not yet in the isolate (no element since) are written as they are.
  std::vector<RestoredWindow> windows = restored_;
  if (state_.made()) {
    inIsolate([&](JsIsolate& js, ValueConverter& convert) {
      v8::Local<v8::Context> context = js.context();
      v8::Local<v8::Array> parts = state_.call("windowSnapshot", {}).As<v8::Array>();
      auto part = [&](std::uint32_t i) {
        return parts->Get(context, i).ToLocalChecked().As<v8::Array>();
      };
      v8::Local<v8::Array> starts = part(0), passed = part(1), sizes = part(2), keys = part(3),
                           accs = part(4), flags = part(5);
      auto at = [&](v8::Local<v8::Array> a, std::uint32_t i) {
        return a->Get(context, i).ToLocalChecked();
      };
      std::uint32_t k = 0;
      for (std::uint32_t i = 0, n = starts->Length(); i < n; ++i) {
        RestoredWindow rw;
        rw.start = static_cast<std::int64_t>(at(starts, i).As<v8::Number>()->Value());
        rw.passed = at(passed, i)->IsTrue();
        auto size = static_cast<std::uint32_t>(at(sizes, i).As<v8::Number>()->Value());
        for (std::uint32_t j = 0; j < size; ++j, ++k)
          rw.entries.emplace_back(
              convert.fromJs(at(keys, k)), convert.fromJs(at(accs, k)),
              static_cast<std::uint8_t>(at(flags, k).As<v8::Number>()->Value()));
        windows.push_back(std::move(rw));
      }
    });
  }
  w.writeSize(windows.size());
  for (const auto& rw : windows) {
    w.write(rw.start);
    w.write(rw.passed);
    w.writeSize(rw.entries.size());
    for (const auto& [key, acc, flags] : rw.entries) {
      w.write(key);
      w.write(acc);
      w.write(flags);
    }
  }
}

void JsWindowCore::restore(const detail::OperatorRestore& r) {
  // Runs on the thread that builds the job, not the task's: the windows wait here until the
  // task's isolate takes them (open()).
  std::map<std::int64_t, RestoredWindow> windows;
  for (const auto& bytes : r.previous) {
    if (bytes.empty()) continue;
    StateReader reader(bytes);
    auto n = reader.readSize();
    for (std::uint64_t i = 0; i < n; ++i) {
      auto start = reader.read<std::int64_t>();
      bool passed = reader.read<bool>();
      RestoredWindow& rw = windows[start];
      rw.start = start;
      rw.passed = rw.passed || passed;
      auto m = reader.readSize();
      for (std::uint64_t j = 0; j < m; ++j) {
        auto key = reader.read<Value>();
        auto acc = reader.read<Value>();
        auto flags = reader.read<std::uint8_t>();
        if (detail::ownsKey(key, std::hash<Value>{}, r.subtask, r.parallelism, r.max_parallelism))
          rw.entries.emplace_back(std::move(key), std::move(acc), flags);
      }
    }
  }
  for (auto& [start, rw] : windows)
    if (!rw.entries.empty()) restored_.push_back(std::move(rw));
}

// ---------------------------------------------------------------------------------------------
// JsWindowOperator

JsWindowOperator::JsWindowOperator(const detail::OperatorInit& init, detail::Input<Value>* out,
                                   std::shared_ptr<JsJob> job, JsWindowSpec spec,
                                   std::shared_ptr<JsKeyedReaders> readers)
    : detail::OneInputOperator<KeyedValue, Value>(init, out),
      core_(init, std::move(job), spec, [this](Batch<Value>& b) { this->emit(b); }),
      readers_(std::move(readers)) {
  if (readers_) readers_->add(input(), this);
}

JsWindowOperator::~JsWindowOperator() {
  if (readers_) readers_->remove(input());
}

// Key-group blocks count as the elements in them.
void JsWindowOperator::processBatch(Batch<KeyedValue>& batch) {
  countIn(core_.add(batch));
  core_.flush();
}

void JsWindowOperator::addParsed(const KeyedArrays& arrays) {
  countIn(arrays.count);
  core_.addParsed(arrays);
  core_.flush();
}

void JsWindowOperator::processWatermark(Timestamp w) {
  core_.watermark(w);
  out_->processWatermark(w);
  if (auto* late = core_.lateOutput()) late->processWatermark(w);
}

void JsWindowOperator::processIdle() {
  out_->processIdle();
  if (auto* late = core_.lateOutput()) late->processIdle();
}

void JsWindowOperator::processBarrier(std::uint64_t id) {
  out_->processBarrier(id);
  if (auto* late = core_.lateOutput()) late->processBarrier(id);
}

void JsWindowOperator::endInput() {
  core_.end();
  out_->endInput();
  if (auto* late = core_.lateOutput()) late->endInput();
}

// ---------------------------------------------------------------------------------------------
// JsChainedCore

JsChainedCore::JsChainedCore(const detail::OperatorInit& init, std::shared_ptr<JsJob> job,
                             std::vector<int> udfs, std::vector<std::string> kinds, int key_udf,
                             JsWindowSpec spec, JsWindowCore::Emit emit, bool combiner,
                             std::shared_ptr<const nexmark::Generator> nexmark)
    : core_(init, job, spec, std::move(emit), combiner),
      udfs_(udfs),
      kinds_(kinds),
      key_udf_(key_udf),
      keyed_input_(core_),
      step_keys_(stepInit(init), &keyed_input_, job, key_udf),
      step_chain_(stepInit(init), &step_keys_, job, std::move(udfs), std::move(kinds),
                  /*json_texts=*/false, nexmark) {
  if (nexmark) nexmark_.emplace(std::move(nexmark));
}

detail::OperatorInit JsChainedCore::stepInit(const detail::OperatorInit& init) {
  detail::OperatorInit step = init;
  step.counters = &step_counters_;
  return step;
}

void JsChainedCore::open() {
  core_.open();
  step_chain_.open();
  step_keys_.open();
}

void JsChainedCore::close() {
  step_keys_.close();
  step_chain_.close();
  core_.close();
}

void JsChainedCore::add(Batch<Value>& batch) {
  if (!core_.addChained(batch, udfs_, kinds_, key_udf_, nexmark_ ? &*nexmark_ : nullptr))
    step_chain_.processBatch(batch);  // through step_keys_ into the core
}

// ---------------------------------------------------------------------------------------------
// JsChainWindowOperator

JsChainWindowOperator::JsChainWindowOperator(const detail::OperatorInit& init,
                                             detail::Input<Value>* out, std::shared_ptr<JsJob> job,
                                             std::vector<int> udfs, std::vector<std::string> kinds,
                                             int key_udf, JsWindowSpec spec,
                                             std::shared_ptr<const nexmark::Generator> nexmark)
    : detail::OneInputOperator<Value, Value>(init, out),
      chained_(
          init, std::move(job), std::move(udfs), std::move(kinds), key_udf, spec,
          [this](Batch<Value>& b) { this->emit(b); }, /*combiner=*/false, std::move(nexmark)) {}

void JsChainWindowOperator::processBatch(Batch<Value>& batch) {
  countIn(batch.size());
  if (batch.empty()) return;
  chained_.add(batch);
  chained_.core().flush();
}

void JsChainWindowOperator::processWatermark(Timestamp w) {
  chained_.core().watermark(w);
  out_->processWatermark(w);
  if (auto* late = chained_.core().lateOutput()) late->processWatermark(w);
}

void JsChainWindowOperator::processIdle() {
  out_->processIdle();
  if (auto* late = chained_.core().lateOutput()) late->processIdle();
}

void JsChainWindowOperator::processBarrier(std::uint64_t id) {
  out_->processBarrier(id);
  if (auto* late = chained_.core().lateOutput()) late->processBarrier(id);
}

void JsChainWindowOperator::endInput() {
  chained_.core().end();
  out_->endInput();
  if (auto* late = chained_.core().lateOutput()) late->endInput();
}

// ---------------------------------------------------------------------------------------------
// JsChainCombineOperator

JsChainCombineOperator::JsChainCombineOperator(const detail::OperatorInit& init,
                                               detail::Input<KeyedValue>* out,
                                               std::shared_ptr<JsJob> job, std::vector<int> udfs,
                                               std::vector<std::string> kinds, int key_udf,
                                               JsWindowSpec spec,
                                               std::shared_ptr<const nexmark::Generator> nexmark)
    : detail::OneInputOperator<Value, KeyedValue>(init, out),
      chained_(
          init, std::move(job), std::move(udfs), std::move(kinds), key_udf, spec,
          [](Batch<Value>&) {}, /*combiner=*/true, std::move(nexmark)) {}

void JsChainCombineOperator::processBatch(Batch<Value>& batch) {
  countIn(batch.size());
  if (batch.empty()) return;
  const Timestamp time = batch.back().timestamp;
  chained_.add(batch);
  chained_.core().takePartials(buffer_, time);
  emitChunked(buffer_, init_.batch_size, [&](Batch<KeyedValue>& b) { this->emit(b); });
}

}  // namespace lightflus::js
