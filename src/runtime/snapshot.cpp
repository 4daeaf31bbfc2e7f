// Snapshot serialization and atomic files.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "lightflus/error.hpp"
#include "lightflus/executor.hpp"
#include "lightflus/serializer.hpp"

namespace lightflus {
namespace {
constexpr std::string_view kMagic = "LFSNAP01";

std::string systemError(const std::string& what, const std::string& path) {
  return what + " '" + path + "': " + std::strerror(errno);
}
}  // namespace

std::string Snapshot::serialize() const {
  std::string out(kMagic);
  StateWriter w(out);
  w.write(checkpoint_id);
  w.write(job_name);
  w.writeSize(operators.size());
  for (const auto& [uid, op] : operators) {
    w.write(uid);
    w.write(op.name);
    w.write(op.parallelism);
    w.write(op.subtasks);
  }
  return out;
}

Snapshot Snapshot::deserialize(std::string_view bytes) {
  if (bytes.substr(0, kMagic.size()) != kMagic)
    throw InputError("not a Lightflus snapshot (bad header)");
  StateReader r(bytes.substr(kMagic.size()));
  Snapshot s;
  s.checkpoint_id = r.read<std::uint64_t>();
  s.job_name = r.read<std::string>();
  auto n = r.readSize();
  for (std::uint64_t i = 0; i < n; ++i) {
    auto uid = r.read<std::string>();
    OperatorState op;
    op.name = r.read<std::string>();
    op.parallelism = r.read<int>();
    op.subtasks = r.read<std::vector<std::string>>();
    s.operators.emplace(std::move(uid), std::move(op));
  }
  if (!r.atEnd()) throw InputError("snapshot has trailing bytes (corrupt?)");
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
