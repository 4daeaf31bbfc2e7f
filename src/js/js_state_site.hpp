// The state of a JavaScript operator subtask that lives inside V8: rolling reduces
// (js_rolling_operator.hpp), process functions (js_process_operator.hpp) and windows
// (js_window_operator.hpp) keep their state in a table of their helpers (js_*_helpers.hpp),
// under an id the host gives each subtask.
//
// JsStateSite is what those operators share: the id, the worker whose isolate holds the state,
// making the state on first use in a thread's isolate, calls to the helpers with the id first,
// and dropping the state when the operator closes. The operators keep their spec, what the
// helpers return (collect()) and their snapshots.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "js_operators.hpp"

namespace lightflus::js {

/// A JS number.
inline v8::Local<v8::Number> jsNumber(v8::Isolate* isolate, double v) {
  return v8::Number::New(isolate, v);
}

/// One operator subtask's state in the isolate of its worker thread.
///
///   JsStateSite state(job, init.operator_name, "rolling");
///   state.inIsolate(
///       [&](ValueConverter&) { state.make("rollingNew", spec); },  // first use in an isolate
///       [&](JsIsolate& js, ValueConverter& convert) { state.call("rollingAdd", {...}); });
///   state.close("rollingDrop");
class JsStateSite {
 public:
  /// `kind` names the state in internal errors ("rolling", "process", "window"). A state that
  /// lasts one batch (`one_batch`, a combiner's) may be made again in another thread's isolate;
  /// any other stays in the isolate it was made in.
  JsStateSite(std::shared_ptr<JsJob> job, std::string operator_name, std::string kind,
              bool one_batch = false);

  /// Takes the worker of the calling thread.
  void open() { site_.open(); }
  /// Drops the state from its isolate with the helper `drop` (called with the id), then lets go
  /// of the worker.
  void close(std::string_view drop);

  /// Runs body(js, convert) in the calling thread's isolate (scopes entered, failures tagged
  /// with the operator's name). The first time in that isolate, make(convert) runs before it and
  /// must make the state there with make().
  template <class Make, class Body>
  void inIsolate(Make&& make, Body&& body) {
    detail::guarded(site_.operatorName(), [&] {
      JsWorker& worker = site_.current();
      JsIsolate& js = worker.js();
      JsIsolate::Scope scope(js);
      v8::HandleScope handles(js.isolate());
      v8::TryCatch try_catch(js.isolate());
      ValueConverter convert(js.isolate(), js.context());
      if (state_worker_ != &worker) {
        if (state_worker_ != nullptr && !one_batch_)
          throw Error("internal error: the " + kind_ + " state is in another thread's isolate");
        make(convert);
      }
      body(js, convert);
    });
  }

  /// Makes the state in the current worker's isolate: the helper `helper(id, spec)`.
  void make(std::string_view helper, v8::Local<v8::Value> spec);
  /// Calls a helper with the state's id before `args`.
  v8::Local<v8::Value> call(std::string_view helper, std::vector<v8::Local<v8::Value>> args);

  /// The state was made (and not dropped).
  bool made() const noexcept { return state_worker_ != nullptr; }
  JsCallSite& site() noexcept { return site_; }

 private:
  JsCallSite site_;
  const std::string kind_;
  const bool one_batch_;
  const std::int64_t id_;             // the state's id in the isolate
  JsWorker* state_worker_ = nullptr;  // where the state is
};

}  // namespace lightflus::js
