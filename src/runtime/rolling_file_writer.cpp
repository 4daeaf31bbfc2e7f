// RollingFileWriter: the file series of one rolling JSON-lines sink subtask, exactly-once with
// checkpoints in the way of Flink's FileSink for row formats.
//
// A part is written under a hidden name (".<name>.inprogress"). Rolled (by size, age, or at a
// checkpoint with roll_on_checkpoint) it is flushed, fsynced and closed, and becomes pending:
// it keeps its hidden name until the checkpoint that follows the roll completes; then it is
// committed, renamed to <name>, and the directory fsynced. The in-progress part is not rolled
// at a checkpoint: the checkpoint records its name and length, and a restore cuts it back to
// that length. So the visible files always hold exactly the records of completed checkpoints
// (plus, at the end of the input, the rest).
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "lightflus/connectors/file.hpp"

namespace lightflus::detail {

namespace fs = std::filesystem;

namespace {

constexpr std::uint32_t kStateVersion = 1;
constexpr std::string_view kHiddenSuffix = ".inprogress";

std::string errnoText() {
  return std::strerror(errno);
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

bool exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

void fsyncFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) throw ConnectorError("cannot open '" + path + "' to fsync it: " + errnoText());
  int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) throw ConnectorError("fsync of '" + path + "' failed: " + errnoText());
}

}  // namespace

void RollingFileState::write(StateWriter& w) const {
  w.write(kStateVersion);
  w.write(static_cast<std::int32_t>(subtask));
  w.write(next_sequence);
  w.write(in_progress);
  w.write(in_progress_bytes);
  w.writeSize(pending.size());
  for (const auto& p : pending) {
    w.write(p.checkpoint_id);
    w.write(p.name);
  }
}

RollingFileState RollingFileState::read(std::string_view bytes) {
  StateReader r(bytes);
  auto version = r.read<std::uint32_t>();
  if (version != kStateVersion)
    throw InputError(
        fmt::format("the rolling file sink's state has version {}, this build reads version {}",
                    version, kStateVersion));
  RollingFileState state;
  state.subtask = r.read<std::int32_t>();
  state.next_sequence = r.read<std::uint64_t>();
  state.in_progress = r.read<std::string>();
  state.in_progress_bytes = r.read<std::uint64_t>();
  auto n = r.readSize();
  for (std::uint64_t i = 0; i < n; ++i) {
    RollingFileState::Pending p;
    p.checkpoint_id = r.read<std::uint64_t>();
    p.name = r.read<std::string>();
    state.pending.push_back(std::move(p));
  }
  return state;
}

RollingFileWriter::RollingFileWriter(RollingFileOptions options, int subtask)
    : options_(std::move(options)), subtask_(subtask) {
  std::error_code ec;
  fs::create_directories(options_.directory, ec);
  if (ec)
    throw ConnectorError("cannot create the directory '" + options_.directory +
                         "': " + ec.message());
  // Numbers are never reused, not even those of hidden parts a restore removes: a name once
  // seen by a reader always means the same content.
  const std::string stem = fmt::format("{}-{}-", options_.prefix, subtask_);
  const std::string hidden_stem = "." + stem;
  const std::string hidden_suffix = options_.suffix + std::string(kHiddenSuffix);
  long long highest = -1;
  for (const auto& entry : fs::directory_iterator(options_.directory, ec)) {
    std::string name = entry.path().filename().string();
    highest = std::max({highest, sequenceOf(name, stem, options_.suffix),
                        sequenceOf(name, hidden_stem, hidden_suffix)});
  }
  if (ec)
    throw ConnectorError("cannot list the directory '" + options_.directory + "': " + ec.message());
  next_sequence_ = static_cast<std::uint64_t>(highest + 1);
}

RollingFileWriter::~RollingFileWriter() {
  if (file_) std::fclose(file_);  // not committed: stays under its hidden name
}

std::string RollingFileWriter::hiddenPath(const std::string& name) const {
  return (fs::path(options_.directory) / ("." + name + std::string(kHiddenSuffix))).string();
}

std::string RollingFileWriter::finalPath(const std::string& name) const {
  return (fs::path(options_.directory) / name).string();
}

void RollingFileWriter::syncDirectory() {
  if (!directory_dirty_) return;
  int fd = ::open(options_.directory.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd < 0)
    throw ConnectorError("cannot open the directory '" + options_.directory + "': " + errnoText());
  int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) throw ConnectorError("fsync of the directory '" + options_.directory + "' failed");
  directory_dirty_ = false;
}

void RollingFileWriter::restore(const std::vector<RollingFileState>& states, int parallelism) {
  for (const auto& state : states) restoreParts(state);
  removeLeftovers(parallelism);
  syncDirectory();
}

void RollingFileWriter::restoreParts(const RollingFileState& state) {
  const std::string where =
      fmt::format(" (restoring the rolling file sink in '{}')", options_.directory);
  for (const auto& p : state.pending) commitPart(p.name);
  if (!state.in_progress.empty()) {
    const std::string hidden = hiddenPath(state.in_progress);
    struct stat st {};
    if (::stat(hidden.c_str(), &st) == 0) {
      auto size = static_cast<std::uint64_t>(st.st_size);
      if (size < state.in_progress_bytes)
        throw ConnectorError(fmt::format(
            "'{}' is shorter ({} bytes) than at the checkpoint being restored ({} bytes): it was "
            "changed outside the job{}",
            hidden, size, state.in_progress_bytes, where));
      if (size > state.in_progress_bytes &&
          ::truncate(hidden.c_str(), static_cast<off_t>(state.in_progress_bytes)) != 0)
        throw ConnectorError("cannot cut '" + hidden +
                             "' back to its checkpointed length: " + errnoText());
      fsyncFile(hidden);
      // The restored checkpoint is complete, so what it holds of this part is committed now;
      // the run goes on in a new part.
      commitPart(state.in_progress);
    } else if (!exists(finalPath(state.in_progress))) {
      throw ConnectorError("the part '" + state.in_progress + "' that the checkpoint holds is " +
                           "missing: neither '" + hidden + "' nor '" +
                           finalPath(state.in_progress) + "' exists" + where);
    }
    // Else a later checkpoint or the end of the input committed it already.
  }
  if (state.subtask == subtask_) next_sequence_ = std::max(next_sequence_, state.next_sequence);
}

void RollingFileWriter::removeLeftovers(int parallelism) {
  // A hidden file of a series this subtask restores (series k goes to subtask k % parallelism,
  // as the old subtasks' states do) that the checkpoint did not name was written after the
  // checkpoint, or by a run that never completed one: the job writes those records again.
  const std::string stem = "." + options_.prefix + "-";
  const std::string tail = options_.suffix + std::string(kHiddenSuffix);
  std::error_code ec;
  std::vector<fs::path> leftovers;
  for (const auto& entry : fs::directory_iterator(options_.directory, ec)) {
    std::string name = entry.path().filename().string();
    if (name.size() <= stem.size() + tail.size() || name.compare(0, stem.size(), stem) != 0)
      continue;
    auto dash = name.find('-', stem.size());
    if (dash == std::string::npos) continue;
    long long series = sequenceOf(name.substr(0, dash + 1), stem, "-");
    if (series < 0 || sequenceOf(name, name.substr(0, dash + 1), tail) < 0) continue;
    if (series % parallelism == subtask_) leftovers.push_back(entry.path());
  }
  if (ec)
    throw ConnectorError("cannot list the directory '" + options_.directory + "': " + ec.message());
  for (const auto& path : leftovers) {
    if (!fs::remove(path, ec) && ec)
      throw ConnectorError("cannot remove '" + path.string() + "' (restoring the rolling file " +
                           "sink): " + ec.message());
    directory_dirty_ = true;
  }
}

void RollingFileWriter::openNext() {
  current_ =
      fmt::format("{}-{}-{:06}{}", options_.prefix, subtask_, next_sequence_++, options_.suffix);
  const std::string hidden = hiddenPath(current_);
  file_ = std::fopen(hidden.c_str(), "w");
  if (!file_) throw ConnectorError("cannot open '" + hidden + "' for writing: " + errnoText());
  bytes_ = 0;
  opened_at_ = std::chrono::steady_clock::now();
  directory_dirty_ = true;
}

void RollingFileWriter::rollCurrent() {
  if (!file_ || broken_) return;
  bool synced = std::fflush(file_) == 0 && ::fsync(::fileno(file_)) == 0;
  bool closed = std::fclose(file_) == 0;
  file_ = nullptr;
  if (!synced || !closed)
    throw ConnectorError("flushing '" + hiddenPath(current_) + "' failed: " + errnoText());
  if (commit_on_roll_) {
    commitPart(current_);
    syncDirectory();
    return;
  }
  pending_.push_back({0, current_});
}

void RollingFileWriter::commitPart(const std::string& name) {
  const std::string hidden = hiddenPath(name), visible = finalPath(name);
  if (std::rename(hidden.c_str(), visible.c_str()) == 0) {
    directory_dirty_ = true;
    committed_.push_back(visible);
    return;
  }
  // Committing is idempotent: a restore may commit again what a completed checkpoint
  // committed before the crash.
  int error = errno;
  if (error == ENOENT && exists(visible)) return;
  throw ConnectorError("cannot rename '" + hidden + "' to '" + visible +
                       "': " + std::strerror(error));
}

void RollingFileWriter::writeLine(std::string_view line) {
  if (file_ && bytes_ > 0 && options_.max_bytes > 0 && bytes_ + line.size() > options_.max_bytes)
    rollCurrent();
  rollIfDue();
  if (!file_) openNext();
  if (std::fwrite(line.data(), 1, line.size(), file_) != line.size()) {
    broken_ = true;
    throw ConnectorError("writing to '" + hiddenPath(current_) + "' failed: " + errnoText());
  }
  bytes_ += line.size();
}

void RollingFileWriter::rollIfDue() {
  if (file_ && options_.roll_interval.count() > 0 &&
      std::chrono::steady_clock::now() - opened_at_ >= options_.roll_interval)
    rollCurrent();
}

void RollingFileWriter::flush() {
  rollIfDue();
  if (file_ && options_.roll_on_checkpoint) {
    rollCurrent();
  } else if (file_ && (std::fflush(file_) != 0 || ::fsync(::fileno(file_)) != 0)) {
    throw ConnectorError("flushing '" + hiddenPath(current_) + "' failed: " + errnoText());
  }
  // The checkpoint names the hidden parts: their directory entries must be durable too.
  syncDirectory();
}

RollingFileState RollingFileWriter::snapshot(std::uint64_t checkpoint_id) {
  for (auto& p : pending_)
    if (p.checkpoint_id == 0) p.checkpoint_id = checkpoint_id;
  RollingFileState state;
  state.subtask = subtask_;
  state.next_sequence = next_sequence_;
  if (file_) {
    state.in_progress = current_;
    state.in_progress_bytes = bytes_;
  }
  state.pending = pending_;
  return state;
}

void RollingFileWriter::commit(std::uint64_t checkpoint_id) {
  auto due = [&](const RollingFileState::Pending& p) {
    return p.checkpoint_id != 0 && p.checkpoint_id <= checkpoint_id;
  };
  for (const auto& p : pending_)
    if (due(p)) commitPart(p.name);
  pending_.erase(std::remove_if(pending_.begin(), pending_.end(), due), pending_.end());
  syncDirectory();
}

void RollingFileWriter::finish() {
  rollCurrent();
  if (broken_) return;
  for (const auto& p : pending_) commitPart(p.name);
  pending_.clear();
  syncDirectory();
}

}  // namespace lightflus::detail
