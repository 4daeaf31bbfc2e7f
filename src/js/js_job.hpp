// JsJob: a TypeScript or JavaScript job, loaded once and evaluated in one isolate per worker.
//
// Loading a job (JsJob::load) transpiles it (TypeScript, inside V8: see transpiler.hpp), then
// evaluates it in a first JsWorker, following docs/js-graph.md: the runtime bundle
// (globalThis.lightflus), the host object (__lightflusHost with the job's params and a submit()
// that records the graph), __wrapJob, compile, __runJob. The graph the job submitted is the
// job's logical graph (JSON), which JsGraphBuilder turns into engine operators.
//
// The operators then call the job's functions (UDFs) by id, in a JsWorker of their own thread:
// JsJob::worker() returns the worker of the calling thread, creating it on first use (the first
// one is the worker that loaded the job). Every worker evaluates the same job and must record
// the same graph, so that UDF ids agree: a worker whose graph differs fails the job ("the job
// built a different graph in another isolate: ..."). Workers go away with the last operator
// holding them.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "js_isolate.hpp"
#include "lightflus/value.hpp"
#include "source_map.hpp"

namespace lightflus::js {

/// What happens to a record whose UDF throws.
enum class ErrorPolicy {
  kFail,        ///< the job fails with the UDF's error (default)
  kDeadLetter,  ///< the record goes to the dead-letter output and the job goes on
};

/// Receives one dead-letter line (JSON, without a newline); called from worker threads.
using DeadLetterSink = std::function<void(std::string_view line)>;

struct JsJobOptions {
  /// The job's file name as errors show it, e.g. "wordCount.ts"; its base name is the job's
  /// default name and the name of the function the host runs for the scaffold convention.
  std::string file_name = "job.ts";
  /// For a JavaScript job: its source map (version 3, JSON), e.g. the one `lightflus apply`
  /// sends with the bundle it made. Errors then name the files, lines and columns it maps to
  /// (`wordCount.ts:12:7`) instead of positions in `file_name`.
  std::string source_map;
  /// Job parameters (`--set name=value`), read by ctx.param(name).
  std::map<std::string, std::string> params;
  /// Heap limit of each worker isolate.
  std::size_t heap_limit = std::size_t{512} << 20;
  /// Longest a single call into the job may run; zero: no limit.
  std::chrono::milliseconds time_limit = std::chrono::seconds(10);
  ErrorPolicy on_error = ErrorPolicy::kFail;
  /// Where console output goes (empty: stderr, `[job] line`).
  ConsoleSink console;
  /// Where dead letters go (empty: stderr, one JSON line each).
  DeadLetterSink dead_letters;
};

/// The parts of a job every worker evaluates (immutable once loaded).
struct JobCode {
  JsJobOptions options;
  /// The job as JavaScript (a CommonJS module body).
  std::string javascript;
  /// For TypeScript: JavaScript positions -> .ts positions; for a bundle with a source map:
  /// its positions -> the files it was made of.
  std::optional<SourceMap> source_map;
};

/// One isolate in which the job was evaluated: its UDFs ready to call. Use it on one thread at
/// a time, inside a JsIsolate::Scope (the handles returned are valid in that scope).
class JsWorker {
 public:
  /// Evaluates the job in a new isolate. Throws UserCodeError or ConfigError when the job fails
  /// to load or submits no graph.
  explicit JsWorker(std::shared_ptr<const JobCode> code);
  ~JsWorker();
  JsWorker(const JsWorker&) = delete;
  JsWorker& operator=(const JsWorker&) = delete;

  JsIsolate& js() noexcept { return *js_; }
  /// The graph this isolate's evaluation of the job submitted (JSON).
  const std::string& graphJson() const noexcept { return graph_json_; }
  const JsJobOptions& options() const noexcept { return code_->options; }

  /// The UDF with this id (`lightflus.__udfs[id]`). ConfigError if there is none.
  v8::Local<v8::Function> udf(int id);
  /// A host helper (see js_job.cpp: keys, timestamps, reduce, ...).
  v8::Local<v8::Function> helper(std::string_view name);
  /// `lightflus.__compileChain(ids, kinds)`, compiled once per chain.
  v8::Local<v8::Function> chain(const std::vector<int>& udf_ids,
                                const std::vector<std::string>& kinds);
  /// `lightflus.__chainPosition`: where the last chain or helper call failed.
  v8::Local<v8::Object> chainPosition();

 private:
  void load();

  std::shared_ptr<const JobCode> code_;
  std::unique_ptr<JsIsolate> js_;
  std::string graph_json_;
  v8::Global<v8::Object> runtime_;  // globalThis.lightflus
  v8::Global<v8::Object> helpers_;
  v8::Global<v8::Array> udfs_;
  std::map<std::string, v8::Global<v8::Function>, std::less<>> chains_;
};

/// A loaded job: its graph, and its workers.
///
///   auto job = JsJob::load(source, {.file_name = "wordCount.ts"});
///   Value graph = job->graph();
///   std::shared_ptr<JsWorker> worker = job->worker();  // in an operator's open()
class JsJob {
 public:
  /// Transpiles `source` (TypeScript when the file name ends in .ts/.mts/.cts; else it is used
  /// as JavaScript) and evaluates it once to get its graph. Throws UserCodeError
  /// (`wordCount.ts:3:7: error TS1005: ';' expected.`, exceptions of the job's top level) or
  /// ConfigError (the job builds no graph).
  static std::shared_ptr<JsJob> load(std::string_view source, JsJobOptions options);

  const JsJobOptions& options() const noexcept { return code_->options; }
  /// The logical graph (docs/js-graph.md, section 6).
  const Value& graph() const noexcept { return graph_; }
  const std::string& graphJson() const noexcept { return graph_json_; }

  /// The worker of the calling thread, evaluating the job in a new isolate on first use.
  /// Throws when that evaluation fails or records a different graph.
  std::shared_ptr<JsWorker> worker();

  /// The name of the operator that calls UDF `udf` (for errors), or `fallback`.
  std::string operatorOfUdf(int udf, std::string_view fallback) const;

  /// Stops JavaScript running in any worker now (cancelling a job whose UDF is busy).
  void terminate();

  /// Writes a record whose UDF threw to the dead-letter output: one JSON line
  /// {"deadLetter":{"job":..,"operator":..,"error":..,"record":..}}.
  void deadLetter(std::string_view operator_name, std::string_view error,
                  const Value& record) const;
  /// How many dead letters each operator wrote so far, by the `operator` of the letters (the
  /// operator's name; for a source, "operator 1 'name' (source)").
  std::map<std::string, std::uint64_t> deadLetterCounts() const;

 private:
  explicit JsJob(std::shared_ptr<const JobCode> code) : code_(std::move(code)) {}

  std::shared_ptr<const JobCode> code_;
  std::string graph_json_;
  Value graph_;
  std::map<int, std::string> udf_operators_;
  mutable std::mutex mutex_;
  mutable std::map<std::string, std::uint64_t, std::less<>> dead_letter_counts_;  // mutex_
  // One worker per thread that ran the job, kept until the job goes: the engine's pool moves
  // tasks between its threads, and a worker let go when its task moved away would have to be
  // made again (evaluating the job anew, its compiled code cold) when the task came back.
  std::map<std::thread::id, std::shared_ptr<JsWorker>> workers_;
  std::shared_ptr<JsWorker> spare_;  // the worker that loaded the job, until a thread takes it
};

}  // namespace lightflus::js
