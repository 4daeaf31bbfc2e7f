// Running a job: execution options, the job handle, metrics and snapshots.
//
// The executor turns the logical graph into tasks: forward-connected operators with equal
// parallelism are chained into one task (one virtual call per batch between them), keyBy
// becomes a hash exchange over a fixed number of key groups, and the task subtasks run
// cooperatively on a pool of worker threads shared by all jobs. Tasks talk through bounded
// channels of batches, flushed when a batch is full or after `buffer_timeout`; a full channel
// parks its producer, which is backpressure, up to the sources. An exception in any operator
// cancels the job and is reported with the job's and the operator's name. triggerCheckpoint() takes
// a consistent snapshot (aligned barriers) that a new job can start from.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
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
    /// The operator's kind ("reduce", "window", "sink", ...); empty in version 1 snapshots.
    std::string kind;
    int parallelism = 1;
    std::vector<std::string> subtasks;  ///< the bytes each subtask wrote
  };

  std::uint64_t checkpoint_id = 0;
  std::string job_name;
  std::map<std::string, OperatorState> operators;  ///< by operator uid
  /// Taken after every input had ended and every operator had emitted what it held (a
  /// bounded job's final checkpoint): a job restored from it reads nothing more and finishes.
  bool final = false;

  /// The binary form (versioned): a header and one section per operator, each section
  /// protected by a CRC32C checksum (see checkpoint.hpp).
  std::string serialize() const;
  /// Parses serialize()'s output; throws InputError naming the section when the data is not a
  /// Lightflus snapshot, is truncated, or a checksum does not match.
  static Snapshot deserialize(std::string_view bytes);
  /// Writes atomically: a temp file in the same directory, fsync, rename, fsync the directory.
  void writeTo(const std::string& path) const;
  static Snapshot readFrom(const std::string& path);
};

/// Periodic checkpoints of a running job (see checkpoint.hpp for the directory's layout).
///
///     options.checkpoints = {.directory = "ck", .interval = Duration(1000)};
struct CheckpointConfig {
  /// Where checkpoints are written (created if missing); empty: no periodic checkpoints.
  std::string directory;
  /// Time between the end of one checkpoint and the start of the next.
  Duration interval{5000};
  /// Complete checkpoints kept in the directory (older ones are deleted); at least 1.
  int retain = 3;
  /// A checkpoint that has not completed after this long is abandoned (the job goes on).
  Duration timeout{60'000};
  /// Progress and problems, one line each (e.g. to stderr); may be empty.
  std::function<void(const std::string&)> log;
  /// When a bounded job's input ends, a final checkpoint is taken and completed before the
  /// operators close (two-phase-commit sinks commit their last records at it). Once the job has
  /// finished its checkpoints are deleted, unless this is set: then the final one stays, for a
  /// supervisor that deletes it once it has recorded durably that the job finished (a restart
  /// before that restores the final checkpoint and finishes again, writing nothing twice).
  bool keep_final_checkpoint = false;
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
  /// Where `restore` came from, for messages (a path; may be empty).
  std::string restore_source;
  /// Restore even when the snapshot holds state of an operator (uid) the job no longer has;
  /// that state is dropped. Without it such a restore fails (Flink's
  /// --allowNonRestoredState).
  bool allow_non_restored_state = false;
  /// Periodic checkpoints (none unless `checkpoints.directory` is set).
  CheckpointConfig checkpoints;
  /// The caller takes the job's checkpoints itself (JobHandle::takeCheckpoint() and
  /// notifyCheckpointComplete()) rather than through `checkpoints`: sinks that commit at
  /// checkpoints wait for them as with periodic ones (SinkContext::checkpointing).
  bool manual_checkpoints = false;
};

/// What the job's checkpoints have done so far.
struct CheckpointStats {
  std::uint64_t completed = 0;
  std::uint64_t failed = 0;
  /// The newest complete checkpoint: its id, file, when it completed (ms since the Unix
  /// epoch), how long it took and its size. Zero/empty when there is none yet.
  std::uint64_t last_id = 0;
  std::string last_path;
  std::int64_t last_completed_at_ms = 0;
  double last_duration_ms = 0;
  std::uint64_t last_size_bytes = 0;
  /// Why the latest checkpoint that failed failed (empty when none did).
  std::string last_error;
  /// The checkpoint the job was restored from (0/empty when it started fresh).
  std::uint64_t restored_id = 0;
  std::string restored_from;
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

/// An edge of a job's plan: operator `from`'s output goes to operator `to` (ids as in
/// OperatorMetrics). A chained edge is a function call inside one task; any other edge is an
/// exchange through bounded channels.
struct PlanEdge {
  int from = 0;
  int to = 0;
  /// "" for the main output, else the side output's tag (an OutputTag's id, "dead-letters").
  std::string output;
  /// How records are spread over `to`'s subtasks: "forward" (subtask i to subtask i),
  /// "rebalance" (round robin), "broadcast" (to all) or "hash" (by key group).
  std::string exchange;
  bool chained = false;
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
  /// Takes a consistent snapshot of the running job (blocks until every task took part), then
  /// tells the operators it completed (sinks commit). Throws Error if the job ends first or
  /// `timeout` passes. The snapshot is not persisted: to keep it, use savepoint(), or
  /// takeCheckpoint() and notifyCheckpointComplete() after persisting it yourself.
  Snapshot triggerCheckpoint(Duration timeout = Duration(60'000));
  /// Takes a consistent snapshot without telling the operators it completed.
  Snapshot takeCheckpoint(Duration timeout = Duration(60'000));
  /// Tells the operators that checkpoint `id` is durable (two-phase-commit sinks commit).
  void notifyCheckpointComplete(std::uint64_t id);
  /// Takes a checkpoint, writes it atomically to `path`, then notifies completion. Returns
  /// the snapshot's id. With periodic checkpoints it is also written as the job's newest
  /// checkpoint before sinks commit: a crash after the commit resumes from it, not from an
  /// older checkpoint (which would write its records again).
  std::uint64_t savepoint(const std::string& path, Duration timeout = Duration(60'000));
  /// Like savepoint(), but every source stops reading at the savepoint's barrier: nothing read
  /// after it reaches a sink, so what the sinks commit ends exactly at the savepoint. Returns
  /// once the savepoint is durable and every operator has been told it completed; the job then
  /// idles (no periodic checkpoints) until cancel(). If the savepoint fails, the sources read
  /// on and the error is thrown.
  std::uint64_t suspendWithSavepoint(const std::string& path, Duration timeout = Duration(60'000));
  /// suspendWithSavepoint(), then cancel() and wait for the job's end (Flink's "stop with
  /// savepoint"). A job restored from the savepoint goes on from exactly there.
  std::uint64_t stopWithSavepoint(const std::string& path, Duration timeout = Duration(60'000));
  CheckpointStats checkpointStats() const;
  JobStatus status() const;
  /// The first error (empty unless failed).
  std::string error() const;
  std::vector<OperatorMetrics> metrics() const;
  /// The physical plan: tasks and their chained operators, for logs and the REST API.
  std::string describePlan() const;
  /// The plan's edges between the operators of metrics(), for drawing the job's graph.
  std::vector<PlanEdge> planEdges() const;

 private:
  std::shared_ptr<detail::JobRuntime> runtime_;
};

/// Plans and starts a job (used by ExecutionContext::start()).
LIGHTFLUS_API JobHandle startJob(std::shared_ptr<const detail::StreamGraph> graph,
                                 ExecutionOptions options);

}  // namespace lightflus
