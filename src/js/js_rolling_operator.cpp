#include "js_rolling_operator.hpp"

#include <v8-array-buffer.h>
#include <v8-json.h>
#include <v8-typed-array.h>

#include <unordered_map>

#include "lightflus/state.hpp"
#include "strings.hpp"

namespace lightflus::js {

namespace {

int kindCode(const std::string& kind) {
  if (kind == "map") return 0;
  if (kind == "flatMap") return 1;
  if (kind == "filter") return 2;
  throw ConfigError("a chain after a reduce holds map, flatMap and filter, not '" + kind + "'");
}

}  // namespace

KeyedArrays toKeyedArrays(JsWorker& worker, ValueConverter& convert, const Batch<KeyedValue>& batch,
                          bool input_blocks, std::string& scratch) {
  JsIsolate& js = worker.js();
  v8::Isolate* isolate = js.isolate();
  v8::Local<v8::Context> context = js.context();
  const std::size_t n = batch.size();
  KeyedArrays arrays;
  if (input_blocks) {
    // One JSON.parse for the batch's blocks.
    scratch.clear();
    scratch.push_back('[');
    for (std::size_t i = 0; i < n; ++i) {
      if (i > 0) scratch.push_back(',');
      scratch += batch[i].value.second.asString();
    }
    scratch.push_back(']');
    v8::Local<v8::Value> blocks[] = {
        v8::JSON::Parse(context, convert.toJsText(scratch)).ToLocalChecked()};
    v8::Local<v8::Array> parts = js.call("lightflus key-group blocks", worker.helper("unblock"),
                                         v8::Undefined(isolate), blocks)
                                     .As<v8::Array>();
    auto part = [&](std::uint32_t i) { return parts->Get(context, i).ToLocalChecked(); };
    arrays.keys = part(0).As<v8::Array>();
    arrays.same = part(1).As<v8::Uint8Array>();
    arrays.values = part(2).As<v8::Array>();
    arrays.times = part(3).As<v8::Float64Array>();
    arrays.count = arrays.values->Length();
    return arrays;
  }
  // Keys equal to their value (keyBy(w => w)) are not converted twice.
  arrays.same = v8::Uint8Array::New(v8::ArrayBuffer::New(isolate, n), 0, n);
  auto* same = static_cast<std::uint8_t*>(arrays.same->Buffer()->GetBackingStore()->Data());
  std::vector<v8::Local<v8::Value>> keys(n);
  for (std::size_t i = 0; i < n; ++i) {
    const KeyedValue& kv = batch[i].value;
    if (kv.first == kv.second)
      same[i] = 1;
    else
      keys[i] = convert.toJs(kv.first);
  }
  for (auto& k : keys)
    if (k.IsEmpty()) k = v8::Undefined(isolate);
  arrays.keys = v8::Array::New(isolate, keys.data(), keys.size());
  arrays.values = convert.toJsArray(
      batch, 0, [](const Element<KeyedValue>& e) -> const Value& { return e.value.second; });
  arrays.count = n;
  return arrays;
}

void unpackValues(JsIsolate& js, ValueConverter& convert, v8::Local<v8::Value> packed,
                  std::vector<Value>& out) {
  out.clear();
  if (!packed->IsArray()) return;
  v8::Local<v8::Context> context = js.context();
  v8::Local<v8::Array> parts = packed.As<v8::Array>();
  v8::Local<v8::Value> first = parts->Get(context, 0).ToLocalChecked();
  if (parts->Length() == 2) {
    if (!convert.fromPackedStrings(first.As<v8::String>(),
                                   parts->Get(context, 1).ToLocalChecked().As<v8::Int32Array>(),
                                   out))
      throw Error("internal error: packed strings whose lengths do not add up");
    return;
  }
  Value all = Value::parseJson(toStdString(js.isolate(), first));
  auto& items = all.asArray();
  out.insert(out.end(), std::make_move_iterator(items.begin()),
             std::make_move_iterator(items.end()));
}

JsRollingCore::JsRollingCore(const detail::OperatorInit& init, std::shared_ptr<JsJob> job,
                             JsRollingSpec spec, bool js_keys)
    : state_(std::move(job), init.operator_name, "rolling"),
      spec_(std::move(spec)),
      js_keys_(js_keys) {
  for (const auto& kind : spec_.post_kinds) kindCode(kind);  // unknown kinds fail the build
}

template <class Body>
void JsRollingCore::inIsolate(Body&& body) {
  state_.inIsolate([&](ValueConverter& convert) { makeState(convert); }, body);
}

void JsRollingCore::makeState(ValueConverter& convert) {
  JsIsolate& js = site().current().js();
  v8::Isolate* isolate = js.isolate();
  v8::Local<v8::Context> context = js.context();
  v8::Local<v8::Object> spec = v8::Object::New(isolate);
  auto set = [&](const char* name, v8::Local<v8::Value> v) {
    spec->Set(context, toJsString(isolate, name), v).Check();
  };
  set("reduce", jsNumber(isolate, spec_.reduce));
  set("create", jsNumber(isolate, spec_.aggregate.create));
  set("add", jsNumber(isolate, spec_.aggregate.add));
  set("result", jsNumber(isolate, spec_.aggregate.result));
  std::vector<v8::Local<v8::Value>> post, kinds;
  for (std::size_t i = 0; i < spec_.post_udfs.size(); ++i) {
    post.push_back(jsNumber(isolate, spec_.post_udfs[i]));
    kinds.push_back(jsNumber(isolate, kindCode(spec_.post_kinds[i])));
  }
  set("post", v8::Array::New(isolate, post.data(), post.size()));
  set("postKinds", v8::Array::New(isolate, kinds.data(), kinds.size()));
  state_.make("rollingNew", spec);
  if (restored_.empty()) return;
  std::vector<v8::Local<v8::Value>> keys, accs;
  keys.reserve(restored_.size());
  accs.reserve(restored_.size());
  for (const auto& [key, acc] : restored_) {
    keys.push_back(convert.toJs(key));
    accs.push_back(convert.toJs(acc));
  }
  restored_.clear();
  state_.call("rollingRestore", {v8::Array::New(isolate, keys.data(), keys.size()),
                                 v8::Array::New(isolate, accs.data(), accs.size())});
}

void JsRollingCore::collect(v8::Local<v8::Value> taken, ValueConverter& convert,
                            const Results& results) {
  JsIsolate& js = site().worker().js();
  v8::Local<v8::Context> context = js.context();
  v8::Local<v8::Array> parts = taken.As<v8::Array>();
  auto part = [&](std::uint32_t i) { return parts->Get(context, i).ToLocalChecked(); };
  unpackValues(js, convert, part(0), values_);
  unpackValues(js, convert, part(1), keys_);
  v8::Local<v8::Int32Array> origins = part(2).As<v8::Int32Array>();
  copyTypedArray(origins, origins_, origins->Length());
  if (origins_.size() != values_.size() || (!keys_.empty() && keys_.size() != values_.size()))
    throw Error("internal error: a rolling call returned " + std::to_string(values_.size()) +
                " results and " + std::to_string(origins_.size()) + " origins");
  if (!values_.empty()) results(values_, keys_, origins_);
}

template <class Record>
void JsRollingCore::addFrom(std::vector<v8::Local<v8::Value>> args, ValueConverter& convert,
                            const Results& results, Record&& record) {
  v8::Isolate* isolate = site().worker().js().isolate();
  std::size_t from = 0;
  for (;;) {
    std::vector<v8::Local<v8::Value>> call_args = args;
    call_args[3] = jsNumber(isolate, static_cast<double>(from));
    try {
      collect(state_.call("rollingAdd", std::move(call_args)), convert, results);
      return;
    } catch (const UserCodeError& error) {
      std::size_t failed = site().failedElement(error);  // throws unless dead-lettering
      collect(state_.call("rollingTakeBefore", {}), convert, results);
      site().deadLetter(record(failed));
      from = failed + 1;
    }
  }
}

void JsRollingCore::add(const Batch<KeyedValue>& batch, const Results& results) {
  last_count_ = 0;
  if (batch.empty()) return;
  inIsolate([&](JsIsolate& js, ValueConverter& convert) {
    KeyedArrays arrays = toKeyedArrays(site().worker(), convert, batch, spec_.input_blocks, json_);
    if (spec_.input_blocks) {
      addArrays(js, convert, arrays, results);
      return;
    }
    v8::Isolate* isolate = js.isolate();
    last_count_ = arrays.count;
    addFrom({arrays.keys, arrays.same, arrays.values, v8::Undefined(isolate),
             v8::Undefined(isolate), v8::Boolean::New(isolate, js_keys_)},
            convert, results, [&](std::size_t i) -> Value { return batch[i].value.second; });
  });
}

void JsRollingCore::addParsed(const KeyedArrays& arrays, const Results& results) {
  inIsolate(
      [&](JsIsolate& js, ValueConverter& convert) { addArrays(js, convert, arrays, results); });
}

void JsRollingCore::addArrays(JsIsolate& js, ValueConverter& convert, const KeyedArrays& arrays,
                              const Results& results) {
  v8::Isolate* isolate = js.isolate();
  last_count_ = arrays.count;
  std::vector<double> times;
  copyTypedArray(arrays.times, times, arrays.count);
  block_times_.clear();
  for (double t : times) block_times_.push_back(elementTime(t));
  addFrom({arrays.keys, arrays.same, arrays.values, v8::Undefined(isolate), v8::Undefined(isolate),
           v8::Boolean::New(isolate, js_keys_)},
          convert, results, [&](std::size_t i) -> Value {
            return convert.fromJs(
                arrays.values->Get(js.context(), static_cast<std::uint32_t>(i)).ToLocalChecked());
          });
}

bool JsRollingCore::addChained(const Batch<Value>& batch, const std::vector<int>& udfs,
                               const std::vector<std::string>& kinds, int key_udf,
                               const Results& results) {
  bool done = true;
  inIsolate([&](JsIsolate& js, ValueConverter& convert) {
    v8::Isolate* isolate = js.isolate();
    bool origins_needed = false;
    for (const auto& e : batch)
      origins_needed = origins_needed || e.timestamp != batch[0].timestamp;
    v8::Local<v8::Value> origins = origins_needed ? v8::Local<v8::Value>(v8::Array::New(isolate))
                                                  : v8::Local<v8::Value>(v8::Undefined(isolate));
    try {
      state_.call("rollingChainKeys",
                  {site().worker().chain(udfs, kinds), jsNumber(isolate, key_udf),
                   convert.toJsArray(
                       batch, 0, [](const Element<Value>& e) -> const Value& { return e.value; }),
                   origins});
    } catch (const UserCodeError&) {
      done = false;
      return;
    }
    v8::Local<v8::Value> none = v8::Undefined(isolate);
    // Without origins, every output has the batch's one timestamp: origin 0.
    addFrom({none, none, none, none, none, v8::Boolean::New(isolate, js_keys_)}, convert,
            origins_needed ? results
                           : Results([&](std::vector<Value>& values, std::vector<Value>& keys,
                                         const std::vector<std::int32_t>&) {
                               origins_.assign(values.size(), 0);
                               results(values, keys, origins_);
                             }),
            [&](std::size_t i) -> Value {
              return convert.fromJs(
                  state_.call("rollingPendingValue", {jsNumber(isolate, static_cast<double>(i))}));
            });
  });
  return done;
}

void JsRollingCore::snapshot(StateWriter& w) {
  std::unordered_map<Value, Value> state;
  for (const auto& [key, acc] : restored_) state.insert_or_assign(key, acc);
  if (state_.made()) {
    inIsolate([&](JsIsolate& js, ValueConverter& convert) {
      v8::Local<v8::Context> context = js.context();
      v8::Local<v8::Array> parts = state_.call("rollingSnapshot", {}).As<v8::Array>();
      v8::Local<v8::Array> keys = parts->Get(context, 0).ToLocalChecked().As<v8::Array>();
      v8::Local<v8::Array> accs = parts->Get(context, 1).ToLocalChecked().As<v8::Array>();
      std::vector<Value> key_values, acc_values;
      convert.fromJsArray(keys, keys->Length(), key_values);
      convert.fromJsArray(accs, accs->Length(), acc_values);
      state.reserve(key_values.size());
      for (std::size_t i = 0; i < key_values.size() && i < acc_values.size(); ++i)
        state.insert_or_assign(std::move(key_values[i]), std::move(acc_values[i]));
    });
  }
  w.write(state);
}

void JsRollingCore::restore(const detail::OperatorRestore& r) {
  // Runs on the thread that builds the job: the state waits here until the task's isolate
  // takes it (its first batch).
  for (const auto& bytes : r.previous) {
    if (bytes.empty()) continue;
    StateReader reader(bytes);
    auto previous = reader.read<std::unordered_map<Value, Value>>();
    for (auto& [key, value] : previous)
      if (detail::ownsKey(key, std::hash<Value>{}, r.subtask, r.parallelism, r.max_parallelism))
        restored_.emplace_back(key, std::move(value));
  }
}

}  // namespace lightflus::js
