// CheckpointCoordinator: the periodic checkpoint loop of one job.
#include "checkpoint_coordinator.hpp"

#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <utility>

#include "job_runtime.hpp"

namespace lightflus::detail {

CheckpointCoordinator::CheckpointCoordinator(JobRuntime& job, const CheckpointConfig& config)
    : job_(job), config_(config), store_(config.directory, config.retain) {
  if (config_.interval.count() <= 0)
    throw ConfigError(fmt::format("the checkpoint interval must be positive, got {} ms",
                                  config_.interval.count()));
}

CheckpointCoordinator::~CheckpointCoordinator() {
  if (thread_.joinable()) {
    thread_.request_stop();
    wake();
    thread_.join();
  }
}

void CheckpointCoordinator::start() {
  thread_ = std::jthread([this](std::stop_token stop) { run(stop); });
}

void CheckpointCoordinator::wake() {
  {
    std::lock_guard lock(mutex_);
    woken_ = true;
  }
  cv_.notify_all();
}

void CheckpointCoordinator::log(const std::string& line) const {
  if (config_.log) config_.log(line);
}

void CheckpointCoordinator::requestFinal() {
  {
    std::lock_guard lock(mutex_);
    final_requested_ = true;
    woken_ = true;
  }
  cv_.notify_all();
}

void CheckpointCoordinator::run(std::stop_token stop) {
  for (;;) {
    bool final = false;
    {
      std::unique_lock lock(mutex_);
      cv_.wait_for(lock, stop, config_.interval, [&] { return woken_; });
      woken_ = false;
      final = std::exchange(final_requested_, false);
    }
    if (stop.stop_requested() || job_.ended()) break;
    if (final)
      finalCheckpoint();
    else if (!job_.suspended())
      checkpointOnce();
  }
}

void CheckpointCoordinator::jobFinished() {
  // The job's input ended and everything was written: nothing is left to resume.
  std::lock_guard lock(store_mutex_);
  finished_ = true;
  if (!config_.keep_final_checkpoint) store_.clear();
}

std::string CheckpointCoordinator::persist(const Snapshot& snapshot) {
  std::lock_guard lock(store_mutex_);
  if (finished_) return {};  // the job finished meanwhile and removed its checkpoints
  return store_.write(snapshot);
}

void CheckpointCoordinator::recordSuccess(const Snapshot& snapshot, const std::string& path,
                                          std::chrono::steady_clock::time_point started) {
  CheckpointStats outcome;
  outcome.last_id = snapshot.checkpoint_id;
  outcome.last_path = path;
  outcome.last_completed_at_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                     std::chrono::system_clock::now().time_since_epoch())
                                     .count();
  outcome.last_duration_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
  std::error_code ec;
  outcome.last_size_bytes = std::filesystem::file_size(path, ec);
  job_.recordCheckpoint(outcome, true);
}

void CheckpointCoordinator::adopt(const Snapshot& snapshot,
                                  std::chrono::steady_clock::time_point started) {
  std::string path = persist(snapshot);
  if (!path.empty()) recordSuccess(snapshot, path, started);
}

void CheckpointCoordinator::finalCheckpoint() {
  auto started = std::chrono::steady_clock::now();
  try {
    Snapshot snapshot = job_.takeFinalCheckpoint(config_.timeout);
    std::string path = persist(snapshot);
    if (path.empty()) return;
    // Counted first: once told, the operators close and the job may end at once.
    recordSuccess(snapshot, path, started);
    // Durable: the sinks commit their last records, then the operators close.
    job_.notifyCheckpointComplete(snapshot.checkpoint_id);
  } catch (const Error& e) {
    if (job_.ended() || job_.status() != JobStatus::Running || job_.cancelled()) return;
    CheckpointStats outcome;
    outcome.last_error = e.what();
    job_.recordCheckpoint(outcome, false);
    log(std::string("the final checkpoint failed: ") + e.what() +
        "; the operators close without it (sinks commit what is left as they close)");
    job_.releaseDrained();
  }
}

void CheckpointCoordinator::checkpointOnce() {
  auto started = std::chrono::steady_clock::now();
  try {
    Snapshot snapshot = job_.takeCheckpoint(config_.timeout);
    std::string path = persist(snapshot);
    if (path.empty()) return;
    // Durable: only now may two-phase-commit sinks commit what the checkpoint covers.
    job_.notifyCheckpointComplete(snapshot.checkpoint_id);
    recordSuccess(snapshot, path, started);
  } catch (const Error& e) {
    // The job ended, is being cancelled or is stopping at a savepoint: not a checkpoint
    // failure.
    if (job_.ended() || job_.status() != JobStatus::Running || job_.cancelled() || job_.suspended())
      return;
    std::string why = e.what();
    // A task that finished without a final checkpoint (a job started without periodic
    // checkpoints cannot get here, so this is defensive); say it once, not every period.
    if (why.find("has already finished") != std::string::npos) {
      if (!said_finished_) log("checkpoints pause: " + why);
      said_finished_ = true;
      return;
    }
    CheckpointStats outcome;
    outcome.last_error = why;
    job_.recordCheckpoint(outcome, false);
    log("checkpoint failed: " + why);
  }
}

}  // namespace lightflus::detail
