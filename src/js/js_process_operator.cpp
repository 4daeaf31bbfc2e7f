#include "js_process_operator.hpp"

#include <v8-array-buffer.h>
#include <v8-typed-array.h>

#include "lightflus/state.hpp"
#include "strings.hpp"

namespace lightflus::js {

namespace {

std::vector<std::int64_t> times(const Value& v) {
  std::vector<std::int64_t> out;
  if (v.isArray())
    for (const auto& t : v.asArray()) out.push_back(t.isNumber() ? t.asInt() : 0);
  return out;
}

// The i-th item of an array a helper returned.
v8::Local<v8::Value> item(v8::Local<v8::Array> parts, v8::Local<v8::Context> context,
                          std::uint32_t i) {
  return parts->Get(context, i).ToLocalChecked();
}

}  // namespace

template <class In>
JsProcessOperator<In>::JsProcessOperator(const detail::OperatorInit& init,
                                         detail::Input<Value>* out,
                                         std::vector<detail::Input<Value>*> sides,
                                         std::shared_ptr<JsJob> job, JsProcessSpec spec,
                                         std::shared_ptr<JsKeyedReaders> readers)
    : detail::OneInputOperator<In, Value>(init, out),
      state_(std::move(job), init.operator_name, "process"),
      spec_(std::move(spec)),
      readers_(std::move(readers)),
      sides_(std::move(sides)),
      side_buffers_(sides_.size()) {
  if (readers_) readers_->add(this->input(), this);
}

template <class In>
JsProcessOperator<In>::~JsProcessOperator() {
  if (readers_) readers_->remove(this->input());
}

template <class In>
template <class Body>
void JsProcessOperator<In>::inIsolate(Body&& body) {
  state_.inIsolate([&](ValueConverter& convert) { makeState(convert); }, body);
}

template <class In>
void JsProcessOperator<In>::open() {
  state_.open();
  // Restored processing-time timers need registering before any element arrives.
  if (!restored_.empty()) {
    inIsolate([](JsIsolate&, ValueConverter&) {});
    flush();
  }
}

template <class In>
void JsProcessOperator<In>::close() {
  state_.close("processDrop");
}

template <class In>
void JsProcessOperator<In>::makeState(ValueConverter& convert) {
  JsIsolate& js = site().current().js();
  v8::Isolate* isolate = js.isolate();
  v8::Local<v8::Context> context = js.context();
  v8::Local<v8::Object> spec = v8::Object::New(isolate);
  auto set = [&](const char* name, v8::Local<v8::Value> v) {
    spec->Set(context, toJsString(isolate, name), v).Check();
  };
  set("element", jsNumber(isolate, spec_.element));
  set("element2", jsNumber(isolate, spec_.element2));
  set("timer", jsNumber(isolate, spec_.timer));
  set("ttl", jsNumber(isolate, static_cast<double>(spec_.ttl)));
  std::vector<v8::Local<v8::Value>> tags;
  for (const auto& tag : spec_.tags) tags.push_back(toJsString(isolate, tag));
  set("tags", v8::Array::New(isolate, tags.data(), tags.size()));
  state_.make("processNew", spec);
  if (restored_.empty()) return;
  std::vector<v8::Local<v8::Value>> keys, states, event_times, processing_times, written;
  auto array = [&](const std::vector<std::int64_t>& ts) {
    std::vector<v8::Local<v8::Value>> items;
    for (auto t : ts) items.push_back(jsNumber(isolate, static_cast<double>(t)));
    return v8::Array::New(isolate, items.data(), items.size()).As<v8::Value>();
  };
  for (const auto& k : restored_) {
    keys.push_back(convert.toJs(k.key));
    states.push_back(convert.toJs(k.state));
    event_times.push_back(array(k.event_times));
    processing_times.push_back(array(k.processing_times));
    written.push_back(jsNumber(isolate, static_cast<double>(k.written)));
  }
  restored_.clear();
  auto list = [&](std::vector<v8::Local<v8::Value>>& v) {
    return v8::Array::New(isolate, v.data(), v.size()).As<v8::Value>();
  };
  collect(state_.call("processRestore", {list(keys), list(states), list(event_times),
                                         list(processing_times), list(written)}),
          convert);
}

template <class In>
void JsProcessOperator<In>::collect(v8::Local<v8::Value> taken, ValueConverter& convert) {
  JsIsolate& js = site().worker().js();
  v8::Local<v8::Context> context = js.context();
  v8::Local<v8::Array> parts = taken.As<v8::Array>();
  unpackValues(js, convert, item(parts, context, 0), values_);
  v8::Local<v8::Float64Array> times = item(parts, context, 1).As<v8::Float64Array>();
  copyTypedArray(times, times_, times->Length());
  v8::Local<v8::Uint8Array> ports = item(parts, context, 2).As<v8::Uint8Array>();
  copyTypedArray(ports, ports_, ports->Length());
  if (times_.size() != values_.size() || ports_.size() != values_.size())
    throw Error("internal error: a process call returned " + std::to_string(values_.size()) +
                " outputs and " + std::to_string(times_.size()) + " times");
  for (std::size_t i = 0; i < values_.size(); ++i) {
    Element<Value> e{std::move(values_[i]), elementTime(times_[i])};
    if (ports_[i] == 0)
      this->buffer_.push_back(std::move(e));
    else if (ports_[i] <= side_buffers_.size())
      side_buffers_[ports_[i] - 1].push_back(std::move(e));
  }
  v8::Local<v8::Array> timers = item(parts, context, 3).As<v8::Array>();
  for (std::uint32_t i = 0, n = timers->Length(); i < n; ++i) {
    auto t =
        static_cast<Timestamp>(timers->Get(context, i).ToLocalChecked().As<v8::Number>()->Value());
    this->init_.services->registerProcessingTimer(t, [this](Timestamp at) {
      fire(at, true);
      flush();
    });
  }
}

template <class In>
void JsProcessOperator<In>::flush() {
  emitChunked(this->buffer_, this->init_.batch_size, [&](Batch<Value>& b) { this->emit(b); });
  for (std::size_t i = 0; i < sides_.size(); ++i) {
    if (side_buffers_[i].empty()) continue;
    if (sides_[i] != nullptr) sides_[i]->processBatch(side_buffers_[i]);
    side_buffers_[i].clear();
  }
}

template <class In>
template <class Record>
void JsProcessOperator<In>::add(JsIsolate& js, ValueConverter& convert, const KeyedArrays& arrays,
                                int side, Record&& record) {
  v8::Isolate* isolate = js.isolate();
  this->countIn(arrays.count);
  std::size_t from = 0;
  for (;;) {
    try {
      collect(state_.call("processAdd",
                          {arrays.keys, arrays.same, arrays.values, arrays.times,
                           jsNumber(isolate, static_cast<double>(from)), jsNumber(isolate, side)}),
              convert);
      return;
    } catch (const UserCodeError& error) {
      std::size_t failed = site().failedElement(error);  // throws unless dead-lettering
      collect(state_.call("processTakeBefore", {}), convert);
      site().deadLetter(record(failed));
      from = failed + 1;
    }
  }
}

template <class In>
void JsProcessOperator<In>::processBatch(Batch<In>& batch) {
  if (batch.empty()) return;
  if constexpr (std::is_same_v<In, KeyedValue>) {
    addSide(batch, 0);
  } else {
    // A batch comes from one channel, so from one side; runs keep each side's order anyway.
    for (std::size_t i = 0; i < batch.size();) {
      const int side = static_cast<int>(batch[i].value.index());
      for (; i < batch.size() && static_cast<int>(batch[i].value.index()) == side; ++i) {
        auto& e = batch[i];
        run_.push_back(Element<KeyedValue>{
            side == 0 ? std::move(*std::get_if<0>(&e.value)) : std::move(*std::get_if<1>(&e.value)),
            e.timestamp});
      }
      addSide(run_, side);
      run_.clear();
    }
  }
  flush();
  batch.clear();
}

template <class In>
void JsProcessOperator<In>::addSide(Batch<KeyedValue>& batch, int side) {
  const bool blocks = spec_.input_blocks[side];
  inIsolate([&](JsIsolate& js, ValueConverter& convert) {
    v8::Isolate* isolate = js.isolate();
    KeyedArrays arrays = toKeyedArrays(site().worker(), convert, batch, blocks, json_);
    if (arrays.times.IsEmpty()) {
      const std::size_t n = batch.size();
      arrays.times = v8::Float64Array::New(v8::ArrayBuffer::New(isolate, n * sizeof(double)), 0, n);
      auto* data = static_cast<double*>(arrays.times->Buffer()->GetBackingStore()->Data());
      for (std::size_t i = 0; i < n; ++i) data[i] = jsElementTime(batch[i].timestamp);
    }
    add(js, convert, arrays, side, [&](std::size_t i) {
      return blocks ? convert.fromJs(arrays.values->Get(js.context(), static_cast<std::uint32_t>(i))
                                         .ToLocalChecked())
                    : batch[i].value.second;
    });
  });
}

template <class In>
void JsProcessOperator<In>::addParsed(const KeyedArrays& arrays) {
  inIsolate([&](JsIsolate& js, ValueConverter& convert) {
    add(js, convert, arrays, 0, [&](std::size_t i) {
      return convert.fromJs(
          arrays.values->Get(js.context(), static_cast<std::uint32_t>(i)).ToLocalChecked());
    });
  });
  flush();
}

template <class In>
void JsProcessOperator<In>::fire(Timestamp up_to, bool processing) {
  if (!state_.made() && restored_.empty()) return;  // no state, no timers
  inIsolate([&](JsIsolate& js, ValueConverter& convert) {
    v8::Isolate* isolate = js.isolate();
    try {
      collect(state_.call("processFire", {jsNumber(isolate, jsTime(up_to)),
                                          v8::Boolean::New(isolate, processing)}),
              convert);
    } catch (const UserCodeError& error) {
      site().failedElement(error);  // a timer has no record: this throws
      throw detail::OperatorFailure(this->init_.operator_name, error.what());
    }
  });
}

template <class In>
void JsProcessOperator<In>::processWatermark(Timestamp w) {
  fire(w, false);
  flush();
  this->out_->processWatermark(w);
  for (auto* side : sides_)
    if (side) side->processWatermark(w);
}

template <class In>
void JsProcessOperator<In>::processIdle() {
  this->out_->processIdle();
  for (auto* side : sides_)
    if (side) side->processIdle();
}

template <class In>
void JsProcessOperator<In>::processBarrier(std::uint64_t id) {
  this->out_->processBarrier(id);
  for (auto* side : sides_)
    if (side) side->processBarrier(id);
}

template <class In>
void JsProcessOperator<In>::endInput() {
  fire(kMaxTimestamp, false);
  flush();
  this->out_->endInput();
  for (auto* side : sides_)
    if (side) side->endInput();
}

template <class In>
void JsProcessOperator<In>::snapshot(StateWriter& w) {
  std::vector<RestoredKey> keys = restored_;
  if (state_.made()) {
    inIsolate([&](JsIsolate& js, ValueConverter& convert) {
      v8::Local<v8::Context> context = js.context();
      v8::Local<v8::Array> parts = state_.call("processSnapshot", {}).As<v8::Array>();
      std::vector<Value> columns[5];
      for (std::uint32_t c = 0; c < 5; ++c) {
        v8::Local<v8::Array> column = parts->Get(context, c).ToLocalChecked().As<v8::Array>();
        convert.fromJsArray(column, column->Length(), columns[c]);
      }
      for (std::size_t i = 0; i < columns[0].size(); ++i) {
        RestoredKey k;
        k.key = std::move(columns[0][i]);
        k.state = std::move(columns[1][i]);
        k.event_times = times(columns[2][i]);
        k.processing_times = times(columns[3][i]);
        k.written = columns[4][i].isNumber() ? columns[4][i].asInt() : 0;
        keys.push_back(std::move(k));
      }
    });
  }
  w.writeSize(keys.size());
  for (const auto& k : keys) {
    w.write(k.key);
    w.write(k.state);
    w.write(k.event_times);
    w.write(k.processing_times);
    w.write(k.written);
  }
}

template <class In>
void JsProcessOperator<In>::restore(const detail::OperatorRestore& r) {
  for (const auto& bytes : r.previous) {
    if (bytes.empty()) continue;
    StateReader reader(bytes);
    auto n = reader.readSize();
    for (std::uint64_t i = 0; i < n; ++i) {
      RestoredKey k;
      k.key = reader.read<Value>();
      k.state = reader.read<Value>();
      k.event_times = reader.read<std::vector<std::int64_t>>();
      k.processing_times = reader.read<std::vector<std::int64_t>>();
      k.written = reader.read<std::int64_t>();
      if (detail::ownsKey(k.key, std::hash<Value>{}, r.subtask, r.parallelism, r.max_parallelism))
        restored_.push_back(std::move(k));
    }
  }
}

template class JsProcessOperator<KeyedValue>;
template class JsProcessOperator<CoProcessInput>;

}  // namespace lightflus::js
