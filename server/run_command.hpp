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
#include <map>
#include <span>
#include <string>

#include "js_job.hpp"

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
};

/// Parses the arguments after `run`. Throws ConfigError with a message for the user.
RunOptions parseRunOptions(std::span<char* const> args);

/// The usage text of `run`.
const char* runUsage() noexcept;

/// Runs the job; returns the process exit status (see the top of the file).
int runJob(const RunOptions& options);

}  // namespace lightflus::server
