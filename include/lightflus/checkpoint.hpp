// Checkpoints on disk: the directory a job's periodic checkpoints go to, and finding the
// newest one that is intact.
//
// A checkpoint is a Snapshot (executor.hpp) written atomically (temp file, fsync, rename,
// fsync of the directory) as `<dir>/chk-<id>.lfsnap`, the id zero-padded to 20 digits so that
// names sort by id. Its format is versioned ("LFSNAP02"): a header section (checkpoint id, job
// name, number of operators) and one section per operator (uid, name, parallelism, the bytes
// of each subtask), each section framed by its length and a CRC32C of its bytes. A flipped
// bit or a truncated file is refused with a message naming the file and the section, and the
// store falls back to the checkpoint before it.
//
//     CheckpointStore store("ck", /*retain=*/3);
//     auto found = store.latest();          // newest intact checkpoint, or none
//     for (auto& why : found.rejected) std::cerr << why << "\n";
//     if (found.snapshot) options.restore = found.snapshot;
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "lightflus/executor.hpp"

namespace lightflus {

/// CRC32C (Castagnoli) of `data`, continuing from `crc` (0 to start). Uses SSE4.2 when the CPU
/// has it.
LIGHTFLUS_API std::uint32_t crc32c(std::string_view data, std::uint32_t crc = 0);

/// A checkpoint found on disk.
struct FoundCheckpoint {
  /// The snapshot; null when there is no intact checkpoint.
  std::shared_ptr<const Snapshot> snapshot;
  /// The file it was read from.
  std::string path;
  /// One line per newer checkpoint file that was refused, saying why ("chk-...: section 2 ...
  /// checksum mismatch"), newest first.
  std::vector<std::string> rejected;
};

/// The checkpoints of one job in one directory.
class LIGHTFLUS_API CheckpointStore {
 public:
  /// `retain`: complete checkpoints kept; older ones are deleted after each write (at least 1).
  explicit CheckpointStore(std::string directory, int retain = 3);

  /// Writes `snapshot` as checkpoint `snapshot.checkpoint_id` (creating the directory), then
  /// deletes the oldest checkpoints beyond `retain`. Returns the file's path. Throws
  /// ConnectorError when the file cannot be written.
  std::string write(const Snapshot& snapshot);
  /// The checkpoint files in the directory, newest first.
  std::vector<std::string> list() const;
  /// The newest checkpoint that reads back intact (see FoundCheckpoint).
  FoundCheckpoint latest() const;
  /// Deletes every checkpoint file (a finished job's).
  void clear();
  const std::string& directory() const noexcept { return directory_; }
  /// The file name of checkpoint `id` in the directory.
  std::string pathOf(std::uint64_t id) const;

 private:
  std::string directory_;
  int retain_;
};

/// Reads a checkpoint to restore from: `path` is a checkpoint (or savepoint) file, or a
/// directory whose newest intact checkpoint is taken. Throws InputError (corrupt file, or a
/// directory holding no intact checkpoint: the message lists why each was refused).
LIGHTFLUS_API FoundCheckpoint loadCheckpoint(const std::string& path);

}  // namespace lightflus
