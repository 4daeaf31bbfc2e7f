#include "js_state_site.hpp"

#include <atomic>

namespace lightflus::js {

namespace {

// Ids are unique in the process, so states of every kind can share an isolate's tables.
std::int64_t nextStateId() {
  static std::atomic<std::int64_t> next{1};
  return next.fetch_add(1, std::memory_order_relaxed);
}

}  // namespace

JsStateSite::JsStateSite(std::shared_ptr<JsJob> job, std::string operator_name, std::string kind,
                         bool one_batch)
    : site_(std::move(job), std::move(operator_name)),
      kind_(std::move(kind)),
      one_batch_(one_batch),
      id_(nextStateId()) {}

void JsStateSite::close(std::string_view drop) {
  if (state_worker_ != nullptr) {
    JsIsolate& js = site_.current().js();
    JsIsolate::Scope scope(js);
    v8::HandleScope handles(js.isolate());
    v8::TryCatch try_catch(js.isolate());
    v8::Local<v8::Value> args[] = {jsNumber(js.isolate(), static_cast<double>(id_))};
    try {
      js.call(site_.label(), site_.worker().helper(drop), v8::Undefined(js.isolate()), args);
    } catch (const std::exception&) {
      // The isolate is going away with the job anyway.
    }
    state_worker_ = nullptr;
  }
  site_.close();
}

void JsStateSite::make(std::string_view helper, v8::Local<v8::Value> spec) {
  JsWorker& worker = site_.current();
  JsIsolate& js = worker.js();
  v8::Local<v8::Value> args[] = {jsNumber(js.isolate(), static_cast<double>(id_)), spec};
  js.call(site_.label(), worker.helper(helper), v8::Undefined(js.isolate()), args);
  state_worker_ = &worker;
}

v8::Local<v8::Value> JsStateSite::call(std::string_view helper,
                                       std::vector<v8::Local<v8::Value>> args) {
  JsIsolate& js = site_.worker().js();
  args.insert(args.begin(), jsNumber(js.isolate(), static_cast<double>(id_)));
  return js.call(site_.label(), site_.worker().helper(helper), v8::Undefined(js.isolate()), args);
}

}  // namespace lightflus::js
