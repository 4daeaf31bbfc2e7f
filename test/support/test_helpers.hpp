// Small helpers shared by the tests that wait on real servers.
#pragma once

#include <algorithm>
#include <chrono>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace lightflus::test {

/// The whole contents of a file; throws if it cannot be read.
inline std::string readFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read '" + path + "'");
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

#ifdef LIGHTFLUS_SOURCE_DIR
/// A path in the source tree (targets define LIGHTFLUS_SOURCE_DIR).
inline std::string sourcePath(const std::string& relative) {
  return std::string(LIGHTFLUS_SOURCE_DIR) + "/" + relative;
}
#endif

/// prefix + from, ..., prefix + (to - 1).
inline std::vector<std::string> numbered(const std::string& prefix, int from, int to) {
  std::vector<std::string> out;
  for (int i = from; i < to; ++i) out.push_back(prefix + std::to_string(i));
  return out;
}

template <class T>
std::vector<T> sorted(std::vector<T> v) {
  std::sort(v.begin(), v.end());
  return v;
}

/// Waits until `done()` or `timeout`; true if done. The timeout guards against a hang; it is
/// not a performance bound.
template <class F>
bool eventually(F done, std::chrono::milliseconds timeout = std::chrono::seconds(60)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return done();
}

}  // namespace lightflus::test
