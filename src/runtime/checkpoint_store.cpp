// CheckpointStore: a job's checkpoint files in one directory.
#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <system_error>

#include "lightflus/checkpoint.hpp"
#include "lightflus/error.hpp"

namespace lightflus {
namespace fs = std::filesystem;

namespace {
constexpr std::string_view kPrefix = "chk-";
constexpr std::string_view kSuffix = ".lfsnap";

bool isCheckpointName(const std::string& name) {
  if (name.size() != kPrefix.size() + 20 + kSuffix.size()) return false;
  if (!name.starts_with(kPrefix) || !name.ends_with(kSuffix)) return false;
  return std::all_of(name.begin() + static_cast<long>(kPrefix.size()),
                     name.end() - static_cast<long>(kSuffix.size()),
                     [](char c) { return c >= '0' && c <= '9'; });
}
}  // namespace

CheckpointStore::CheckpointStore(std::string directory, int retain)
    : directory_(std::move(directory)), retain_(std::max(1, retain)) {
  if (directory_.empty()) throw ConfigError("the checkpoint directory is empty");
}

std::string CheckpointStore::pathOf(std::uint64_t id) const {
  return fmt::format("{}/{}{:020}{}", directory_, kPrefix, id, kSuffix);
}

std::string CheckpointStore::write(const Snapshot& snapshot) {
  std::error_code ec;
  fs::create_directories(directory_, ec);
  if (ec)
    throw ConnectorError(
        fmt::format("cannot create the checkpoint directory '{}': {}", directory_, ec.message()));
  std::string path = pathOf(snapshot.checkpoint_id);
  snapshot.writeTo(path);
  auto all = list();
  for (std::size_t i = static_cast<std::size_t>(retain_); i < all.size(); ++i)
    fs::remove(all[i], ec);  // an old checkpoint that stays is harmless
  return path;
}

std::vector<std::string> CheckpointStore::list() const {
  std::vector<std::string> names;
  std::error_code ec;
  for (fs::directory_iterator it(directory_, ec), end; !ec && it != end; it.increment(ec)) {
    std::string name = it->path().filename().string();
    if (isCheckpointName(name)) names.push_back(name);
  }
  std::sort(names.rbegin(), names.rend());
  for (auto& n : names) n = directory_ + "/" + n;
  return names;
}

FoundCheckpoint CheckpointStore::latest() const {
  FoundCheckpoint found;
  for (const auto& path : list()) {
    try {
      found.snapshot = std::make_shared<const Snapshot>(Snapshot::readFrom(path));
      found.path = path;
      return found;
    } catch (const Error& e) {
      found.rejected.push_back(e.what());
    }
  }
  return found;
}

void CheckpointStore::clear() {
  std::error_code ec;
  // Oldest first: a process killed midway leaves the newest (the final one of a finished job),
  // whose restore writes nothing again, never only older ones, whose restore would.
  auto paths = list();
  for (auto it = paths.rbegin(); it != paths.rend(); ++it) fs::remove(*it, ec);
}

FoundCheckpoint loadCheckpoint(const std::string& path) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    FoundCheckpoint found = CheckpointStore(path).latest();
    if (!found.snapshot) {
      std::string why = found.rejected.empty() ? " (it holds none)" : "";
      for (const auto& r : found.rejected) why += "\n  " + r;
      throw InputError(fmt::format("no intact checkpoint in '{}'{}", path, why));
    }
    return found;
  }
  FoundCheckpoint found;
  found.snapshot = std::make_shared<const Snapshot>(Snapshot::readFrom(path));
  found.path = path;
  return found;
}

}  // namespace lightflus
