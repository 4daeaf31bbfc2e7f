// CheckpointCoordinator: takes a running job's periodic checkpoints (internal).
//
// One thread per job with a checkpoint directory. Every `interval` it injects a barrier at the
// sources (JobRuntime::takeCheckpoint: aligned barriers, every operator snapshots), writes the
// snapshot to the CheckpointStore, and only once the file is durable tells the operators that
// the checkpoint completed: two-phase-commit sinks commit then, so a crash before that point
// restores the previous checkpoint and a crash after it restores this one. A checkpoint that
// fails or times out is logged and counted; the job goes on. When the job finishes (its input
// ended), its checkpoints are deleted: there is nothing left to resume. A cancelled or failed
// job keeps them.
#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>

#include "lightflus/checkpoint.hpp"

namespace lightflus::detail {

class JobRuntime;

class CheckpointCoordinator {
 public:
  CheckpointCoordinator(JobRuntime& job, const CheckpointConfig& config);
  ~CheckpointCoordinator();  // stops and joins the thread
  CheckpointCoordinator(const CheckpointCoordinator&) = delete;
  CheckpointCoordinator& operator=(const CheckpointCoordinator&) = delete;

  void start();
  /// Wakes the thread (the job ended or was cancelled).
  void wake();
  /// The job finished (its input ended): deletes its checkpoints, synchronously (unless the
  /// final one is to be kept).
  void jobFinished();
  /// Every task has drained: take the final checkpoint (on the coordinator's thread).
  void requestFinal();
  /// A savepoint taken by the job (started at `started`) becomes its newest checkpoint too.
  void adopt(const Snapshot& snapshot, std::chrono::steady_clock::time_point started);

 private:
  void run(std::stop_token stop);
  void checkpointOnce();
  void finalCheckpoint();
  /// Writes a complete snapshot to the store; empty when the job finished meanwhile.
  std::string persist(const Snapshot& snapshot);
  void recordSuccess(const Snapshot& snapshot, const std::string& path,
                     std::chrono::steady_clock::time_point started);
  void log(const std::string& line) const;

  JobRuntime& job_;
  CheckpointConfig config_;
  CheckpointStore store_;
  std::mutex mutex_;
  std::condition_variable_any cv_;
  bool woken_ = false;
  bool final_requested_ = false;
  bool said_finished_ = false;
  std::mutex store_mutex_;  // a write and jobFinished()'s clear never overlap
  bool finished_ = false;
  std::jthread thread_;
};

}  // namespace lightflus::detail
