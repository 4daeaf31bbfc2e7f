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
// fsyncs) on every checkpoint and at the end: at-least-once.
#pragma once

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <string>

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
template <class T, class Format>
class JsonLinesFileSink final : public Sink<T> {
 public:
  JsonLinesFileSink(std::string path, Format format) : path_(std::move(path)), format_(format) {}
  void open(const SinkContext&) override {
    file_ = std::fopen(path_.c_str(), "w");
    if (!file_) throw ConnectorError("cannot open '" + path_ + "' for writing");
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
  }
  void flush() override {
    if (!file_) return;
    // fsync fails with EINVAL on pipes and devices (/dev/stdout, /dev/null): nothing to sync.
    if (std::fflush(file_) != 0 || (::fsync(::fileno(file_)) != 0 && errno != EINVAL))
      throw ConnectorError("flushing '" + path_ + "' failed");
  }
  void close() override {
    if (file_) std::fclose(file_);
    file_ = nullptr;
  }
  ~JsonLinesFileSink() override { close(); }

 private:
  std::string path_;
  Format format_;
  std::FILE* file_ = nullptr;
  std::string buffer_;
};

struct AppendValueJson {
  void operator()(std::string& out, const Value& v) const { v.appendJson(out); }
};

inline DataStream<std::string> readTextFile(ExecutionContext& ctx, const std::string& path) {
  return ctx.fromSource<std::string>([path] { return std::make_unique<TextLineSource>(path); },
                                     "file " + path, SourceOptions{true, false});
}
inline DataStream<std::string> readStdin(ExecutionContext& ctx) {
  return ctx.fromSource<std::string>([] { return std::make_unique<TextLineSource>("-"); },
                                     "stdin", SourceOptions{true, false});
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

}  // namespace lightflus
