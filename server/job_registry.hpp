// JobRegistry: the daemon's jobs, in memory and on disk.
//
// A job is submitted as source text (TypeScript or JavaScript) with a name, parameters and a
// parallelism; the registry loads it in V8, starts it on the engine and keeps its handle. Each
// job has a directory under `<data-dir>/jobs/<id>/` holding `source.ts|js`, `job.json` (name,
// params, parallelism) and `status.json` (status, last error), each written atomically
// (temp file, fsync, rename), so a crash never leaves a half-written file in the registry. A
// restarted daemon reads these directories back and restarts the jobs whose status is running.
//
// Jobs run concurrently; a job that fails (a UDF error, a runaway loop, an exhausted heap) only
// changes its own status. A monitor thread persists a job's status once it ends.
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
};

/// What a client sees of a job.
struct JobInfo {
  std::string id;
  std::string name;
  std::string status;  ///< created, running, finished, failed, stopped
  std::string error;
  int parallelism = 0;
  std::map<std::string, std::string> params;
  std::string plan;        ///< the physical plan (empty when not started in this process)
  std::string graph_json;  ///< the logical graph
  std::vector<OperatorMetrics> metrics;
  /// Records per second in and out of each operator (by OperatorMetrics::id), over the last
  /// second or so; empty until the job has run for a second.
  struct Rate {
    double in = 0;
    double out = 0;
  };
  std::map<int, Rate> rates;
  /// When the job was submitted (milliseconds since the Unix epoch; 0 if unknown).
  std::int64_t created_at_ms = 0;
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
  /// `defaults` gives the heap and time limits and error policy of every job.
  JobRegistry(std::filesystem::path data_dir, std::size_t max_jobs, RunOptions defaults);
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
  /// Offers records to the job's HttpSource named `source` (empty: its only one) and returns
  /// once they are all in the job's queue. Throws JobRegistryError: kNotFound (no such job or
  /// source), kInvalid (several sources and none named), kNotRunning, kBusy (the job did not
  /// make room within `timeout`; nothing was taken).
  void ingest(const std::string& id, const std::string& source, std::vector<Value>&& records,
              std::chrono::milliseconds timeout);
  /// Stops a job and deletes it from memory and disk; false if there is no such job.
  bool remove(const std::string& id);
  /// Cancels every running job without changing its persisted status (still running), so
  /// that a restarted daemon resumes it.
  void shutdown();

 private:
  struct Job;

  JobInfo infoOf(const Job& job) const;
  void persistStatus(const Job& job) const;
  void monitor(std::stop_token stop);
  // Updates the job's rates from its counters once a second (called by the monitor).
  static void sampleRates(Job& job, std::chrono::steady_clock::time_point now);
  std::shared_ptr<Job> startLoaded(JobSpec spec, std::string id);

  std::filesystem::path jobs_dir_;
  std::size_t max_jobs_;
  RunOptions defaults_;
  mutable std::mutex mutex_;
  std::map<std::string, std::shared_ptr<Job>> jobs_;  // by id
  std::set<std::string> reserved_names_;              // names of jobs being loaded
  std::condition_variable_any wake_;
  std::jthread monitor_;
};

}  // namespace lightflus::server
