// JobProcess: the daemon's side of one job running in a process of its own.
//
// `lightflusd serve` starts every job as a child process (`lightflusd job-process`, see
// job_process_command.hpp) so that a job V8 aborts (a huge allocation), the kernel kills (out of
// memory) or that crashes takes only itself down. A JobProcess starts the child, reads what it
// reports (job_protocol.hpp) and its stderr (forwarded to the daemon's, the last lines kept for
// the error message), reaps it, and says how it ended: "killed by signal 6 (Aborted)".
//
// Children are started from one long-lived thread (ProcessSpawner) because the kernel's
// parent-death signal (PR_SET_PDEATHSIG, which makes children die with the daemon) fires when
// the thread that forked them exits, not the process.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "job_protocol.hpp"

namespace lightflus::server {

/// Starts processes from one thread that lives as long as it does (see the top of the file).
class ProcessSpawner {
 public:
  ProcessSpawner();
  ~ProcessSpawner();
  ProcessSpawner(const ProcessSpawner&) = delete;
  ProcessSpawner& operator=(const ProcessSpawner&) = delete;

  /// Runs `spawn` on the spawner's thread and returns its result.
  pid_t run(std::function<pid_t()> spawn);

 private:
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::packaged_task<pid_t()>> tasks_;
  bool stopping_ = false;
  std::thread thread_;
};

/// How a job's process runs.
struct ChildLimits {
  /// Added to the daemon's nice value (so that the daemon's HTTP threads stay responsive).
  int nice = 5;
  /// The engine's worker threads in the child (LIGHTFLUS_WORKERS).
  int workers = 2;
};

class JobProcess {
 public:
  /// What the child said and how it ended, as of now.
  struct State {
    bool started = false;    ///< the job loaded and runs
    std::string load_error;  ///< the job could not be loaded or started
    std::string name, graph_json, plan, restored_from;
    std::vector<PlanEdge> edges;
    std::uint64_t restored_id = 0;
    std::vector<std::string> http_sources;
    std::optional<JobReport> report;  ///< the latest report
    bool exited = false;              ///< the process has been reaped
    bool ended_cleanly = false;  ///< it sent its final report (status not running) and exited 0
    std::string exit_reason;     ///< "killed by signal 6 (Aborted)", "exited with status 1"
    std::vector<std::string> last_stderr;  ///< its last lines of stderr
  };

  /// Starts `args` (args[0] is the executable) with the control socket as fd 3.
  /// `log_prefix` precedes each line of its stderr on the daemon's. Throws Error.
  static std::unique_ptr<JobProcess> start(ProcessSpawner& spawner,
                                           const std::vector<std::string>& args,
                                           const ChildLimits& limits, std::string log_prefix);
  /// Kills the process if it is still running and reaps it.
  ~JobProcess();
  JobProcess(const JobProcess&) = delete;
  JobProcess& operator=(const JobProcess&) = delete;

  State state() const;
  /// The pid (for messages and tests).
  pid_t pid() const { return pid_; }
  /// Waits until the job started, failed to load, or the process exited.
  void waitStarted(std::chrono::milliseconds timeout) const;
  /// From the latest report: the next record the HttpSource `source` reads from its log.
  std::optional<std::uint64_t> ingestNext(const std::string& source) const;
  /// Asks the job to stop (it keeps its checkpoints).
  void stop();
  /// Tells the job that records were appended to the ingest log of `source`.
  void wake(const std::string& source);
  /// Takes a savepoint at `path`; returns the path. Throws Error (job ended, timeout, failure).
  /// With `suspend` the job's sources stop at the savepoint (stop with savepoint: stop() next).
  std::string savepoint(const std::string& path, std::chrono::milliseconds timeout,
                        bool suspend = false);
  /// Waits for the process to exit; true if it did.
  bool waitExit(std::chrono::milliseconds timeout) const;
  /// SIGKILL.
  void kill();
  /// A one-line reason for an abnormal end: the exit reason and the last stderr lines.
  static std::string failureReason(const State& state);

 private:
  JobProcess() = default;
  void readLoop();
  void handleMessage(const std::string& line);

  pid_t pid_ = -1;
  int control_fd_ = -1;
  int stderr_fd_ = -1;
  std::unique_ptr<LineChannel> control_;
  std::string log_prefix_;
  mutable std::mutex mutex_;
  mutable std::condition_variable changed_;
  State state_;
  std::uint64_t next_request_ = 1;
  std::map<std::uint64_t, std::pair<bool, std::string>> replies_;  // ok, path or error
  std::thread reader_;
};

}  // namespace lightflus::server
