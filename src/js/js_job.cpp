#include "js_job.hpp"

#include <v8-container.h>
#include <v8-json.h>
#include <v8-object.h>
#include <v8-primitive.h>
#include <v8-promise.h>

#include <cstdio>
#include <utility>

#include "embedded_runtime.hpp"
#include "js_nexmark.hpp"
#include "js_process_helpers.hpp"
#include "js_rolling_helpers.hpp"
#include "js_window_helpers.hpp"
#include "lightflus/error.hpp"
#include "strings.hpp"
#include "transpiler.hpp"

namespace lightflus::js {

namespace {

// Host helpers, evaluated after the runtime in every worker. They call UDFs by id over a whole
// batch (one call into JavaScript per batch) and keep lightflus.__chainPosition up to date, as
// __runChain does, so that a failing element can be found (docs/js-graph.md, section 7).
// Object results of reduce and aggregate are copied as JSON at once: original jobs mutate and
// return their accumulator, and a later element must not change an earlier element's output.
constexpr std::string_view kHostHelpers = R"js((function (lf) {
  "use strict";
  const udfs = lf.__udfs;
  const pos = lf.__chainPosition;
  const begin = (udf, kind, output) => {
    pos.udf = udf; pos.kind = kind; pos.output = output; pos.index = -1; pos.outputLength = 0;
  };
  const at = (i) => { pos.index = i; pos.outputLength = i; };
  // A value as JSON text ("null" for what JSON.stringify leaves out).
  const toJson = (v) => {
    const t = JSON.stringify(v);
    return t === undefined ? "null" : t;
  };
  // An array of strings as their concatenation and an Int32Array of their lengths (the host
  // copies one string out of V8 instead of one per element); undefined if one is not a string.
  const packStrings = (values) => {
    const n = values.length, lengths = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const v = values[i];
      if (typeof v !== "string") return undefined;
      lengths[i] = v.length;
    }
    return [values.join(""), lengths];
  };
  // Values packed for the host (unpackValues in js_rolling_operator.cpp): packStrings' form when
  // every one is a string, else [JSON text of the array] (`json`: the values are JSON texts
  // already).
  const pack = (values, json) => {
    if (json) return ["[" + values.join(",") + "]"];
    return packStrings(values) || ["[" + values.map(toJson).join(",") + "]"];
  };
  return {
    // Shared with the window, rolling and process helpers (js_*_helpers.hpp).
    toJson,
    packStrings,
    pack,
    // Keys, and same[i] = 1 where the key is the element itself (keyBy(w => w)): the host then
    // reuses the element instead of converting the key.
    keys(udf, input, same) {
      const f = udfs[udf], n = input.length, out = new Array(n);
      begin(udf, "keyBy", out);
      for (let i = 0; i < n; i++) {
        at(i);
        const k = f(input[i]);
        if (k === input[i]) same[i] = 1; else out[i] = k;
      }
      pos.outputLength = n;
      return out;
    },
    // keys() for key-group blocks: every key, as the JSON text of their array (one
    // JSON.stringify per batch; the host splits it). After a throw, pos.output has the keys
    // before the failing element.
    keyTexts(udf, input) {
      const f = udfs[udf], n = input.length, out = new Array(n);
      begin(udf, "keyBy", out);
      for (let i = 0; i < n; i++) {
        at(i);
        out[i] = f(input[i]);
      }
      pos.outputLength = n;
      return JSON.stringify(out);
    },
    // For a keyed reader in the same task (js_keyed_reader.hpp): [keys, values] of
    // values[0, count), keys from keys() or timedKeys() (with `same`) made what key-group blocks
    // carry (their JSON text, parsed): strings and finite numbers as they are, anything else a
    // copy through JSON (undefined as null).
    plainKeys(keys, same, values, count) {
      const out = new Array(count);
      for (let i = 0; i < count; i++) {
        const k = same[i] === 1 ? values[i] : keys[i];
        out[i] = typeof k === "string" ||
            (typeof k === "number" && Number.isFinite(k) && !Object.is(k, -0))
          ? k : JSON.parse(toJson(k));
      }
      return [out, values.length === count ? values : values.slice(0, count)];
    },
    // An assignTimestamps and the keyBy after it in one pass over the batch: [times (a
    // Float64Array), keys], keys as keys() gives them (with `same`) or, with `json`, as
    // keyTexts() does. After a throw, pos.udf is the function that threw, pos.output holds the
    // times and pos.keys the keys of the elements before it (and the failing element's time
    // when its key function threw).
    timedKeys(timeUdf, keyUdf, input, same, json) {
      const t = udfs[timeUdf], f = udfs[keyUdf], n = input.length;
      const times = new Float64Array(n), keys = new Array(n);
      begin(timeUdf, "assignTimestamps", times);
      pos.keys = keys;
      for (let i = 0; i < n; i++) {
        at(i);
        pos.udf = timeUdf; pos.kind = "assignTimestamps";
        const e = input[i], time = t(e);
        if (typeof time !== "number" || !Number.isFinite(time)) {
          throw new TypeError("the assignTimestamps() function returned " + String(time) +
              "; it must return the event time in milliseconds since the epoch (a finite number)");
        }
        times[i] = time;
        pos.udf = keyUdf; pos.kind = "keyBy";
        const k = f(e);
        if (k === e && !json) same[i] = 1; else keys[i] = k;
      }
      pos.outputLength = n;
      return [times, json ? JSON.stringify(keys) : keys];
    },
    // A chain (a function from __compileChain) and the keyBy after it in one call:
    // [outputs, keys, same], keys and same as in keys() but over the chain's outputs.
    // Keys that differ from their element are listed in order, the others marked in same.
    // When every output is a string they come packed (see packStrings) in [3] and [4].
    // With `json`, the outputs and the keys (every one) go as two JSON texts in [3] and [5],
    // for key-group blocks (js_blocks.hpp): one JSON.stringify per batch each, the host splits
    // them. Otherwise keys that are all strings come packed in [5] and [6] (each undefined
    // when not packed). With `track`, [7] is an Int32Array of each output's index in `input`
    // (the host copies it at once), else undefined. `json` 2: every key listed as with 1, and
    // nothing packed (for a keyed reader in the same task, js_keyed_reader.hpp).
    chainKeys(chain, udf, input, track, json) {
      const origins = track ? [] : undefined;
      const out = chain(input, origins);
      const f = udfs[udf], n = out.length, keys = [], same = new Uint8Array(n);
      begin(udf, "keyBy", keys);
      for (let i = 0; i < n; i++) {
        at(i);
        const k = f(out[i]);
        if (k === out[i] && !json) same[i] = 1; else keys.push(k);
      }
      pos.outputLength = n;
      const from = track ? Int32Array.from(origins) : undefined;
      if (json === 2) return [out, keys, same, undefined, undefined, undefined, undefined, from];
      if (json) {
        return [out, keys, same, JSON.stringify(out), undefined, JSON.stringify(keys), undefined,
                from];
      }
      const packed = packStrings(out);
      const packedKeys = keys.length > 0 ? packStrings(keys) : undefined;
      return [out, keys, same, packed && packed[0], packed && packed[1],
              packedKeys && packedKeys[0], packedKeys && packedKeys[1], from];
    },
    timestamps(udf, input) {
      const f = udfs[udf], n = input.length, out = new Float64Array(n);
      begin(udf, "assignTimestamps", out);
      for (let i = 0; i < n; i++) {
        at(i);
        const t = f(input[i]);
        if (typeof t !== "number" || !Number.isFinite(t)) {
          throw new TypeError("the assignTimestamps() function returned " + String(t) +
              "; it must return the event time in milliseconds since the epoch (a finite number)");
        }
        out[i] = t;
      }
      pos.outputLength = n;
      return out;
    },
    // Window folds keep the accumulator so far in pos.acc / pos.has: after a failing element
    // the host goes on from there.
    fold(udf, has, acc, values) {
      const f = udfs[udf], n = values.length;
      begin(udf, "reduce", []);
      let a = acc, i = 0;
      if (!has && n > 0) { a = values[0]; i = 1; has = true; }
      pos.acc = a; pos.has = has;
      for (; i < n; i++) { at(i); a = f(a, values[i]); pos.acc = a; }
      return a;
    },
    aggregateAdd(create, add, has, acc, values) {
      const n = values.length;
      begin(create, "aggregate", []);
      let a = has ? acc : udfs[create]();
      pos.acc = a; pos.has = true;
      pos.udf = add;
      for (let i = 0; i < n; i++) { at(i); a = udfs[add](values[i], a); pos.acc = a; }
      return a;
    },
    call(udf, a, b, c) {
      begin(udf, "call", []);
      return udfs[udf](a, b, c);
    },
  };
}))js";

std::string baseName(const std::string& file_name) {
  auto slash = file_name.find_last_of('/');
  return slash == std::string::npos ? file_name : file_name.substr(slash + 1);
}

bool isTypeScript(const std::string& file_name) {
  for (std::string_view ext : {".ts", ".mts", ".cts"})
    if (file_name.size() > ext.size() && file_name.ends_with(ext)) return true;
  return false;
}

v8::Local<v8::Value> property(JsIsolate& js, v8::Local<v8::Object> object, std::string_view name) {
  return object->Get(js.context(), toJsString(js.isolate(), name)).ToLocalChecked();
}

v8::Local<v8::Function> functionProperty(JsIsolate& js, v8::Local<v8::Object> object,
                                         std::string_view name) {
  v8::Local<v8::Value> value = property(js, object, name);
  if (!value->IsFunction())
    throw ConfigError("the lightflus runtime has no function " + std::string(name));
  return value.As<v8::Function>();
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// JsWorker

JsWorker::JsWorker(std::shared_ptr<const JobCode> code) : code_(std::move(code)) {
  const JsJobOptions& options = code_->options;
  const std::string file = baseName(options.file_name);
  js_ = std::make_unique<JsIsolate>(JsIsolateOptions{.job_name = file,
                                                     .heap_limit = options.heap_limit,
                                                     .time_limit = options.time_limit,
                                                     .console = options.console});
  JsIsolate::Scope scope(*js_);
  try {
    load();
  } catch (...) {
    // The handles go before the isolate, inside it.
    chains_.clear();
    udfs_.Reset();
    helpers_.Reset();
    runtime_.Reset();
    throw;
  }
}

void JsWorker::load() {
  JsIsolate& js = *js_;
  v8::Isolate* isolate = js.isolate();
  v8::Local<v8::Context> context = js.context();
  const JsJobOptions& options = code_->options;
  const std::string file = baseName(options.file_name);
  if (code_->source_map) js.addSourceMap(file, *code_->source_map);
  // An error the runtime or a helper throws for the job (require("fs") in a UDF, a builder's
  // ConfigError) is reported at the job's line that called it.
  for (const char* library : {"lightflus-runtime.js", "lightflus-host.js",
                              "lightflus-host-helpers.js", "lightflus-window-helpers.js",
                              "lightflus-rolling-helpers.js", "lightflus-process-helpers.js"})
    js.addLibraryScript(library);

  // 1. The runtime bundle: globalThis.lightflus.
  js.evaluate(embeddedRuntime(), "lightflus-runtime.js");
  v8::Local<v8::Object> global = context->Global();
  v8::Local<v8::Value> runtime = property(js, global, "lightflus");
  if (!runtime->IsObject()) throw ConfigError("the lightflus runtime did not install lightflus");
  runtime_.Reset(isolate, runtime.As<v8::Object>());
  udfs_.Reset(isolate, property(js, runtime.As<v8::Object>(), "__udfs").As<v8::Array>());

  // 2. The host object: params, and a submit() that keeps the graph as JSON.
  v8::Local<v8::Object> params = v8::Object::New(isolate);
  for (const auto& [name, value] : options.params)
    params->Set(context, toJsString(isolate, name), toJsString(isolate, value)).Check();
  js.evaluate(
      "globalThis.__lightflusHost = { submit(graph) {"
      " if (globalThis.__lightflusGraph !== undefined) throw new Error('execute() was called for"
      " a second job; a job file runs one job');"
      " globalThis.__lightflusGraph = JSON.stringify(graph); } };",
      "lightflus-host.js");
  v8::Local<v8::Object> host = property(js, global, "__lightflusHost").As<v8::Object>();
  host->Set(context, toJsString(isolate, "params"), params).Check();
  helpers_.Reset(isolate, js.evaluate(kHostHelpers, "lightflus-host-helpers.js")
                              .As<v8::Function>()
                              ->Call(context, global, 1, &runtime)
                              .ToLocalChecked()
                              .As<v8::Object>());
  v8::Local<v8::Value> window_args[] = {runtime, helpers_.Get(isolate)};
  js.evaluate(kWindowHelpers, "lightflus-window-helpers.js")
      .As<v8::Function>()
      ->Call(context, global, 2, window_args)
      .ToLocalChecked();
  js.evaluate(kRollingHelpers, "lightflus-rolling-helpers.js")
      .As<v8::Function>()
      ->Call(context, global, 2, window_args)
      .ToLocalChecked();
  js.evaluate(kProcessHelpers, "lightflus-process-helpers.js")
      .As<v8::Function>()
      ->Call(context, global, 2, window_args)
      .ToLocalChecked();
  js.evaluate(kNexmarkHelpers, "lightflus-nexmark-helpers.js")
      .As<v8::Function>()
      ->Call(context, global, 2, window_args)
      .ToLocalChecked();

  // 3. Wrap, compile and run the job (docs/js-graph.md, section 2).
  v8::Local<v8::Value> wrap_args[] = {toJsString(isolate, code_->javascript),
                                      toJsString(isolate, file)};
  std::string wrapped =
      toStdString(isolate, js.call("lightflus.__wrapJob",
                                   functionProperty(js, runtime.As<v8::Object>(), "__wrapJob"),
                                   runtime, wrap_args));
  v8::Local<v8::Value> job_function = js.evaluate(wrapped, file);
  v8::Local<v8::Value> run_args[] = {job_function, toJsString(isolate, file)};
  v8::Local<v8::Value> outcome = js.call(
      "job " + file, functionProperty(js, runtime.As<v8::Object>(), "__runJob"), runtime, run_args);
  if (outcome->IsPromise()) {
    auto promise = outcome.As<v8::Promise>();
    if (promise->State() == v8::Promise::kPending)
      throw UserCodeError("job " + file +
                          ": the job's entry point did not finish (a job has no timers or I/O, "
                          "so a promise it awaits never settles)");
    if (promise->State() == v8::Promise::kRejected)
      throw UserCodeError("job " + file + ": " + toStdString(isolate, promise->Result()));
  }
  v8::Local<v8::Value> graph = property(js, global, "__lightflusGraph");
  if (!graph->IsString())
    throw ConfigError("job " + file + " submitted no graph: end a stream with .execute()");
  graph_json_ = toStdString(isolate, graph);
}

JsWorker::~JsWorker() {
  JsIsolate::Scope scope(*js_);
  chains_.clear();
  udfs_.Reset();
  helpers_.Reset();
  runtime_.Reset();
}

v8::Local<v8::Function> JsWorker::udf(int id) {
  v8::Local<v8::Value> fn;
  if (id < 0 ||
      !udfs_.Get(js_->isolate())
           ->Get(js_->context(), static_cast<std::uint32_t>(id))
           .ToLocal(&fn) ||
      !fn->IsFunction())
    throw ConfigError("the graph refers to UDF " + std::to_string(id) + ", which the job has not");
  return fn.As<v8::Function>();
}

v8::Local<v8::Function> JsWorker::helper(std::string_view name) {
  return functionProperty(*js_, helpers_.Get(js_->isolate()), name);
}

v8::Local<v8::Function> JsWorker::chain(const std::vector<int>& udf_ids,
                                        const std::vector<std::string>& kinds) {
  std::string key;
  for (std::size_t i = 0; i < udf_ids.size(); ++i)
    key += std::to_string(udf_ids[i]) + kinds[i] + ",";
  if (auto it = chains_.find(key); it != chains_.end()) return it->second.Get(js_->isolate());
  v8::Isolate* isolate = js_->isolate();
  v8::Local<v8::Context> context = js_->context();
  std::vector<v8::Local<v8::Value>> ids, names;
  for (std::size_t i = 0; i < udf_ids.size(); ++i) {
    ids.push_back(v8::Number::New(isolate, udf_ids[i]));
    names.push_back(toJsString(isolate, kinds[i]));
  }
  v8::Local<v8::Value> args[] = {v8::Array::New(isolate, ids.data(), ids.size()),
                                 v8::Array::New(isolate, names.data(), names.size())};
  v8::Local<v8::Object> runtime = runtime_.Get(isolate);
  v8::Local<v8::Value> compiled = js_->call(
      "lightflus.__compileChain", functionProperty(*js_, runtime, "__compileChain"), runtime, args);
  (void)context;
  auto fn = compiled.As<v8::Function>();
  chains_.emplace(std::move(key), v8::Global<v8::Function>(isolate, fn));
  return fn;
}

v8::Local<v8::Object> JsWorker::chainPosition() {
  return property(*js_, runtime_.Get(js_->isolate()), "__chainPosition").As<v8::Object>();
}

// ---------------------------------------------------------------------------------------------
// JsJob

std::shared_ptr<JsJob> JsJob::load(std::string_view source, JsJobOptions options) {
  auto code = std::make_shared<JobCode>();
  const std::string file = baseName(options.file_name);
  if (isTypeScript(file)) {
    TranspiledModule module = Transpiler::shared().transpile(source, file);
    code->javascript = std::move(module.javascript);
    code->source_map = std::move(module.source_map);
  } else {
    code->javascript = std::string(source);
    if (!options.source_map.empty()) {
      try {
        code->source_map = SourceMap::fromJson(options.source_map);
      } catch (const Error& e) {
        throw ConfigError("the job's " + std::string(e.what()));
      }
    }
  }
  code->options = std::move(options);
  std::shared_ptr<JsJob> job(new JsJob(code));
  job->spare_ = std::make_shared<JsWorker>(code);
  job->graph_json_ = job->spare_->graphJson();
  job->graph_ = Value::parseJson(job->graph_json_);
  // UDF id -> operator name, for errors. UDFs sit in `udf`, in `aggregate`'s parts and in
  // connector options (extractors).
  const Value& operators = std::as_const(job->graph_)["operators"];
  if (operators.isArray()) {
    for (const Value& op : operators.asArray()) {
      std::string name = op["name"].isString() ? std::string(op["name"].asString()) : "?";
      auto note = [&](const Value& udf) {
        if (udf.isInt()) job->udf_operators_.emplace(static_cast<int>(udf.asInt()), name);
      };
      note(op["udf"]);
      for (const char* part : {"createAccumulator", "add", "getResult", "merge"})
        note(op["aggregate"][part]);
      for (const char* part : {"processElement", "processElement1", "processElement2", "onTimer"})
        note(op["process"][part]);
      for (const char* field : {"keyExtractor", "valueExtractor", "idExtractor"})
        note(op["connector"][field]);
      if (op["connector"]["parameters"].isArray())
        for (const Value& p : op["connector"]["parameters"].asArray()) note(p["extractor"]);
    }
  }
  return job;
}

std::string JsJob::operatorOfUdf(int udf, std::string_view fallback) const {
  auto it = udf_operators_.find(udf);
  return it != udf_operators_.end() ? it->second : std::string(fallback);
}

std::shared_ptr<JsWorker> JsJob::worker() {
  const auto self = std::this_thread::get_id();
  std::lock_guard lock(mutex_);
  if (auto it = workers_.find(self); it != workers_.end()) return it->second;
  std::shared_ptr<JsWorker> worker = std::move(spare_);
  if (!worker) {
    worker = std::make_shared<JsWorker>(code_);
    if (worker->graphJson() != graph_json_)
      throw ConfigError(
          "the job built a different graph in another worker isolate; a job must build its "
          "graph deterministically (no Math.random() or Date.now() in the shape of the graph "
          "or the order of its functions)");
  }
  workers_[self] = worker;
  return worker;
}

void JsJob::terminate() {
  std::lock_guard lock(mutex_);
  for (auto& [thread, worker] : workers_) worker->js().isolate()->TerminateExecution();
}

void JsJob::deadLetter(std::string_view operator_name, std::string_view error,
                       const Value& record) const {
  Value letter = Value::object();
  letter["job"] = Value(graph_["job"]["name"]);
  letter["operator"] = Value(operator_name);
  letter["error"] = Value(error);
  letter["record"] = record;
  Value line = Value::object();
  line["deadLetter"] = std::move(letter);
  std::string text = line.toJson();
  {
    std::lock_guard lock(mutex_);
    auto it = dead_letter_counts_.find(operator_name);
    if (it == dead_letter_counts_.end())
      it = dead_letter_counts_.emplace(std::string(operator_name), 0).first;
    ++it->second;
  }
  if (code_->options.dead_letters) {
    code_->options.dead_letters(text);
    return;
  }
  static std::mutex stderr_mutex;
  std::lock_guard lock(stderr_mutex);
  text.push_back('\n');
  std::fwrite(text.data(), 1, text.size(), stderr);
}

std::map<std::string, std::uint64_t> JsJob::deadLetterCounts() const {
  std::lock_guard lock(mutex_);
  return {dead_letter_counts_.begin(), dead_letter_counts_.end()};
}

}  // namespace lightflus::js
