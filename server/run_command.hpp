// `lightflusd run JOB.ts|JOB.js`: one TypeScript or JavaScript job in the foreground.
//
// Reads and transpiles the job (inside V8: no Node.js), builds its graph, runs it on the
// engine and waits: exit status 0 when its bounded sources are done, 1 when it fails (the
// error on stderr), 2 for a usage error, 130 after SIGINT (Ctrl-C) and 143 after SIGTERM (the
// job is cancelled and its workers' JavaScript terminated). On a terminal it shows progress on
// stderr once a second; piped, it prints nothing but the job's output and errors.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "js_job.hpp"
#include "lightflus/executor.hpp"

namespace lightflus::js {
struct JsGraphOptions;
}  // namespace lightflus::js

namespace lightflus::server {

/// The flags of `lightflusd run`.
struct RunOptions {
  std::string job_path;
  /// --parallelism N: the default parallelism of the job's operators (0: the job's own).
  int parallelism = 0;
  /// --set name=value (repeatable): job parameters, read by ctx.param(name).
  std::map<std::string, std::string> params;
  /// --heap-limit MiB: per worker isolate.
  std::size_t heap_limit_mib = 512;
  /// --time-limit SECONDS: per call into the job (0: none).
  double time_limit_seconds = 10;
  /// --on-error fail|dead-letter.
  js::ErrorPolicy on_error = js::ErrorPolicy::kFail;
  /// --checkpoint-dir DIR: take periodic checkpoints there, and resume from the newest intact
  /// one found there at start (empty: no checkpoints unless the job asks, see below).
  std::string checkpoint_dir;
  /// --checkpoint-interval DURATION ("5s", "500ms", "2m"); 0: the job's
  /// ctx.checkpointInterval(ms), else 5 s.
  std::chrono::milliseconds checkpoint_interval{0};
  /// --keep-checkpoints N: complete checkpoints kept in the directory.
  int keep_checkpoints = 3;
  /// --from PATH: restore from this checkpoint/savepoint file (or the newest intact one in
  /// this directory) instead of the newest in --checkpoint-dir.
  std::string from;
  /// --allow-non-restored-state: drop state of operators the job no longer has.
  bool allow_non_restored_state = false;
  /// --fresh: start from the beginning: the checkpoints and the finished marker in
  /// --checkpoint-dir are removed first.
  bool fresh = false;
  /// --source-map FILE: the source map (version 3) of a JavaScript job, e.g. a bundle's: its
  /// errors then name the files the bundle was made of.
  std::string source_map;
};

/// Parses the arguments after `run`. Throws ConfigError with a message for the user.
RunOptions parseRunOptions(std::span<char* const> args);

/// The usage text of `run`.
const char* runUsage() noexcept;

/// Runs the job; returns the process exit status (see the top of the file).
int runJob(const RunOptions& options);

/// The V8 options of a job (heap and time limits, error policy, params, the source map's text)
/// from the flags; the job's file name (its extension picks TypeScript or JavaScript) is
/// `file_name`. Throws ConfigError when the source map cannot be read.
js::JsJobOptions jsJobOptions(const RunOptions& options, std::string file_name);

/// A job loaded from its source text and started on the engine.
struct StartedJob {
  std::shared_ptr<js::JsJob> js;
  /// The name the job gave its ExecutionContext.
  std::string name;
  JobHandle handle;
};

/// Loads a job from its source text (transpiles and evaluates it: throws UserCodeError with
/// `file:line:col`, or ConfigError). Shared by `run` and `serve`.
std::shared_ptr<js::JsJob> loadJob(std::string_view source, js::JsJobOptions options);

/// Builds a loaded job's engine graph and starts it (ConfigError for a graph it cannot run).
StartedJob startJob(std::shared_ptr<js::JsJob> job, int parallelism);
/// The same, with the host's hooks (the sources it feeds, ...) and execution options
/// (checkpoints, restore; `execution.parallelism` is set to `parallelism`).
StartedJob startJob(std::shared_ptr<js::JsJob> job, int parallelism,
                    const js::JsGraphOptions& graph_options, ExecutionOptions execution = {});

/// How a job checkpoints and what it restores from, worked out from the flags and the job.
struct CheckpointSetup {
  ExecutionOptions execution;  ///< checkpoints, restore, allow_non_restored_state
  std::string restored_from;   ///< the checkpoint file restored (empty: a fresh start)
  std::uint64_t restored_id = 0;
  /// The restored checkpoint was taken after the job's input had ended (a final checkpoint).
  bool restored_final = false;
  /// What the finished marker in --checkpoint-dir says (kFinishedMarker) when the job finished
  /// there before: `run` then says so and exits 0 without running it. Empty otherwise.
  std::string already_finished;

  /// "resuming from checkpoint N (path)", and what a final checkpoint means; empty when the
  /// job starts fresh.
  std::string resumeMessage() const;
};

/// The file a bounded job run with --checkpoint-dir writes into it when it has finished,
/// before it deletes its checkpoints: a rerun then does nothing instead of starting over.
inline constexpr std::string_view kFinishedMarker = "FINISHED";

/// Reads the checkpoint to restore (--from, else the newest intact one in --checkpoint-dir;
/// damaged ones are reported through `log` and skipped) and sets up periodic checkpoints
/// (--checkpoint-interval, else the job's ctx.checkpointInterval(ms), else 5 s). A finished
/// marker in --checkpoint-dir sets `already_finished` (unless --from or --fresh); --fresh
/// removes the directory's checkpoints and marker first. Throws InputError when --from names a
/// damaged checkpoint.
CheckpointSetup checkpointSetup(const RunOptions& options, const js::JsJob& job,
                                const std::string& job_name,
                                std::function<void(const std::string&)> log);

}  // namespace lightflus::server
