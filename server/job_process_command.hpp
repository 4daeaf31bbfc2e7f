// `lightflusd job-process`: one job of `lightflusd serve`, in a process of its own.
//
// Internal (not in the help): the daemon starts it (job_process.hpp) as
//
//     lightflusd job-process --control-fd 3 --job-dir DATA/jobs/ID --file-name NAME.ts
//                            [--allow-path DIR ...] [the flags of `run`] DATA/jobs/ID/source.ts
//
// It loads the job like `lightflusd run` (checkpoints in DATA/jobs/ID/checkpoints, resuming
// from the newest intact one), reads its HttpSources from their ingest logs (ingest_log.hpp),
// and talks with the daemon over fd 3 (job_protocol.hpp). A job that V8 aborts or the kernel
// kills takes only this process down; the daemon sees it and decides (restart or failed).
#pragma once

#include <span>
#include <string>
#include <vector>

#include "lightflus/value.hpp"
#include "run_command.hpp"

namespace lightflus::server {

struct JobProcessOptions {
  int control_fd = 3;
  std::string job_dir;
  /// The name errors give the job's file (`name.ts:line:col`).
  std::string file_name = "job.ts";
  /// The roots the job's file connectors may touch (empty: any path).
  std::vector<std::string> allow_paths;
  RunOptions run;
};

/// Parses the arguments after `job-process`. Throws ConfigError.
JobProcessOptions parseJobProcessOptions(std::span<char* const> args);

/// Runs the job until it ends or the daemon stops it; returns the exit status (0 once the final
/// report is sent, 3 when the job could not be loaded or started).
int runJobProcess(const JobProcessOptions& options);

/// Throws ConfigError naming the first file path in `graph` (a file source or sink, a rolling
/// sink's directory, a CA file) that lies outside every root in `roots` (`/dev/null` is always
/// allowed). Paths are compared
/// after making them absolute and normal (`..` resolved, symbolic links of the existing part
/// followed).
void checkAllowedPaths(const Value& graph, const std::vector<std::string>& roots);
/// The same for one path; `what` starts the message ("the savepoint to start from").
void checkAllowedPath(const std::string& what, const std::string& path,
                      const std::vector<std::string>& roots);

}  // namespace lightflus::server
