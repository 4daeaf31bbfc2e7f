// CheckpointCoordinator: the periodic checkpoint loop of one job.
#include "checkpoint_coordinator.hpp"

#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <filesystem>

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

void CheckpointCoordinator::run(std::stop_token stop) {
  for (;;) {
    {
      std::unique_lock lock(mutex_);
      cv_.wait_for(lock, stop, config_.interval, [&] { return woken_; });
      woken_ = false;
    }
    if (stop.stop_requested() || job_.ended()) break;
    checkpointOnce();
  }
}

void CheckpointCoordinator::jobFinished() {
  // The job's input ended and everything was written: nothing is left to resume.
  std::lock_guard lock(store_mutex_);
  finished_ = true;
  store_.clear();
}

void CheckpointCoordinator::checkpointOnce() {
  auto started = std::chrono::steady_clock::now();
  CheckpointStats outcome;
  try {
    Snapshot snapshot = job_.takeCheckpoint(config_.timeout);
    std::string path;
    {
      std::lock_guard lock(store_mutex_);
      if (finished_) return;  // the job finished meanwhile and removed its checkpoints
      path = store_.write(snapshot);
    }
    // Durable: only now may two-phase-commit sinks commit what the checkpoint covers.
    job_.notifyCheckpointComplete(snapshot.checkpoint_id);
    outcome.last_id = snapshot.checkpoint_id;
    outcome.last_path = path;
    outcome.last_completed_at_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                       std::chrono::system_clock::now().time_since_epoch())
                                       .count();
    outcome.last_duration_ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started)
            .count();
    std::error_code ec;
    outcome.last_size_bytes = std::filesystem::file_size(path, ec);
    job_.recordCheckpoint(outcome, true);
  } catch (const Error& e) {
    // The job ended or is being cancelled: not a checkpoint failure.
    if (job_.ended() || job_.status() != JobStatus::Running || job_.cancelled()) return;
    std::string why = e.what();
    // A bounded source that finished ends the snapshot rounds; say it once, not every period.
    if (why.find("has already finished") != std::string::npos) {
      if (!said_finished_) log("checkpoints stop: " + why);
      said_finished_ = true;
      return;
    }
    outcome.last_error = why;
    job_.recordCheckpoint(outcome, false);
    log("checkpoint failed: " + why);
  }
}

}  // namespace lightflus::detail
