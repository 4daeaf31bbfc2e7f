// JsIsolate: one V8 isolate with one context, where a job's JavaScript runs.
//
// An isolate is V8's unit of isolation: its own heap, single-threaded. The engine gives each
// worker thread its own JsIsolate (and the Transpiler has one). A JsIsolate adds to plain V8
// what running untrusted job code needs:
// - a sandbox: the context holds only the ECMAScript built-ins and `console` (no require,
//   process, file or network access; WebAssembly is off);
// - a heap limit (default 512 MiB) on the live JavaScript heap, checked after each full GC:
//   when exceeded, the running script is terminated instead of V8 aborting the process, and
//   the isolate is discarded (outOfMemory(); every later call throws). Destroy it and create a
//   new one. V8's own limit is set to twice the job's (at least +64 MiB) as headroom for
//   unwinding and for single large allocations; one allocation larger than that headroom can
//   still make V8 end the process (docs/v8.md);
// - a time limit per call (default 10 s), enforced by a Watchdog thread. A call that exceeds it
//   is terminated and reported; the isolate stays usable afterwards;
// - errors as lightflus::UserCodeError with the user's file, line and column, mapped back
//   through a SourceMap when the script was transpiled from TypeScript or bundled, and
//   located at the job's own line when the host's library threw; a promise rejected
//   without a handler during a call (an async function that threw) fails that call too:
//     job.ts:12:7: ReferenceError: foo is not defined            (evaluate)
//     operator 'map': Error: boom (at job.ts:12:7)                (call)
//     operator 'map': user function exceeded the 10 s time limit
//     operator 'map': JavaScript heap limit of 512 MiB exceeded
//     job.ts:3:9: unhandled promise rejection: Error: no brokers
//
// Everything that touches V8 handles happens inside a JsIsolate::Scope on the using thread.
#pragma once

#include <v8-context.h>
#include <v8-exception.h>
#include <v8-function.h>
#include <v8-isolate.h>
#include <v8-locker.h>
#include <v8-message.h>
#include <v8-persistent-handle.h>
#include <v8-promise.h>
#include <v8-script.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "array_buffer_allocator.hpp"
#include "console.hpp"
#include "source_map.hpp"
#include "watchdog.hpp"

namespace lightflus::js {

/// Limits and identity of a JsIsolate.
struct JsIsolateOptions {
  /// The job's name: the prefix of its console output.
  std::string job_name = "job";
  /// Upper bound of the JavaScript heap, in bytes; ArrayBuffer contents get a budget of the
  /// same size besides.
  std::size_t heap_limit = std::size_t{512} << 20;
  /// Longest a single evaluate() or call() may run; zero disables the watchdog.
  std::chrono::milliseconds time_limit = std::chrono::seconds(10);
  /// Where console output goes; empty: stderr, prefixed with `[job_name] `.
  ConsoleSink console;
};

/// One V8 isolate and its context, with limits. Not copyable or movable. Usable from any
/// thread, one thread at a time (Scope takes V8's lock).
///
///   JsIsolate js({.job_name = "wordcount"});
///   JsIsolate::Scope scope(js);
///   js.evaluate("function twice(x) { return 2 * x; }", "job.js");
///   v8::Local<v8::Value> args[] = {v8::Number::New(js.isolate(), 21)};
///   double answer = js.callGlobal("twice", args).As<v8::Number>()->Value();  // 42
class JsIsolate {
 public:
  /// Enters the isolate and its context on this thread, with a HandleScope for the handles
  /// made meanwhile. On leaving, runs the tasks V8 posted for the isolate.
  class Scope {
   public:
    explicit Scope(JsIsolate& js);
    ~Scope();
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;

   private:
    JsIsolate& js_;
    v8::Locker locker_;
    v8::Isolate::Scope isolate_scope_;
    v8::HandleScope handle_scope_;
    v8::Context::Scope context_scope_;
  };

  explicit JsIsolate(JsIsolateOptions options = {});
  ~JsIsolate();

  JsIsolate(const JsIsolate&) = delete;
  JsIsolate& operator=(const JsIsolate&) = delete;

  v8::Isolate* isolate() const noexcept { return isolate_.get(); }
  v8::Local<v8::Context> context() const { return context_.Get(isolate_.get()); }
  const JsIsolateOptions& options() const noexcept { return options_; }

  /// True once the heap limit was hit: the isolate is discarded and every further evaluate()
  /// or call() throws UserCodeError. Destroy it and create a new one.
  bool outOfMemory() const noexcept { return out_of_memory_.load(); }

  /// Maps error positions in the script named `resource_name` through `map` (for scripts
  /// transpiled from TypeScript: the name is the .ts file's, the positions the .ts ones; for
  /// a bundle, the names and positions of the files it was made of).
  void addSourceMap(const std::string& resource_name, SourceMap map);

  /// Marks the script named `resource_name` as the host's library (the lightflus runtime and
  /// its helpers): an error thrown inside it on the job's behalf (`require("fs")` in a UDF, a
  /// builder's ConfigError) is located at the innermost frame of the error's stack outside
  /// such scripts, the job's line that called into the library.
  void addLibraryScript(std::string resource_name);

  /// Compiles a classic script. `line_offset` lines precede it in the file `resource_name`.
  /// Throws UserCodeError `resource:line:col: SyntaxError: ...`.
  v8::Local<v8::Script> compile(std::string_view source, const std::string& resource_name,
                                int line_offset = 0);

  /// compile() consuming V8 code cache data made by codeCache() for the same source, which
  /// skips most of the parsing and compiling. V8 checks that the data fits (V8 version, flags,
  /// source); `cache_accepted` says whether it did. A rejected cache only costs the time it
  /// would have saved.
  v8::Local<v8::Script> compile(v8::Local<v8::String> source, const std::string& resource_name,
                                std::span<const std::uint8_t> code_cache, bool& cache_accepted);

  /// V8's code cache for `script`: its compiled code, including the functions compiled while
  /// it ran, for compile() in another isolate or process of the same build.
  static std::vector<std::uint8_t> codeCache(v8::Local<v8::Script> script);

  /// Runs a compiled script under the time limit and returns its completion value. Throws
  /// UserCodeError `resource:line:col: message` (uncaught exception) or a limit message.
  v8::Local<v8::Value> run(v8::Local<v8::Script> script);

  /// compile() and run() in one.
  v8::Local<v8::Value> evaluate(std::string_view source, const std::string& resource_name,
                                int line_offset = 0);

  /// Runs `javascript` as a CommonJS module body, with `exports`, `require` and `module` bound
  /// as in Node (line and column numbers are unchanged: no wrapper text is added). Returns
  /// module.exports. Errors as for evaluate().
  v8::Local<v8::Value> evaluateModule(std::string_view javascript, const std::string& resource_name,
                                      v8::Local<v8::Function> require);

  /// Calls `function` with `receiver` as `this` under the time limit. `label` names the caller
  /// in errors, e.g. "operator 'map'": `operator 'map': Error: boom (at job.ts:12:7)`.
  /// Must not be called from inside a V8 callback (the error would unwind V8's frames).
  v8::Local<v8::Value> call(std::string_view label, v8::Local<v8::Function> function,
                            v8::Local<v8::Value> receiver,
                            std::span<const v8::Local<v8::Value>> args = {});

  /// The global function `name`. Throws ConfigError when there is none.
  v8::Local<v8::Function> globalFunction(std::string_view name);

  /// Calls the global function `name`; errors are labelled `function 'name'`.
  v8::Local<v8::Value> callGlobal(std::string_view name,
                                  std::span<const v8::Local<v8::Value>> args = {});

 private:
  static constexpr std::uint32_t kIsolateSlot = 0;  // v8::Isolate::GetData() -> this

  struct IsolateDisposer {
    void operator()(v8::Isolate* isolate) const noexcept { isolate->Dispose(); }
  };

  // Who runs: a script (errors lead with the position) or a function (errors lead with the
  // caller's label, e.g. "operator 'map'").
  enum class Caller { kScript, kFunction };

  // Runs `body` (which calls into JavaScript) under the watchdog and turns a failure into a
  // UserCodeError. `name` is the script's resource name or the function's label.
  template <typename Body>
  v8::Local<v8::Value> execute(Caller caller, std::string_view name, Body&& body);

  v8::Local<v8::Script> compile(v8::Local<v8::String> source, const std::string& resource_name,
                                int line_offset, std::span<const std::uint8_t> code_cache,
                                bool& cache_accepted);
  std::string describe(v8::TryCatch& try_catch, Caller caller, std::string_view name,
                       bool timed_out) const;
  std::string location(v8::Local<v8::Message> message, v8::Local<v8::Value> exception) const;
  // The innermost frame of `exception`'s stack in a script that is not a library one:
  // resource and position; nullopt when the stack names none.
  std::optional<std::pair<std::string, SourcePosition>> callerFrame(
      v8::Local<v8::Value> exception) const;
  void throwIfDiscarded(Caller caller, std::string_view name) const;

  static std::string format(Caller caller, std::string_view name, const std::string& text,
                            const std::string& where);
  void exceedHeapLimit();
  static void onPromiseRejected(v8::PromiseRejectMessage message);
  static void onGarbageCollected(v8::Isolate* isolate, v8::GCType type, v8::GCCallbackFlags flags,
                                 void* data);
  static std::size_t onNearHeapLimit(void* data, std::size_t current_limit,
                                     std::size_t initial_limit);

  JsIsolateOptions options_;
  ArrayBufferAllocator allocator_;  // outlives the isolate
  std::unique_ptr<v8::Isolate, IsolateDisposer> isolate_;
  v8::Global<v8::Context> context_;
  Console console_;
  Watchdog watchdog_;
  std::map<std::string, SourceMap, std::less<>> source_maps_;
  std::set<std::string, std::less<>> library_scripts_;
  // Promises rejected with no handler during the current call (promise, reason).
  std::vector<std::pair<v8::Global<v8::Promise>, v8::Global<v8::Value>>> unhandled_rejections_;
  int depth_ = 0;  // nesting of calls into JavaScript on the owning thread
  std::atomic<bool> out_of_memory_{false};
};

}  // namespace lightflus::js
