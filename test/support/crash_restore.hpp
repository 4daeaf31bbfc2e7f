// Crash and restore of a job that writes running counts to an external system, for the tests
// that prove a sink's guarantee after a restore from a checkpoint (Redis, MySQL,
// Elasticsearch).
//
// The job: a rate-limited generator of records for kKeys keys -> keyBy -> a rolling count per
// key -> the sinks under test (runningCounts()). crashAndRestore() starts it, takes a
// checkpoint in the middle the way periodic checkpoints do (snapshot, written to a
// CheckpointStore, then completion notified), lets the sinks write more records past it, then
// cancels the job without a final checkpoint and drops it (what a kill -9 leaves behind), and
// runs the job again restored from the newest checkpoint in the directory to the end of the
// input.
//
// analyseReplay() reads the log of a non-idempotent sink (one entry per record written: key,
// count, run) and says what the restore replayed. Expected results come from plain loops
// (expectedCounts()), never from the engine.
#pragma once

#include <stdlib.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "lightflus/lightflus.hpp"

namespace lightflus::test {

/// A record, and after the rolling count, the key's count so far.
using KeyCount = std::pair<int, std::int64_t>;

constexpr int kKeys = 16;
constexpr std::uint64_t kRecords = 24'000;
/// Records per second: the whole input takes 2 s, so a crash lands in the middle of it.
constexpr double kRate = 12'000;

inline std::string keyName(int key) {
  return "k" + std::to_string(key);
}

/// Each key's final count, by a plain loop: what one uninterrupted run leaves in the sinks.
inline std::map<std::string, std::int64_t> expectedCounts() {
  std::map<std::string, std::int64_t> counts;
  for (std::uint64_t i = 0; i < kRecords; ++i) ++counts[keyName(static_cast<int>(i % kKeys))];
  return counts;
}

/// generator (record i is key i % kKeys) -> keyBy -> rolling count, parallelism 2. The sinks
/// that follow at parallelism 2 get each key on one subtask, in order.
inline DataStream<KeyCount> runningCounts(ExecutionContext& ctx) {
  return ctx
      .generate(
          [](std::uint64_t i) {
            return KeyCount{static_cast<int>(i % kKeys), 1};
          },
          GeneratorOptions{.count = kRecords, .rate = kRate})
      .parallelism(1)
      .uid("records")
      .keyBy([](const KeyCount& r) { return r.first; })
      .reduce([](const KeyCount& a, const KeyCount& b) {
        return KeyCount{a.first, a.second + b.second};
      })
      .parallelism(2)
      .uid("running-counts");
}

/// A temp dir for the checkpoints, removed at the end.
class CheckpointDir {
 public:
  CheckpointDir() {
    char tmpl[] = "/tmp/lightflus-restore-XXXXXX";
    if (mkdtemp(tmpl) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~CheckpointDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  CheckpointDir(const CheckpointDir&) = delete;
  CheckpointDir& operator=(const CheckpointDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

/// How the first run went.
struct CrashReport {
  /// progress() when the checkpoint was taken and when the job was cancelled.
  std::int64_t at_checkpoint = 0;
  std::int64_t at_crash = 0;
  /// The first run was still running when it was cancelled (the crash came mid-input).
  bool crashed_mid_input = false;
  /// The checkpoint the second run was restored from.
  std::string restored_from;
};

/// Runs `build(ctx, run)` (run 1, then run 2) as described at the top of this file.
/// `progress()` says how many records the sinks under test have written so far (e.g. the sum
/// of the counts in the external system); the checkpoint is taken once it reaches 3,000 and
/// the crash comes once it grew by 3,000 more past the checkpoint. `after_crash()` runs
/// between the two runs, to look at what the crash left behind.
inline CrashReport crashAndRestore(const std::string& job_name,
                                   const std::function<void(ExecutionContext&, int)>& build,
                                   const std::function<std::int64_t()>& progress,
                                   const std::function<void()>& after_crash = {}) {
  using namespace std::chrono_literals;
  auto wait_for = [&](std::int64_t target) {
    auto deadline = std::chrono::steady_clock::now() + 30s;
    while (progress() < target) {
      if (std::chrono::steady_clock::now() > deadline)
        throw std::runtime_error("the sinks did not reach " + std::to_string(target) +
                                 " records within 30 s (at " + std::to_string(progress()) + ")");
      std::this_thread::sleep_for(5ms);
    }
  };
  CheckpointDir dir;
  CheckpointStore store(dir.path() + "/ck");
  CrashReport report;

  {
    ExecutionContext first(job_name);
    build(first, 1);
    ExecutionOptions options;
    options.manual_checkpoints = true;  // taken below, as periodic ones are
    JobHandle job = first.start(options);
    wait_for(3'000);
    Snapshot checkpoint = job.takeCheckpoint();
    store.write(checkpoint);
    job.notifyCheckpointComplete(checkpoint.checkpoint_id);
    report.at_checkpoint = progress();
    wait_for(report.at_checkpoint + 3'000);
    report.crashed_mid_input = job.status() == JobStatus::Running;
    job.cancel();
    job.wait();
    // The handle goes too, as the process would (a cancelled job's sinks stop sending before
    // wait() returns: Sink::cancel()).
  }
  report.at_crash = progress();
  if (after_crash) after_crash();

  FoundCheckpoint found = loadCheckpoint(store.directory());
  report.restored_from = found.path;
  ExecutionContext second(job_name);
  build(second, 2);
  ExecutionOptions options;
  options.restore = found.snapshot;
  options.restore_source = found.path;
  second.execute(options);
  return report;
}

/// One entry of a non-idempotent sink's log: the record's key and count, and the run (1 or 2)
/// that wrote it.
struct LogEntry {
  std::string key;
  std::int64_t count = 0;
  int run = 0;
};

/// What the restore replayed, read from a log.
struct ReplayReport {
  /// Per key: the count the checkpoint held (run 2 wrote from it + 1 on) and the last count
  /// run 1 wrote before the crash.
  std::map<std::string, std::pair<std::int64_t, std::int64_t>> checkpointed_and_crashed;
  /// Records written by both runs (present twice in the log).
  std::int64_t duplicates = 0;
  /// Everything that contradicts at-least-once: a count missing, written twice by one run,
  /// out of range, or an unknown key. Empty when the log is right.
  std::vector<std::string> problems;
};

/// Checks a log against at-least-once: per key, run 1 wrote counts 1..b and run 2 wrote
/// a+1..final (each once), with a <= b, so every count is present and those in a+1..b twice.
inline ReplayReport analyseReplay(const std::vector<LogEntry>& log,
                                  const std::map<std::string, std::int64_t>& expected) {
  ReplayReport report;
  std::map<std::string, std::vector<std::int64_t>> runs[2];
  for (const auto& e : log) {
    if (!expected.count(e.key) || e.run < 1 || e.run > 2) {
      report.problems.push_back("unexpected entry: key " + e.key + ", run " +
                                std::to_string(e.run));
      continue;
    }
    runs[e.run - 1][e.key].push_back(e.count);
  }
  auto contiguous = [](std::vector<std::int64_t> counts, std::int64_t from) {
    std::sort(counts.begin(), counts.end());
    for (std::size_t i = 0; i < counts.size(); ++i)
      if (counts[i] != from + static_cast<std::int64_t>(i)) return false;
    return true;
  };
  for (const auto& [key, final_count] : expected) {
    const auto& first = runs[0][key];
    const auto& second = runs[1][key];
    auto crashed = static_cast<std::int64_t>(first.size());
    std::int64_t checkpointed = final_count - static_cast<std::int64_t>(second.size());
    if (!contiguous(first, 1))
      report.problems.push_back(key + ": run 1 did not write exactly 1.." +
                                std::to_string(crashed));
    if (!contiguous(second, checkpointed + 1))
      report.problems.push_back(key + ": run 2 did not write exactly " +
                                std::to_string(checkpointed + 1) + ".." +
                                std::to_string(final_count));
    if (checkpointed > crashed)
      report.problems.push_back(key + ": counts " + std::to_string(crashed + 1) + ".." +
                                std::to_string(checkpointed) + " are missing");
    report.checkpointed_and_crashed[key] = {checkpointed, crashed};
    report.duplicates += std::max<std::int64_t>(0, crashed - checkpointed);
  }
  return report;
}

}  // namespace lightflus::test
