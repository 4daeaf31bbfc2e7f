// Running a job: execution options, the job handle, metrics and snapshots.
//
// The executor turns the logical graph into tasks: forward-connected operators with equal
// parallelism are chained into one task (one virtual call per batch between them), keyBy
// becomes a hash exchange over a fixed number of key groups, and the task subtasks run
// cooperatively on a pool of worker threads shared by all jobs. Tasks talk through bounded
// channels of batches, flushed when a batch is full or after `buffer_timeout`; a full channel
// parks its producer, which is backpressure, up to the sources. An exception in any operator cancels the job and is reported with the job's
// and the operator's name. triggerCheckpoint() takes a consistent snapshot (aligned barriers)
// that a new job can start from.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "lightflus/error.hpp"
#include "lightflus/time.hpp"

namespace lightflus {

namespace detail {
struct StreamGraph;
class JobRuntime;
}  // namespace detail

/// A consistent copy of a job's state: every operator's and source's snapshot, per subtask.
class LIGHTFLUS_API Snapshot {
 public:
  struct OperatorState {
    std::string name;
    int parallelism = 1;
    std::vector<std::string> subtasks;  ///< the bytes each subtask wrote
  };

  std::uint64_t checkpoint_id = 0;
  std::string job_name;
  std::map<std::string, OperatorState> operators;  ///< by operator uid

  /// The binary form (versioned).
  std::string serialize() const;
  /// Parses serialize()'s output; throws InputError if it is not a Lightflus snapshot.
  static Snapshot deserialize(std::string_view bytes);
  /// Writes atomically: a temp file in the same directory, fsync, rename.
  void writeTo(const std::string& path) const;
  static Snapshot readFrom(const std::string& path);
};

/// How a job runs.
struct ExecutionOptions {
  /// Default parallelism of operators that do not set one; 0 keeps the job's setting.
  int parallelism = 0;
  /// Elements per batch between operators and tasks.
  std::size_t batch_size = 1024;
  /// Batches each producer may have queued towards one consumer before it blocks.
  std::size_t channel_capacity = 8;
  /// A partial batch is sent after at most this long (latency bound).
  Duration buffer_timeout{10};
  /// Start from this snapshot (operators matched by uid).
  std::shared_ptr<const Snapshot> restore;
};

enum class JobStatus { Running, Finished, Failed, Cancelled };

LIGHTFLUS_API const char* toString(JobStatus status);

/// Counters of one operator, summed over its subtasks.
struct OperatorMetrics {
  int id = 0;
  std::string name;
  std::string kind;
  int parallelism = 1;
  std::uint64_t records_in = 0;
  std::uint64_t records_out = 0;
  std::uint64_t late_dropped = 0;
  /// Time the operator's task spent blocked on full downstream channels.
  double backpressure_ms = 0;
  /// Batches waiting in the operator's input channels, and their capacity (heads of tasks).
  std::size_t queued = 0;
  std::size_t queue_capacity = 0;
};

/// A running (or finished) job.
class LIGHTFLUS_API JobHandle {
 public:
  explicit JobHandle(std::shared_ptr<detail::JobRuntime> runtime);
  ~JobHandle();
  JobHandle(JobHandle&&) noexcept;
  JobHandle& operator=(JobHandle&&) noexcept;

  /// Blocks until the job ends; throws JobFailedError if it failed.
  void wait();
  /// Waits at most `timeout`; true if the job has ended.
  bool waitFor(Duration timeout);
  /// Stops the job; wait() then returns normally.
  void cancel();
  /// Takes a consistent snapshot of the running job (blocks until every task took part).
  /// Throws Error if the job ends first or `timeout` passes.
  Snapshot triggerCheckpoint(Duration timeout = Duration(60'000));
  JobStatus status() const;
  /// The first error (empty unless failed).
  std::string error() const;
  std::vector<OperatorMetrics> metrics() const;
  /// The physical plan: tasks and their chained operators, for logs and the REST API.
  std::string describePlan() const;

 private:
  std::shared_ptr<detail::JobRuntime> runtime_;
};

/// Plans and starts a job (used by ExecutionContext::start()).
LIGHTFLUS_API JobHandle startJob(std::shared_ptr<const detail::StreamGraph> graph, ExecutionOptions options);

}  // namespace lightflus
