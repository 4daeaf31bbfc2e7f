// Line-oriented file sources: text, JSON lines, CSV, stdin.
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>

#include <fmt/format.h>

#include "lightflus/connectors/file.hpp"

namespace lightflus {
namespace detail {

LineReader::LineReader(const std::string& path) : path_(path == "-" ? "stdin" : path) {
  if (path == "-") {
    fd_ = 0;
  } else {
    fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0)
      throw ConnectorError(fmt::format("cannot open '{}': {}", path, std::strerror(errno)));
  }
}

LineReader::~LineReader() {
  if (fd_ > 0) ::close(fd_);
}

bool LineReader::next(std::string_view& line) {
  const char* data = buffer_.data() + start_;
  std::size_t avail = buffer_.size() - start_;
  const void* nl = std::memchr(data, '\n', avail);
  std::size_t len;
  std::size_t consumed;
  if (nl) {
    len = static_cast<std::size_t>(static_cast<const char*>(nl) - data);
    consumed = len + 1;
  } else if (eof_ && avail > 0) {
    len = avail;  // the last line has no newline
    consumed = avail;
  } else {
    return false;
  }
  line = std::string_view(data, len);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  start_ += consumed;
  offset_ += consumed;
  ++line_number_;
  return true;
}

LineReader::Fill LineReader::fill(int timeout_ms) {
  if (eof_) return Fill::End;
  if (start_ > 0) {
    buffer_.erase(0, start_);
    start_ = 0;
  }
  if (timeout_ms >= 0) {
    pollfd p{fd_, POLLIN, 0};
    int r = ::poll(&p, 1, timeout_ms);
    if (r == 0) return Fill::WouldBlock;
    if (r < 0 && errno != EINTR)
      throw ConnectorError(fmt::format("reading '{}' failed: {}", path_, std::strerror(errno)));
  }
  constexpr std::size_t kChunk = 1 << 16;
  std::size_t old = buffer_.size();
  buffer_.resize(old + kChunk);
  ssize_t n;
  do {
    n = ::read(fd_, buffer_.data() + old, kChunk);
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    buffer_.resize(old);
    throw ConnectorError(fmt::format("reading '{}' failed: {}", path_, std::strerror(errno)));
  }
  buffer_.resize(old + static_cast<std::size_t>(n));
  if (n == 0) eof_ = true;
  return Fill::Data;
}

void LineReader::seek(std::uint64_t offset, std::uint64_t line_number) {
  if (fd_ == 0)
    throw ConfigError("stdin cannot be rewound: a job reading stdin cannot be restored");
  if (::lseek(fd_, static_cast<off_t>(offset), SEEK_SET) < 0)
    throw ConnectorError(fmt::format("cannot seek in '{}': {}", path_, std::strerror(errno)));
  buffer_.clear();
  start_ = 0;
  eof_ = false;
  offset_ = offset;
  line_number_ = line_number;
}

namespace {

/// Runs `on_line` for lines until the batch is full; returns the poll status.
template <class OnLine>
SourceStatus pollLines(LineReader& reader, bool full_check_needed, OnLine&& on_line,
                       const std::function<bool()>& full) {
  static_cast<void>(full_check_needed);
  std::string_view line;
  while (!full()) {
    if (reader.next(line)) {
      on_line(line);
      continue;
    }
    auto f = reader.fill(reader.isStdin() ? 20 : -1);
    if (f == LineReader::Fill::End) return SourceStatus::Finished;
    if (f == LineReader::Fill::WouldBlock) return SourceStatus::Blocked;
  }
  return SourceStatus::HaveMoreOutput;
}

void writePosition(StateWriter& w, const LineReader* reader, std::uint64_t offset,
                   std::uint64_t line) {
  w.write<std::uint64_t>(reader ? reader->offset() : offset);
  w.write<std::uint64_t>(reader ? reader->lineNumber() : line);
}

std::unique_ptr<LineReader> openAt(const std::string& path, std::uint64_t offset,
                                   std::uint64_t line) {
  auto reader = std::make_unique<LineReader>(path);
  if (offset > 0 || line > 0) reader->seek(offset, line);
  return reader;
}

Value inferValue(const std::string& field) {
  if (field.empty()) return Value(field);
  if (field == "true") return Value(true);
  if (field == "false") return Value(false);
  const char* b = field.data();
  const char* e = b + field.size();
  std::int64_t i;
  auto [p, ec] = std::from_chars(b, e, i);
  if (ec == std::errc() && p == e) return Value(i);
  double d;
  auto [p2, ec2] = std::from_chars(b, e, d);
  if (ec2 == std::errc() && p2 == e) return Value(d);
  return Value(field);
}

}  // namespace
}  // namespace detail

// --- TextLineSource -------------------------------------------------------------------------

void TextLineSource::open(const SourceContext&) {
  reader_ = detail::openAt(path_, restore_offset_, restore_line_);
}

SourceStatus TextLineSource::poll(SourceOutput<std::string>& out) {
  return detail::pollLines(
      *reader_, true, [&](std::string_view line) { out.collect(line); },
      [&] { return out.full(); });
}

void TextLineSource::snapshot(StateWriter& w) {
  detail::writePosition(w, reader_.get(), restore_offset_, restore_line_);
}

void TextLineSource::restore(StateReader& r) {
  restore_offset_ = r.read<std::uint64_t>();
  restore_line_ = r.read<std::uint64_t>();
  if (path_ == "-")
    throw ConfigError("stdin cannot be rewound: a job reading stdin cannot be restored");
}

// --- JsonLinesSource ------------------------------------------------------------------------

void JsonLinesSource::open(const SourceContext&) {
  reader_ = detail::openAt(path_, restore_offset_, restore_line_);
}

SourceStatus JsonLinesSource::poll(SourceOutput<Value>& out) {
  return detail::pollLines(
      *reader_, true,
      [&](std::string_view line) {
        if (line.find_first_not_of(" \t") == std::string_view::npos) return;
        try {
          out.collect(Value::parseJson(line));
        } catch (const InputError& e) {
          std::string origin = fmt::format("{}:{}", reader_->path(), reader_->lineNumber());
          if (policy_ == MalformedPolicy::Fail)
            throw InputError(fmt::format("{}: {}", origin, e.what()));
          out.deadLetter(DeadLetter{origin, std::string(line), e.what()});
        }
      },
      [&] { return out.full(); });
}

void JsonLinesSource::snapshot(StateWriter& w) {
  detail::writePosition(w, reader_.get(), restore_offset_, restore_line_);
}

void JsonLinesSource::restore(StateReader& r) {
  restore_offset_ = r.read<std::uint64_t>();
  restore_line_ = r.read<std::uint64_t>();
}

// --- CsvSource ------------------------------------------------------------------------------

std::vector<std::string> CsvSource::splitLine(std::string_view line, char delimiter) {
  std::vector<std::string> fields;
  std::string field;
  std::size_t i = 0;
  bool at_field_start = true;
  while (i <= line.size()) {
    if (i == line.size()) {
      fields.push_back(std::move(field));
      break;
    }
    char c = line[i];
    if (at_field_start && c == '"') {
      ++i;
      bool closed = false;
      while (i < line.size()) {
        if (line[i] == '"') {
          if (i + 1 < line.size() && line[i + 1] == '"') {
            field.push_back('"');
            i += 2;
            continue;
          }
          closed = true;
          ++i;
          break;
        }
        field.push_back(line[i++]);
      }
      if (!closed) throw InputError("unterminated quoted field");
      if (i < line.size() && line[i] != delimiter)
        throw InputError(fmt::format("unexpected character '{}' after a quoted field", line[i]));
      at_field_start = false;
      continue;
    }
    if (c == delimiter) {
      fields.push_back(std::move(field));
      field.clear();
      at_field_start = true;
      ++i;
      if (i == line.size()) {
        fields.emplace_back();
        break;
      }
      continue;
    }
    field.push_back(c);
    at_field_start = false;
    ++i;
  }
  return fields;
}

void CsvSource::open(const SourceContext&) {
  reader_ = std::make_unique<detail::LineReader>(path_);
  if (options_.header) {
    std::string_view line;
    for (;;) {
      if (reader_->next(line)) break;
      if (reader_->fill(-1) == detail::LineReader::Fill::End)
        throw InputError(fmt::format("{}: the CSV file is empty; expected a header line", path_));
    }
    try {
      header_ = splitLine(line, options_.delimiter);
    } catch (const InputError& e) {
      throw InputError(fmt::format("{}:1: bad CSV header: {}", path_, e.what()));
    }
  }
  if (restore_offset_ > 0) reader_->seek(restore_offset_, restore_line_);
}

SourceStatus CsvSource::poll(SourceOutput<Value>& out) {
  return detail::pollLines(
      *reader_, true,
      [&](std::string_view line) {
        if (line.empty()) return;
        std::string origin;
        try {
          auto fields = splitLine(line, options_.delimiter);
          if (options_.header && fields.size() != header_.size())
            throw InputError(
                fmt::format("expected {} fields, got {}", header_.size(), fields.size()));
          Value row = options_.header ? Value::object() : Value::array();
          for (std::size_t i = 0; i < fields.size(); ++i) {
            Value v = options_.infer_types ? detail::inferValue(fields[i]) : Value(fields[i]);
            if (options_.header)
              row[header_[i]] = std::move(v);
            else
              row.push(std::move(v));
          }
          out.collect(std::move(row));
        } catch (const InputError& e) {
          origin = fmt::format("{}:{}", reader_->path(), reader_->lineNumber());
          if (options_.on_malformed == MalformedPolicy::Fail)
            throw InputError(fmt::format("{}: {}", origin, e.what()));
          out.deadLetter(DeadLetter{origin, std::string(line), e.what()});
        }
      },
      [&] { return out.full(); });
}

void CsvSource::snapshot(StateWriter& w) {
  detail::writePosition(w, reader_.get(), restore_offset_, restore_line_);
}

void CsvSource::restore(StateReader& r) {
  restore_offset_ = r.read<std::uint64_t>();
  restore_line_ = r.read<std::uint64_t>();
}

}  // namespace lightflus
