// JobRegistry: the daemon's jobs, in memory and on disk.
//
// A job is submitted as source text (TypeScript or JavaScript) with a name, parameters and a
// parallelism; the registry runs it in a process of its own (job_process.hpp), which loads it
// in V8, checkpoints it under its directory and reports its counters. Each job has a directory
// under `<data-dir>/jobs/<id>/` holding `source.ts|js` (and `source.js.map`, the source map a
// JavaScript job came with), `job.json` (name, params, parallelism)
// `status.json` (status, last error, restarts, final counters, plan and graph), each written
// atomically (temp file, fsync, rename), `checkpoints/` and the ingest logs of its HttpSources
// (`ingest/`). A restarted daemon reads these directories back and restarts the jobs whose
// status is running; they resume from their newest checkpoint.
//
// A job whose process ends abnormally (a signal: V8 aborting on a huge allocation, the kernel
// killing it) is restarted from its checkpoint after 1 s, 2 s, 4 s ... at most
// `max_restarts` times, then marked failed with the reason; the daemon and the other jobs go
// on. A monitor thread watches the processes and persists a job's status when it changes.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "job_process.hpp"
#include "lightflus/error.hpp"
#include "lightflus/executor.hpp"
#include "lightflus/value.hpp"
#include "run_command.hpp"

namespace lightflus::server {

/// What a client submits.
struct JobSpec {
  std::string name;  ///< empty: the name the job gives its ExecutionContext
  std::string source;
  std::map<std::string, std::string> params;
  int parallelism = 0;
  bool javascript = false;  ///< the source is JavaScript (else TypeScript)
  /// For JavaScript: its source map (version 3, JSON; empty: none), e.g. the one `lightflus
  /// apply` sends with the bundle it made, so that errors name the user's files and lines.
  std::string source_map;
  /// The file the user wrote, when `source` was made from it (`lightflus apply` sends the job's
  /// .ts beside its bundle): shown by the web console and `GET .../source?original=true`, never
  /// run. `original_file` is its name as the client gave it ("jobs/wordCount.ts").
  std::string original_file;
  std::string original_source;
  /// A savepoint or checkpoint file to start from (only at the first start; later starts
  /// resume from the job's own checkpoints).
  std::string from;
  /// With `from`: drop state of operators the job no longer has.
  bool allow_non_restored_state = false;
};

/// What a client sees of a job.
struct JobInfo {
  std::string id;
  std::string name;
  std::string status;  ///< created, running, finished, failed, stopped
  std::string error;
  int parallelism = 0;
  std::map<std::string, std::string> params;
  bool javascript = false;  ///< the source is JavaScript (else TypeScript)
  std::string source_file;  ///< the user's file name when the client sent it (JobSpec)
  std::string plan;         ///< the physical plan (empty when not started in this process)
  std::string graph_json;   ///< the logical graph
  std::vector<OperatorMetrics> metrics;
  /// The plan's edges between the operators of `metrics`.
  std::vector<PlanEdge> edges;
  /// Dead letters by writer (dead_letters.hpp attributes them to operators).
  std::map<std::string, std::uint64_t> dead_letters;
  /// Records per second in and out of each operator (by OperatorMetrics::id), over the last
  /// second or so; empty until the job has run for a second.
  struct Rate {
    double in = 0;
    double out = 0;
  };
  std::map<int, Rate> rates;
  /// When the job was submitted (milliseconds since the Unix epoch; 0 if unknown).
  std::int64_t created_at_ms = 0;
  /// When the job's current process began running it (after a submission, a daemon restart or
  /// a restart after a crash); 0 while it has no running process.
  std::int64_t started_at_ms = 0;
  /// The job's checkpoints (in its current process).
  CheckpointStats checkpoints;
  /// Times the job's process was restarted after ending abnormally.
  int restarts = 0;
};

/// How the registry runs and supervises job processes.
struct SupervisionOptions {
  /// The lightflusd binary the job processes run (`job-process`).
  std::string executable = "/proc/self/exe";
  /// Restarts of a job whose process ended abnormally, before it is marked failed.
  int max_restarts = 3;
  /// The first restart's delay; each next one doubles it.
  std::chrono::milliseconds restart_backoff{1000};
  ChildLimits limits;
  /// Roots the jobs' file connectors (and `from`) may use; empty: the data dir.
  std::vector<std::string> allow_paths;
};

/// A request the registry refuses; `reason` picks the HTTP status.
class JobRegistryError : public Error {
 public:
  enum class Reason { kInvalid, kNameTaken, kTooManyJobs, kNotFound, kNotRunning, kBusy };
  JobRegistryError(Reason reason, const std::string& message) : Error(message), reason_(reason) {}
  Reason reason() const noexcept { return reason_; }

 private:
  Reason reason_;
};

/// True for a valid job name: [A-Za-z0-9_.-]{1,64}, not "." or "..".
bool isValidJobName(std::string_view name) noexcept;

class JobRegistry {
 public:
  /// `defaults` gives the heap and time limits, error policy and checkpoint interval (0: the
  /// job's own, else 5 s) of every job.
  JobRegistry(std::filesystem::path data_dir, std::size_t max_jobs, RunOptions defaults,
              SupervisionOptions supervision = {});
  /// Cancels the jobs still running (see shutdown()).
  ~JobRegistry();
  JobRegistry(const JobRegistry&) = delete;
  JobRegistry& operator=(const JobRegistry&) = delete;

  /// Reads the data dir and restarts the jobs that were running. Returns how many it restarted.
  std::size_t restore();
  /// Loads and starts a job. Throws JobRegistryError, UserCodeError or ConfigError.
  JobInfo create(JobSpec spec);
  std::vector<JobInfo> list() const;
  std::optional<JobInfo> get(const std::string& id) const;
  /// Appends records to the ingest log of the job's HttpSource named `source` (empty: its only
  /// one) and returns once they are durable (fsynced). Throws JobRegistryError: kNotFound (no
  /// such job or source), kInvalid (several sources and none named), kNotRunning, kBusy (the
  /// job lags more than 10,000 records behind its log and did not catch up within `timeout`;
  /// nothing was taken).
  void ingest(const std::string& id, const std::string& source, std::vector<Value>&& records,
              std::chrono::milliseconds timeout);
  /// Takes a savepoint of a running job into `<data-dir>/savepoints/` and returns its path.
  /// Throws JobRegistryError (kNotFound, kNotRunning) or Error (the savepoint failed).
  /// With `suspend`, the job's sources stop at the savepoint (the first half of a stop with
  /// savepoint: nothing after it is committed by the sinks).
  std::string savepoint(const std::string& id, bool suspend = false);
  /// Stops a running job for good (a savepoint first, into `savepoint_path`, when asked): its
  /// process cancels it, and it stays listed, `stopped`, with its final counters, its
  /// checkpoints and its source, and is not resumed when the daemon restarts. Returns the job
  /// as it ended (`finished` or `failed` if it ended by itself meanwhile). Throws
  /// JobRegistryError (kNotFound, kNotRunning) or Error (the savepoint failed; the job runs on).
  JobInfo stop(const std::string& id, std::string* savepoint_path = nullptr);
  /// A job's source and the name to show it under.
  struct Source {
    std::string file;  ///< "source.ts", "source.js", or the user's file name
    std::string text;
  };
  /// The source the job was submitted with, or with `original` the user's file it was made
  /// from when the client sent it (else the submitted one); nothing if there is no such job.
  std::optional<Source> source(const std::string& id, bool original = false) const;
  /// Stops a job and deletes it from memory and disk; false if there is no such job.
  bool remove(const std::string& id);
  /// Stops every job's process without changing its persisted status (still running), so
  /// that a restarted daemon resumes it from its checkpoints.
  void shutdown();

 private:
  struct Job;

  JobInfo infoOf(const Job& job) const;
  void persistStatus(const Job& job) const;
  void monitor(std::stop_token stop);
  // Takes the job's process's latest report and notices how it ended (called by the monitor
  // with the lock held); true when the job's status.json needs writing.
  bool supervise(Job& job, std::chrono::steady_clock::time_point now);
  // Updates the job's rates from its counters once a second (called by the monitor).
  static void sampleRates(Job& job, std::chrono::steady_clock::time_point now);
  // Starts the job's process (resuming from its checkpoints).
  std::shared_ptr<JobProcess> launch(const Job& job);
  std::vector<std::string> allowedRoots() const;

  std::filesystem::path data_dir_;
  std::filesystem::path jobs_dir_;
  std::size_t max_jobs_;
  RunOptions defaults_;
  SupervisionOptions supervision_;
  ProcessSpawner spawner_;
  mutable std::mutex mutex_;
  std::map<std::string, std::shared_ptr<Job>> jobs_;  // by id
  std::set<std::string> reserved_names_;              // names of jobs being loaded
  std::condition_variable_any wake_;
  std::jthread monitor_;
};

}  // namespace lightflus::server
