// IngestLog: the write-ahead log of a serve job's HttpSource, and the source that reads it.
//
// `POST /v1/jobs/{id}/events` appends the request's records to the log of the job's HttpSource
// (`<data-dir>/jobs/<id>/ingest/<source>.wal`) and fsyncs it before it answers 200, so an
// acknowledged record survives a crash of the daemon or of the job. The job's process reads the
// log with an IngestLogSource, whose checkpoint holds its position (byte offset of a batch and
// the records of it already emitted): a job restored from a checkpoint reads on from there,
// so every record reaches the job once per checkpointed run.
//
// One line per accepted batch:
//
//     <crc32c of the rest, 8 hex digits> <record count> <JSON array of the records>\n
//
// A line is written with one write() and fsynced before the answer. A crash can leave a torn
// last line (never acknowledged); opening the log for appending cuts it off.
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "lightflus/source.hpp"
#include "lightflus/value.hpp"

namespace lightflus::server {

/// The log file of the HttpSource named `source` in a job's directory.
std::filesystem::path ingestLogPath(const std::filesystem::path& job_dir,
                                    const std::string& source);

/// The appending side (the daemon). Thread-safe.
class IngestLog {
 public:
  /// Opens (creating) the log, cuts off a torn last line and counts the records in it. Throws
  /// Error when the file cannot be opened.
  explicit IngestLog(std::filesystem::path path);
  ~IngestLog();
  IngestLog(const IngestLog&) = delete;
  IngestLog& operator=(const IngestLog&) = delete;

  /// Appends `records` as one batch and fsyncs. Throws Error when the write fails (then
  /// nothing is acknowledged; a partial line is cut off the next time the log is opened).
  void append(const std::vector<Value>& records);
  /// Records in the log (since the job was submitted).
  std::uint64_t records() const { return records_.load(); }

 private:
  std::filesystem::path path_;
  int fd_ = -1;
  std::mutex mutex_;
  std::atomic<std::uint64_t> records_{0};
};

/// What the reading side shares with the job's process: how far the source has read (so that
/// the daemon sees the lag) and how to wake it when the daemon appended.
struct IngestProgress {
  std::atomic<std::uint64_t> next_record{0};
  std::mutex mutex;
  std::function<void()> wakeup;
  void wake() {
    std::lock_guard lock(mutex);
    if (wakeup) wakeup();
  }
};

/// Reads an IngestLog from the position in its checkpoint; never finishes (the job runs until
/// it is stopped). Parallelism 1.
class IngestLogSource final : public Source<Value> {
 public:
  IngestLogSource(std::filesystem::path path, std::shared_ptr<IngestProgress> progress);
  ~IngestLogSource() override;

  void open(const SourceContext& ctx) override;
  SourceStatus poll(SourceOutput<Value>& out) override;
  Duration blockedWait() const override { return Duration(200); }
  void snapshot(StateWriter& w) override;
  void restore(StateReader& r) override;
  void close() override;

 private:
  bool readLine();  // parses the next complete line into pending_; false if there is none yet

  std::filesystem::path path_;
  std::shared_ptr<IngestProgress> progress_;
  int fd_ = -1;
  std::uint64_t offset_ = 0;      // start of the current (pending) line, or of the next one
  std::uint64_t line_bytes_ = 0;  // length of the pending line (0: none)
  std::uint64_t emitted_in_line_ = 0;
  std::uint64_t next_record_ = 0;  // index of the next record in the log
  std::vector<Value> pending_;     // the records of the current line
  std::string buffer_;             // bytes after the pending line, not yet parsed
};

}  // namespace lightflus::server
