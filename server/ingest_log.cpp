#include "ingest_log.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <optional>

#include <fmt/format.h>

#include "job_registry.hpp"
#include "lightflus/checkpoint.hpp"
#include "lightflus/error.hpp"

namespace lightflus::server {

namespace fs = std::filesystem;

namespace {

std::string errnoText() {
  return std::strerror(errno);
}

// The records of one log line without its newline, or nothing when the line is damaged.
struct Line {
  std::uint64_t count = 0;
  std::string_view json;
};

std::optional<Line> parseLine(std::string_view line) {
  if (line.size() < 12 || line[8] != ' ') return std::nullopt;
  std::uint32_t crc = 0;
  auto [crc_end, crc_error] = std::from_chars(line.data(), line.data() + 8, crc, 16);
  if (crc_error != std::errc() || crc_end != line.data() + 8) return std::nullopt;
  std::string_view rest = line.substr(9);
  if (crc32c(rest) != crc) return std::nullopt;
  Line parsed;
  auto [count_end, count_error] =
      std::from_chars(rest.data(), rest.data() + rest.size(), parsed.count);
  if (count_error != std::errc() || count_end == rest.data() + rest.size() || *count_end != ' ')
    return std::nullopt;
  parsed.json = rest.substr(static_cast<std::size_t>(count_end - rest.data()) + 1);
  return parsed;
}

}  // namespace

fs::path ingestLogPath(const fs::path& job_dir, const std::string& source) {
  // Operator names are user text: a safe name is used as it is, any other hex-encoded.
  std::string file = source;
  if (!isValidJobName(source)) {
    file = "x";
    for (unsigned char c : source) file += fmt::format("{:02x}", c);
  }
  return job_dir / "ingest" / (file + ".wal");
}

IngestLog::IngestLog(fs::path path) : path_(std::move(path)) {
  fs::create_directories(path_.parent_path());
  fd_ = ::open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0)
    throw Error(fmt::format("cannot open the ingest log '{}': {}", path_.string(), errnoText()));
  // Count the intact lines; cut off whatever follows the last one (a torn, unacknowledged
  // write).
  std::string text;
  char chunk[1 << 16];
  for (;;) {
    ssize_t n = ::read(fd_, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0)
      throw Error(fmt::format("cannot read the ingest log '{}': {}", path_.string(), errnoText()));
    if (n == 0) break;
    text.append(chunk, static_cast<std::size_t>(n));
  }
  std::size_t good = 0;
  std::uint64_t records = 0;
  while (good < text.size()) {
    std::size_t newline = text.find('\n', good);
    if (newline == std::string::npos) break;
    auto line = parseLine(std::string_view(text).substr(good, newline - good));
    if (!line) break;
    records += line->count;
    good = newline + 1;
  }
  if (good < text.size()) {
    std::fprintf(stderr, "lightflusd: %s: cutting off %zu bytes of an unacknowledged write\n",
                 path_.c_str(), text.size() - good);
    if (::ftruncate(fd_, static_cast<off_t>(good)) != 0 || ::fsync(fd_) != 0)
      throw Error(
          fmt::format("cannot repair the ingest log '{}': {}", path_.string(), errnoText()));
  }
  if (::lseek(fd_, 0, SEEK_END) < 0)
    throw Error(fmt::format("cannot seek in the ingest log '{}': {}", path_.string(), errnoText()));
  records_ = records;
}

IngestLog::~IngestLog() {
  if (fd_ >= 0) ::close(fd_);
}

void IngestLog::append(const std::vector<Value>& records) {
  std::string json = "[";
  for (std::size_t i = 0; i < records.size(); ++i) {
    if (i > 0) json += ',';
    records[i].appendJson(json);
  }
  json += ']';
  std::string rest = fmt::format("{} {}", records.size(), json);
  std::string line = fmt::format("{:08x} {}\n", crc32c(rest), rest);
  std::lock_guard lock(mutex_);
  const off_t start = ::lseek(fd_, 0, SEEK_END);
  std::size_t written = 0;
  while (written < line.size()) {
    ssize_t n = ::write(fd_, line.data() + written, line.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      std::string why = errnoText();
      if (start >= 0 && ::ftruncate(fd_, start) != 0) {
        // The torn line stays until the log is opened again, which cuts it off.
      }
      throw Error(fmt::format("cannot append to the ingest log '{}': {}", path_.string(), why));
    }
    written += static_cast<std::size_t>(n);
  }
  if (::fdatasync(fd_) != 0)
    throw Error(fmt::format("cannot sync the ingest log '{}': {}", path_.string(), errnoText()));
  records_ += records.size();
}

IngestLogSource::IngestLogSource(fs::path path, std::shared_ptr<IngestProgress> progress)
    : path_(std::move(path)), progress_(std::move(progress)) {}

IngestLogSource::~IngestLogSource() {
  if (fd_ >= 0) ::close(fd_);
}

void IngestLogSource::open(const SourceContext& ctx) {
  if (ctx.parallelism != 1)
    throw ConfigError("operator '" + ctx.operator_name +
                      "': an HttpSource runs with parallelism 1, not " +
                      std::to_string(ctx.parallelism));
  fs::create_directories(path_.parent_path());
  fd_ = ::open(path_.c_str(), O_RDONLY | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0)
    throw ConnectorError(fmt::format("operator '{}': cannot open the ingest log '{}': {}",
                                     ctx.operator_name, path_.string(), errnoText()));
  progress_->next_record = next_record_;
  std::lock_guard lock(progress_->mutex);
  progress_->wakeup = [ctx] { ctx.wakeup(); };
}

bool IngestLogSource::readLine() {
  for (;;) {
    std::size_t newline = buffer_.find('\n');
    if (newline != std::string::npos) {
      auto line = parseLine(std::string_view(buffer_).substr(0, newline));
      if (!line)
        throw ConnectorError(
            fmt::format("the ingest log '{}' is damaged at byte {}", path_.string(), offset_));
      Value records = Value::parseJson(line->json);
      if (!records.isArray() || records.asArray().size() != line->count)
        throw ConnectorError(
            fmt::format("the ingest log '{}' is damaged at byte {}", path_.string(), offset_));
      pending_ = records.asArray();
      line_bytes_ = newline + 1;
      buffer_.erase(0, newline + 1);
      return true;
    }
    char chunk[1 << 16];
    const off_t at = static_cast<off_t>(offset_ + buffer_.size());
    ssize_t n = ::pread(fd_, chunk, sizeof chunk, at);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0)
      throw ConnectorError(
          fmt::format("cannot read the ingest log '{}': {}", path_.string(), errnoText()));
    if (n == 0) return false;
    buffer_.append(chunk, static_cast<std::size_t>(n));
  }
}

SourceStatus IngestLogSource::poll(SourceOutput<Value>& out) {
  while (!out.full()) {
    if (line_bytes_ == 0 && !readLine()) return SourceStatus::Blocked;
    while (emitted_in_line_ < pending_.size() && !out.full()) {
      out.collect(std::move(pending_[emitted_in_line_]));
      ++emitted_in_line_;
      ++next_record_;
    }
    if (emitted_in_line_ == pending_.size()) {
      offset_ += line_bytes_;
      line_bytes_ = 0;
      emitted_in_line_ = 0;
      pending_.clear();
    }
    progress_->next_record = next_record_;
  }
  return SourceStatus::HaveMoreOutput;
}

void IngestLogSource::snapshot(StateWriter& w) {
  w.write<std::uint64_t>(offset_);
  w.write<std::uint64_t>(emitted_in_line_);
  w.write<std::uint64_t>(next_record_);
}

void IngestLogSource::restore(StateReader& r) {
  offset_ = r.read<std::uint64_t>();
  // Inside the line the checkpoint was taken in, skip what was emitted before it.
  emitted_in_line_ = r.read<std::uint64_t>();
  next_record_ = r.read<std::uint64_t>();
  buffer_.clear();
  pending_.clear();
  line_bytes_ = 0;
}

void IngestLogSource::close() {
  std::lock_guard lock(progress_->mutex);
  progress_->wakeup = nullptr;
}

}  // namespace lightflus::server
