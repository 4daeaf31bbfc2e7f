// `lightflusd serve`: the daemon. Jobs are submitted over the REST API (routes.hpp), kept in
// the data dir (job_registry.hpp) and run each in a process of its own (job_process.hpp),
// checkpointed under the data dir.
//
// Security: it binds to loopback unless told otherwise, and refuses a non-loopback --bind
// without a token (--token or LIGHTFLUS_TOKEN). SIGINT/SIGTERM stop accepting, stop the jobs'
// processes and exit 0; the jobs' persisted status stays `running`, so the next start resumes
// them from their checkpoints (a job someone wants stopped for good is DELETEd).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "job_registry.hpp"
#include "run_command.hpp"

namespace lightflus::server {

/// The flags of `lightflusd serve`.
struct ServeOptions {
  std::string bind = "127.0.0.1";
  /// 0: a free port (printed on stderr).
  unsigned short port = 8080;
  std::string data_dir = "./lightflus-data";
  std::string token;
  std::uint64_t max_body_bytes = std::uint64_t{10} << 20;
  std::size_t max_jobs = 100;
  /// Threads serving HTTP.
  int threads = 4;
  /// Heap and time limits, error policy and checkpoint interval of every job (the flags of
  /// `run`).
  RunOptions job_defaults;
  /// How job processes are restarted and limited (--max-restarts, --job-workers, --job-nice,
  /// --allow-path).
  SupervisionOptions supervision;
};

/// Parses the arguments after `serve` (and LIGHTFLUS_TOKEN). Throws ConfigError.
ServeOptions parseServeOptions(std::span<char* const> args);

const char* serveUsage() noexcept;

/// Runs the daemon until SIGINT/SIGTERM; returns the exit status.
int serve(const ServeOptions& options);

}  // namespace lightflus::server
