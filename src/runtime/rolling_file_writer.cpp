// RollingFileWriter: the file series of one rolling JSON-lines sink subtask. Files are written
// under a hidden in-progress name and renamed when complete (after fflush and fsync), then the
// directory is fsynced, so a file under its final name is always whole.
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <system_error>

#include "lightflus/connectors/file.hpp"

namespace lightflus::detail {

namespace fs = std::filesystem;

namespace {

std::string errnoText() {
  return std::strerror(errno);
}

void fsyncDirectory(const std::string& directory) {
  int fd = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd < 0) throw ConnectorError("cannot open the directory '" + directory + "': " + errnoText());
  int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) throw ConnectorError("fsync of the directory '" + directory + "' failed");
}

// The sequence number of `name` if it is "<stem><digits><suffix>", else -1.
long long sequenceOf(std::string_view name, std::string_view stem, std::string_view suffix) {
  if (name.size() <= stem.size() + suffix.size() || name.substr(0, stem.size()) != stem ||
      name.substr(name.size() - suffix.size()) != suffix)
    return -1;
  std::string_view digits = name.substr(stem.size(), name.size() - stem.size() - suffix.size());
  long long n = 0;
  for (char c : digits) {
    if (c < '0' || c > '9' || n > (1LL << 50)) return -1;
    n = n * 10 + (c - '0');
  }
  return n;
}

// Cuts an in-progress file of an earlier run after its last complete line and gives it its
// final name (or removes it when nothing complete is left).
void recover(const fs::path& in_progress, const fs::path& final_path) {
  std::error_code ec;
  auto size = fs::file_size(in_progress, ec);
  if (ec) throw ConnectorError("cannot read '" + in_progress.string() + "': " + ec.message());
  std::uint64_t keep = 0;
  {
    std::ifstream in(in_progress, std::ios::binary);
    std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto last = data.rfind('\n');
    keep = last == std::string::npos ? 0 : last + 1;
  }
  if (keep == 0) {
    fs::remove(in_progress, ec);
    return;
  }
  if (keep != size && ::truncate(in_progress.c_str(), static_cast<off_t>(keep)) != 0)
    throw ConnectorError("cannot truncate '" + in_progress.string() + "': " + errnoText());
  int fd = ::open(in_progress.c_str(), O_RDONLY);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
  fs::rename(in_progress, final_path, ec);
  if (ec)
    throw ConnectorError("cannot rename '" + in_progress.string() + "' to '" + final_path.string() +
                         "': " + ec.message());
}

}  // namespace

RollingFileWriter::RollingFileWriter(RollingFileOptions options, int subtask)
    : options_(std::move(options)), subtask_(subtask) {
  std::error_code ec;
  fs::create_directories(options_.directory, ec);
  if (ec)
    throw ConnectorError("cannot create the directory '" + options_.directory +
                         "': " + ec.message());
  const std::string stem = fmt::format("{}-{}-", options_.prefix, subtask_);
  const std::string hidden_stem = "." + stem;
  const std::string hidden_suffix = options_.suffix + ".inprogress";
  long long highest = -1;
  bool recovered = false;
  for (const auto& entry : fs::directory_iterator(options_.directory, ec)) {
    std::string name = entry.path().filename().string();
    if (long long n = sequenceOf(name, stem, options_.suffix); n >= 0) {
      highest = std::max(highest, n);
    } else if (long long m = sequenceOf(name, hidden_stem, hidden_suffix); m >= 0) {
      highest = std::max(highest, m);
      recover(entry.path(), fs::path(options_.directory) / name.substr(1, name.size() - 12));
      recovered = true;
    }
  }
  if (ec)
    throw ConnectorError("cannot list the directory '" + options_.directory + "': " + ec.message());
  if (recovered) fsyncDirectory(options_.directory);
  next_sequence_ = static_cast<std::uint64_t>(highest + 1);
}

RollingFileWriter::~RollingFileWriter() {
  if (file_) std::fclose(file_);  // unfinished: stays under its in-progress name
}

void RollingFileWriter::openNext() {
  std::string name =
      fmt::format("{}-{}-{:06}{}", options_.prefix, subtask_, next_sequence_++, options_.suffix);
  final_path_ = (fs::path(options_.directory) / name).string();
  in_progress_path_ = (fs::path(options_.directory) / ("." + name + ".inprogress")).string();
  file_ = std::fopen(in_progress_path_.c_str(), "w");
  if (!file_)
    throw ConnectorError("cannot open '" + in_progress_path_ + "' for writing: " + errnoText());
  bytes_ = 0;
  opened_at_ = std::chrono::steady_clock::now();
}

void RollingFileWriter::finishCurrent() {
  if (!file_) return;
  if (broken_) return;
  bool synced = std::fflush(file_) == 0 && ::fsync(::fileno(file_)) == 0;
  bool closed = std::fclose(file_) == 0;
  file_ = nullptr;
  if (!synced || !closed)
    throw ConnectorError("flushing '" + in_progress_path_ + "' failed: " + errnoText());
  if (std::rename(in_progress_path_.c_str(), final_path_.c_str()) != 0)
    throw ConnectorError("cannot rename '" + in_progress_path_ + "' to '" + final_path_ +
                         "': " + errnoText());
  fsyncDirectory(options_.directory);
  finished_.push_back(final_path_);
}

void RollingFileWriter::writeLine(std::string_view line) {
  if (file_ && bytes_ > 0 && options_.max_bytes > 0 && bytes_ + line.size() > options_.max_bytes)
    finishCurrent();
  rollIfDue();
  if (!file_) openNext();
  if (std::fwrite(line.data(), 1, line.size(), file_) != line.size()) {
    broken_ = true;
    throw ConnectorError("writing to '" + in_progress_path_ + "' failed: " + errnoText());
  }
  bytes_ += line.size();
}

void RollingFileWriter::rollIfDue() {
  if (file_ && options_.roll_interval.count() > 0 &&
      std::chrono::steady_clock::now() - opened_at_ >= options_.roll_interval)
    finishCurrent();
}

void RollingFileWriter::flush() {
  rollIfDue();
  if (!file_) return;
  if (options_.roll_on_checkpoint) {
    finishCurrent();
    return;
  }
  if (std::fflush(file_) != 0 || ::fsync(::fileno(file_)) != 0)
    throw ConnectorError("flushing '" + in_progress_path_ + "' failed: " + errnoText());
}

void RollingFileWriter::finish() {
  finishCurrent();
}

}  // namespace lightflus::detail
