// Files and stdin: text lines, JSON lines and CSV sources; a JSON-lines file sink.
//
//     auto lines  = readTextFile(ctx, "book.txt");          // DataStream<std::string>
//     auto events = readJsonLines(ctx, "events.jsonl");     // DataStream<Value>
//     auto rows   = readCsv(ctx, "prices.csv");             // DataStream<Value>, objects by header
//     auto input  = readStdin(ctx);                         // DataStream<std::string>
//     writeJsonLines(events, "out.jsonl");
//
// A malformed line fails the job with an InputError naming the file and line ("events.jsonl:17:
// invalid JSON at offset 3: ..."), or, with MalformedPolicy::DeadLetter, goes to the stream's
// deadLetters() output. File sources read one file with parallelism 1 and snapshot their byte
// offset, so a restored job continues at the next line. The JSON-lines sink flushes (and
// fsyncs) on every checkpoint and at the end and records the file's length in the checkpoint;
// a restored job cuts the file back to that length and goes on: exactly-once for jobs that
// replay deterministically (at-least-once otherwise), never truncated to zero.
//
// The rolling JSON-lines sink writes a series of files per subtask into a directory and starts
// a new file by size or time; a file appears under its final name only when it is complete
// and, with checkpoints, only once the checkpoint after it completed (exactly-once):
//
//     writeRollingJsonLines(events, {.directory = "out", .max_bytes = 64 << 20});
//     // out/part-0-000000.jsonl, out/part-0-000001.jsonl, out/part-1-000000.jsonl, ...
//
// See RollingFileOptions and docs/files.md.
#pragma once

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lightflus/datastream.hpp"
#include "lightflus/value.hpp"

namespace lightflus {

/// Reads lines from a file descriptor without blocking the task forever (internal).
namespace detail {
class LIGHTFLUS_API LineReader {
 public:
  enum class Fill { Data, WouldBlock, End };
  /// Opens `path`, or stdin when path is "-". Throws ConnectorError if it cannot.
  explicit LineReader(const std::string& path);
  ~LineReader();
  LineReader(const LineReader&) = delete;
  LineReader& operator=(const LineReader&) = delete;

  /// The next complete line (without "\n" or "\r\n"), valid until the next call.
  bool next(std::string_view& line);
  /// Reads more; waits at most `timeout_ms` (-1: block) for input.
  Fill fill(int timeout_ms);
  /// Byte offset just after the last line returned by next(), and its 1-based number.
  std::uint64_t offset() const { return offset_; }
  std::uint64_t lineNumber() const { return line_number_; }
  /// Continues at `offset` as line `line_number` + 1 (files only).
  void seek(std::uint64_t offset, std::uint64_t line_number);
  bool isStdin() const { return fd_ == 0; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  int fd_ = -1;
  std::string buffer_;
  std::size_t start_ = 0;
  bool eof_ = false;
  std::uint64_t offset_ = 0;
  std::uint64_t line_number_ = 0;
};
}  // namespace detail

/// Lines of a text file (or stdin for "-").
class LIGHTFLUS_API TextLineSource final : public Source<std::string> {
 public:
  explicit TextLineSource(std::string path) : path_(std::move(path)) {}
  void open(const SourceContext&) override;
  SourceStatus poll(SourceOutput<std::string>& out) override;
  void snapshot(StateWriter& w) override;
  void restore(StateReader& r) override;

 private:
  std::string path_;
  std::unique_ptr<detail::LineReader> reader_;
  std::uint64_t restore_offset_ = 0, restore_line_ = 0;
};

/// One Value per line of a JSON-lines file; empty lines are skipped.
class LIGHTFLUS_API JsonLinesSource final : public Source<Value> {
 public:
  JsonLinesSource(std::string path, MalformedPolicy policy)
      : path_(std::move(path)), policy_(policy) {}
  void open(const SourceContext&) override;
  SourceStatus poll(SourceOutput<Value>& out) override;
  void snapshot(StateWriter& w) override;
  void restore(StateReader& r) override;

 private:
  std::string path_;
  MalformedPolicy policy_;
  std::unique_ptr<detail::LineReader> reader_;
  std::uint64_t restore_offset_ = 0, restore_line_ = 0;
};

struct CsvOptions {
  char delimiter = ',';
  /// The first line names the fields: rows become objects. Without it rows are arrays.
  bool header = true;
  /// Fields that look like numbers become numbers; "true"/"false" become bools.
  bool infer_types = true;
  MalformedPolicy on_malformed = MalformedPolicy::Fail;
};

/// Rows of a CSV file (RFC 4180 quoting within a line; a quoted field cannot span lines).
class LIGHTFLUS_API CsvSource final : public Source<Value> {
 public:
  CsvSource(std::string path, CsvOptions options) : path_(std::move(path)), options_(options) {}
  void open(const SourceContext&) override;
  SourceStatus poll(SourceOutput<Value>& out) override;
  void snapshot(StateWriter& w) override;
  void restore(StateReader& r) override;

  /// Splits one CSV line; throws InputError on an unterminated quote.
  static std::vector<std::string> splitLine(std::string_view line, char delimiter);

 private:
  std::string path_;
  CsvOptions options_;
  std::unique_ptr<detail::LineReader> reader_;
  std::vector<std::string> header_;
  std::uint64_t restore_offset_ = 0, restore_line_ = 0;
};

/// Writes one JSON document per line. `format(std::string& out, const T&)` appends the JSON of
/// an element (Value::appendJson for Values).
///
/// Exactly-once with checkpoints (for a job that replays the same records after a restore):
/// a snapshot flushes and fsyncs the file and records its length; a restored sink cuts the file
/// back to that length, dropping what was written after the checkpoint (the job writes those
/// records again), and appends. A job started without a snapshot starts a new file.
template <class T, class Format>
class JsonLinesFileSink final : public Sink<T> {
 public:
  JsonLinesFileSink(std::string path, Format format) : path_(std::move(path)), format_(format) {}
  void open(const SinkContext&) override {
    if (!restored_length_) {
      file_ = std::fopen(path_.c_str(), "w");
      if (!file_) throw ConnectorError("cannot open '" + path_ + "' for writing");
      return;
    }
    file_ = std::fopen(path_.c_str(), "r+");
    if (!file_)
      throw ConnectorError("cannot reopen '" + path_ +
                           "' to continue it after a restore: " + std::strerror(errno));
    if (std::fseek(file_, 0, SEEK_END) != 0) throw ConnectorError("cannot seek in '" + path_ + "'");
    long length = std::ftell(file_);
    auto want = static_cast<long>(*restored_length_);
    // A regular file shorter than at the checkpoint lost data the checkpoint says it holds.
    if (length >= 0 && length < want && isRegular())
      throw ConnectorError("'" + path_ + "' is shorter (" + std::to_string(length) +
                           " bytes) than at the checkpoint being restored (" +
                           std::to_string(want) + " bytes): it was changed outside the job");
    if (isRegular()) {
      if (::ftruncate(::fileno(file_), want) != 0 || std::fseek(file_, want, SEEK_SET) != 0)
        throw ConnectorError("cannot cut '" + path_ +
                             "' back to its checkpointed length: " + std::strerror(errno));
    }
    length_ = *restored_length_;
  }
  void write(Batch<T>& batch) override {
    buffer_.clear();
    for (const auto& e : batch) {
      format_(buffer_, e.value);
      buffer_.push_back('\n');
    }
    // Each batch goes to the OS as it is written, so that the output of a job that runs for
    // a long time (a server job) shows up while it runs; flush() also fsyncs.
    if (std::fwrite(buffer_.data(), 1, buffer_.size(), file_) != buffer_.size() ||
        std::fflush(file_) != 0)
      throw ConnectorError("writing to '" + path_ + "' failed");
    length_ += buffer_.size();
  }
  void flush() override {
    if (!file_) return;
    // fsync fails with EINVAL on pipes and devices (/dev/stdout, /dev/null): nothing to sync.
    if (std::fflush(file_) != 0 || (::fsync(::fileno(file_)) != 0 && errno != EINVAL))
      throw ConnectorError("flushing '" + path_ + "' failed");
  }
  void snapshot(StateWriter& w) override {
    w.write(length_);
    w.write(absolutePath());
  }
  void restore(const std::vector<std::string>& previous) override {
    // One subtask (parallelism 1): one state.
    if (previous.empty()) return;
    StateReader r(previous.front());
    restored_length_ = r.read<std::uint64_t>();
    // The file the state describes (absent in states of older versions). Another sink's state
    // (operators added or removed before this one, so that uids shifted) would cut this file
    // to the other file's length.
    if (r.atEnd()) return;
    auto written = r.read<std::string>();
    if (written != absolutePath())
      throw ConnectorError("the restored state belongs to a file sink that wrote '" + written +
                           "', not '" + absolutePath() +
                           "': give each sink a stable uid (.uid(...)), or give this sink a new "
                           "uid and drop the old state with --allow-non-restored-state");
  }
  void close() override {
    if (file_) std::fclose(file_);
    file_ = nullptr;
  }
  ~JsonLinesFileSink() override { close(); }

 private:
  bool isRegular() const {
    struct stat st {};
    return ::fstat(::fileno(file_), &st) == 0 && S_ISREG(st.st_mode);
  }
  std::string absolutePath() const {
    std::error_code ec;
    auto path = std::filesystem::absolute(path_, ec);
    return ec ? path_ : path.lexically_normal().string();
  }

  std::string path_;
  Format format_;
  std::FILE* file_ = nullptr;
  std::string buffer_;
  std::uint64_t length_ = 0;  // bytes written by this job (since the file was started)
  std::optional<std::uint64_t> restored_length_;
};

struct AppendValueJson {
  void operator()(std::string& out, const Value& v) const { v.appendJson(out); }
};

inline DataStream<std::string> readTextFile(ExecutionContext& ctx, const std::string& path) {
  return ctx.fromSource<std::string>([path] { return std::make_unique<TextLineSource>(path); },
                                     "file " + path, SourceOptions{true, false});
}
inline DataStream<std::string> readStdin(ExecutionContext& ctx) {
  return ctx.fromSource<std::string>([] { return std::make_unique<TextLineSource>("-"); }, "stdin",
                                     SourceOptions{true, false});
}
inline DataStream<Value> readJsonLines(ExecutionContext& ctx, const std::string& path,
                                       MalformedPolicy policy = MalformedPolicy::Fail) {
  return ctx.fromSource<Value>(
      [path, policy] { return std::make_unique<JsonLinesSource>(path, policy); }, "file " + path,
      SourceOptions{true, policy == MalformedPolicy::DeadLetter});
}
inline DataStream<Value> readCsv(ExecutionContext& ctx, const std::string& path,
                                 CsvOptions options = {}) {
  return ctx.fromSource<Value>(
      [path, options] { return std::make_unique<CsvSource>(path, options); }, "file " + path,
      SourceOptions{true, options.on_malformed == MalformedPolicy::DeadLetter});
}
/// Writes a stream of Values (or of T with a format function) as JSON lines to one file.
template <class T, class Format = AppendValueJson>
SinkHandle writeJsonLines(const DataStream<T>& stream, const std::string& path,
                          Format format = {}) {
  return stream
      .sink([path, format] { return std::make_unique<JsonLinesFileSink<T, Format>>(path, format); },
            "file " + path)
      .parallelism(1);
}

/// Options of writeRollingJsonLines().
struct RollingFileOptions {
  /// The directory of the files (created if missing).
  std::string directory;
  /// File names are "<prefix>-<subtask>-<sequence><suffix>", e.g. "part-0-000003.jsonl".
  std::string prefix = "part";
  std::string suffix = ".jsonl";
  /// A file is rolled before it would exceed this size (0: no size limit). A single line
  /// larger than this gets a file of its own.
  std::uint64_t max_bytes = 128ull << 20;
  /// A file is rolled once it is this old, at the next write or checkpoint (0: no time limit).
  Duration roll_interval{0};
  /// Roll the current file at every checkpoint too, so that each completed checkpoint makes
  /// everything written before it visible.
  bool roll_on_checkpoint = false;
};

namespace detail {

/// What one RollingFileSink subtask keeps in a checkpoint: its in-progress part and how long
/// it was, and the parts rolled but not yet committed (each with the checkpoint it belongs to).
/// Parts are named by their final file name in the directory.
struct LIGHTFLUS_API RollingFileState {
  struct Pending {
    std::uint64_t checkpoint_id = 0;
    std::string name;
  };
  int subtask = 0;  ///< the file series ("<prefix>-<subtask>-...")
  std::uint64_t next_sequence = 0;
  std::string in_progress;  ///< empty when no part was open
  std::uint64_t in_progress_bytes = 0;
  std::vector<Pending> pending;

  void write(StateWriter& w) const;
  /// Throws InputError when `bytes` is not a rolling file sink's state.
  static RollingFileState read(std::string_view bytes);
};

/// The file series of one RollingFileSink subtask (compiled), exactly-once with checkpoints as
/// Flink's FileSink: a part is written under the hidden name ".<name>.inprogress"; rolled
/// (flushed, fsynced, closed) it is pending; it is committed (renamed to <name>, then the
/// directory fsynced) when the checkpoint after its roll completes, or at the end of the
/// input. A file under its final name is complete and never changes.
class LIGHTFLUS_API RollingFileWriter {
 public:
  /// Opens nothing yet; the series continues after the highest sequence number in the
  /// directory, hidden parts included. Hidden parts of earlier runs are left alone (restore()
  /// decides about those of a restored series). Throws ConnectorError if it cannot.
  RollingFileWriter(RollingFileOptions options, int subtask);
  /// Closes the in-progress part without committing anything (a cancel or a crash): the parts
  /// stay hidden, and a restore decides about them.
  ~RollingFileWriter();
  RollingFileWriter(const RollingFileWriter&) = delete;
  RollingFileWriter& operator=(const RollingFileWriter&) = delete;

  /// Takes over the series of the restored checkpoint's states (this subtask's or, after a
  /// change of parallelism, those of the old subtasks mapped to it): commits their pending parts
  /// and their in-progress parts cut back to the checkpointed length (parts already committed
  /// are fine), then removes every other hidden part of the series this subtask restores (series
  /// k with k % parallelism == subtask): they hold records written after the checkpoint, which
  /// the job writes again. Call before the first writeLine().
  void restore(const std::vector<RollingFileState>& states, int parallelism);
  /// Appends one line (ending in "\n"), first rolling the current part when the line would
  /// make it exceed max_bytes or when it is older than roll_interval.
  void writeLine(std::string_view line);
  /// Rolls the current part when it is older than roll_interval.
  void rollIfDue();
  /// Flushes and fsyncs the in-progress part (before a checkpoint, and at the end of the
  /// input); rolls it when due or with roll_on_checkpoint.
  void flush();
  /// The state for checkpoint `checkpoint_id`: the parts rolled since the previous snapshot
  /// now belong to it. Call after flush().
  RollingFileState snapshot(std::uint64_t checkpoint_id);
  /// Checkpoint `checkpoint_id` completed: commits the parts of it and of earlier ones.
  void commit(std::uint64_t checkpoint_id);
  /// The end of the input: rolls the current part and commits every pending part.
  void finish();
  /// Without periodic checkpoints nothing would commit a rolled part until the input ends: with
  /// `on`, a part is committed as soon as it is rolled (at-least-once after a restore).
  void commitOnRoll(bool on) { commit_on_roll_ = on; }
  /// Final names of the parts this writer committed, in order (tests, logs).
  const std::vector<std::string>& committedFiles() const { return committed_; }

 private:
  std::string hiddenPath(const std::string& name) const;
  std::string finalPath(const std::string& name) const;
  void restoreParts(const RollingFileState& state);
  void removeLeftovers(int parallelism);
  void openNext();
  void rollCurrent();
  void commitPart(const std::string& name);
  void syncDirectory();

  RollingFileOptions options_;
  int subtask_;
  std::uint64_t next_sequence_ = 0;
  std::FILE* file_ = nullptr;
  std::string current_;  // final name of the in-progress part
  std::uint64_t bytes_ = 0;
  std::chrono::steady_clock::time_point opened_at_;
  bool broken_ = false;           // a write failed: the in-progress part is left as it is
  bool directory_dirty_ = false;  // entries created or renamed since the last directory fsync
  std::vector<RollingFileState::Pending> pending_;  // checkpoint_id 0: not in a checkpoint yet
  std::vector<std::string> committed_;
  bool commit_on_roll_ = false;
};

}  // namespace detail

/// Writes one JSON document per line into rolling files (see RollingFileOptions); one file
/// series per parallel subtask. Exactly-once with checkpoints: a rolled file becomes visible
/// (is committed) when the next checkpoint completes; a restore cuts the in-progress file back
/// to its checkpointed length, commits what the checkpoint holds and removes what was written
/// after it. Without periodic checkpoints, a file is committed as soon as it is rolled. A cancelled
/// or failed job commits nothing more. See docs/files.md.
template <class T, class Format>
class RollingFileSink final : public Sink<T> {
 public:
  RollingFileSink(RollingFileOptions options, Format format)
      : options_(std::move(options)), format_(std::move(format)) {}
  void open(const SinkContext& ctx) override {
    writer_ = std::make_unique<detail::RollingFileWriter>(options_, ctx.subtask);
    writer_->commitOnRoll(!ctx.checkpointing);
    if (restoring_) writer_->restore(restored_, ctx.parallelism);
    restored_.clear();
  }
  void write(Batch<T>& batch) override {
    writer_->rollIfDue();
    for (const auto& e : batch) {
      line_.clear();
      format_(line_, e.value);
      line_.push_back('\n');
      writer_->writeLine(line_);
    }
  }
  void flush() override {
    if (writer_) writer_->flush();
  }
  void snapshot(StateWriter& w) override {
    if (writer_) writer_->snapshot(w.checkpointId()).write(w);
  }
  void restore(const std::vector<std::string>& previous) override {
    // Several states after the parallelism went down, none when it went up (the subtask then
    // still cleans up its series); empty ones were written by an older version.
    restoring_ = true;
    for (const auto& bytes : previous)
      if (!bytes.empty()) restored_.push_back(detail::RollingFileState::read(bytes));
  }
  void notifyCheckpointComplete(std::uint64_t checkpoint_id) override {
    if (writer_) writer_->commit(checkpoint_id);
  }
  void close() override {
    if (writer_) writer_->finish();
    writer_.reset();
  }
  void cancel() override { writer_.reset(); }  // nothing more is committed; the restore decides

 private:
  RollingFileOptions options_;
  Format format_;
  std::unique_ptr<detail::RollingFileWriter> writer_;
  bool restoring_ = false;
  std::vector<detail::RollingFileState> restored_;
  std::string line_;
};

/// Writes a stream of Values (or of T with a format function) as JSON lines into rolling files
/// in `options.directory`, with the stream's parallelism (one file series per subtask).
///
///     writeRollingJsonLines(events, {.directory = "out", .roll_interval = Duration(60'000)});
template <class T, class Format = AppendValueJson>
SinkHandle writeRollingJsonLines(const DataStream<T>& stream, RollingFileOptions options,
                                 Format format = {}) {
  if (options.directory.empty())
    throw ConfigError("writeRollingJsonLines(): the directory is empty");
  std::string name = "files " + options.directory;
  return stream.sink(
      [options, format] { return std::make_unique<RollingFileSink<T, Format>>(options, format); },
      std::move(name));
}

}  // namespace lightflus
