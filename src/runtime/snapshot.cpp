// Snapshot serialization and atomic files.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "lightflus/checkpoint.hpp"
#include "lightflus/error.hpp"
#include "lightflus/executor.hpp"
#include "lightflus/serializer.hpp"

namespace lightflus {
namespace {
// Version 1 had no checksums; it is still read.
constexpr std::string_view kMagicV1 = "LFSNAP01";
constexpr std::string_view kMagic = "LFSNAP02";
constexpr std::string_view kEnd = "LFSNAPEND";

std::string systemError(const std::string& what, const std::string& path) {
  return what + " '" + path + "': " + std::strerror(errno);
}

// Appends a section: its length (u64), the CRC32C of its bytes (u32), the bytes.
void appendSection(std::string& out, const std::string& bytes) {
  std::uint64_t n = bytes.size();
  std::uint32_t crc = crc32c(bytes);
  out.append(reinterpret_cast<const char*>(&n), sizeof n);
  out.append(reinterpret_cast<const char*>(&crc), sizeof crc);
  out += bytes;
}

// Reads the next section, checking its length and checksum; `what` names it in errors.
std::string_view readSection(std::string_view& in, const std::string& what) {
  std::uint64_t n;
  std::uint32_t crc;
  if (in.size() < sizeof n + sizeof crc) throw InputError(what + " is truncated");
  std::memcpy(&n, in.data(), sizeof n);
  std::memcpy(&crc, in.data() + sizeof n, sizeof crc);
  in.remove_prefix(sizeof n + sizeof crc);
  if (n > in.size())
    throw InputError(
        fmt::format("{} is truncated (its length says {} bytes, {} are left)", what, n, in.size()));
  std::string_view bytes = in.substr(0, n);
  in.remove_prefix(n);
  if (crc32c(bytes) != crc) throw InputError(what + ": checksum mismatch (the data is corrupt)");
  return bytes;
}

void readOperator(StateReader& r, Snapshot& s, bool with_kind) {
  auto uid = r.read<std::string>();
  Snapshot::OperatorState op;
  op.name = r.read<std::string>();
  if (with_kind) op.kind = r.read<std::string>();
  op.parallelism = r.read<int>();
  op.subtasks = r.read<std::vector<std::string>>();
  s.operators.emplace(std::move(uid), std::move(op));
}

Snapshot deserializeV1(std::string_view bytes) {
  StateReader r(bytes);
  Snapshot s;
  s.checkpoint_id = r.read<std::uint64_t>();
  s.job_name = r.read<std::string>();
  auto n = r.readSize();
  for (std::uint64_t i = 0; i < n; ++i) readOperator(r, s, false);
  if (!r.atEnd()) throw InputError("snapshot has trailing bytes (corrupt?)");
  return s;
}
}  // namespace

std::string Snapshot::serialize() const {
  std::string out(kMagic);
  std::string section;
  {
    StateWriter w(section);
    w.write(checkpoint_id);
    w.write(job_name);
    w.writeSize(operators.size());
    // Added after the format's first release: readers take its absence as "not final".
    w.write(static_cast<std::uint8_t>(final ? 1 : 0));
  }
  appendSection(out, section);
  for (const auto& [uid, op] : operators) {
    section.clear();
    StateWriter w(section);
    w.write(uid);
    w.write(op.name);
    w.write(op.kind);
    w.write(op.parallelism);
    w.write(op.subtasks);
    appendSection(out, section);
  }
  out += kEnd;
  return out;
}

Snapshot Snapshot::deserialize(std::string_view bytes) {
  if (bytes.substr(0, kMagicV1.size()) == kMagicV1)
    return deserializeV1(bytes.substr(kMagicV1.size()));
  if (bytes.substr(0, kMagic.size()) != kMagic)
    throw InputError("not a Lightflus snapshot (bad header)");
  std::string_view in = bytes.substr(kMagic.size());
  Snapshot s;
  std::uint64_t count = 0;
  {
    StateReader r(readSection(in, "the header section"));
    s.checkpoint_id = r.read<std::uint64_t>();
    s.job_name = r.read<std::string>();
    count = r.readSize();
    if (!r.atEnd()) s.final = r.read<std::uint8_t>() != 0;
    if (!r.atEnd()) throw InputError("the header section has trailing bytes");
  }
  for (std::uint64_t i = 0; i < count; ++i) {
    std::string what = fmt::format("section {} (operator {} of {})", i + 2, i + 1, count);
    StateReader r(readSection(in, what));
    try {
      readOperator(r, s, true);
    } catch (const InputError& e) {
      throw InputError(what + ": " + e.what());
    }
    if (!r.atEnd()) throw InputError(what + " has trailing bytes");
  }
  if (in != kEnd)
    throw InputError(in.size() < kEnd.size() ? "the snapshot is truncated (no end marker)"
                                             : "the snapshot has trailing bytes after its end");
  return s;
}

void Snapshot::writeTo(const std::string& path) const {
  std::string data = serialize();
  std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw ConnectorError(systemError("cannot create snapshot file", tmp));
  std::size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      std::string msg = systemError("cannot write snapshot file", tmp);
      ::close(fd);
      throw ConnectorError(msg);
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) {
    std::string msg = systemError("cannot fsync snapshot file", tmp);
    ::close(fd);
    throw ConnectorError(msg);
  }
  ::close(fd);
  if (std::rename(tmp.c_str(), path.c_str()) != 0)
    throw ConnectorError(systemError("cannot rename snapshot file to", path));
  // Make the rename durable too.
  std::string dir = path.find('/') == std::string::npos ? "." : path.substr(0, path.rfind('/'));
  if (dir.empty()) dir = "/";
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

Snapshot Snapshot::readFrom(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConnectorError(systemError("cannot open snapshot file", path));
  std::ostringstream buf;
  buf << in.rdbuf();
  try {
    return deserialize(buf.str());
  } catch (const InputError& e) {
    throw InputError("snapshot file '" + path + "': " + e.what());
  }
}

}  // namespace lightflus
