// The protocol between `lightflusd serve` and a job's process (`lightflusd job-process`).
//
// One JSON object per line over a Unix socket pair (the child's end is its fd 3). docs/server.md
// ("Job processes") lists the messages. From the job's process:
//
//     {"type":"started","name":N,"graph":JSON-TEXT,"plan":P,"edges":[..],"httpSources":[..],
//      "restoredFrom":F,"restoredId":I}
//     {"type":"loadError","error":E}        the job could not be loaded or started; it exits
//     {"type":"report","status":S,"error":E,"operators":[..],"checkpoints":{..},"ingest":{NAME:NEXT},
//      "deadLetters":{WRITER:N}}
//                                          every 250 ms, and once more when the job ended
//     {"type":"reply","request":R,"path":P} or {"type":"reply","request":R,"error":E}
//
// From the daemon: {"type":"stop"}, {"type":"savepoint","request":R,"path":P},
// {"type":"wake","source":NAME} (records were appended to the source's ingest log).
// End of file on the socket means the other side is gone: the job's process then stops its job.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <rapidjson/document.h>

#include "lightflus/executor.hpp"

namespace lightflus::server {

/// Lines over a file descriptor (a socket): send() from any thread, receive() from one.
class LineChannel {
 public:
  explicit LineChannel(int fd) : fd_(fd) {}
  LineChannel(const LineChannel&) = delete;
  LineChannel& operator=(const LineChannel&) = delete;

  /// Sends `line` and a newline; false when the other side is gone.
  bool send(std::string_view line);
  /// The next line, or nothing at end of file (or on an error).
  std::optional<std::string> receive();
  /// The next line if one is already buffered or arrives within `timeout`; sets `eof` at end of
  /// file.
  std::optional<std::string> receiveFor(std::chrono::milliseconds timeout, bool& eof);
  int fd() const { return fd_; }

 private:
  std::optional<std::string> takeLine();

  int fd_;
  std::mutex send_mutex_;
  std::string buffer_;
};

/// What a job's process reports about its job.
struct JobReport {
  std::string status = "running";  ///< running, finished, failed, stopped
  std::string error;
  std::vector<OperatorMetrics> operators;
  CheckpointStats checkpoints;
  /// Per HttpSource: the index of the next record it will read from its ingest log.
  std::map<std::string, std::uint64_t> ingest_next;
  /// Dead letters by writer (js::JsJob::deadLetterCounts(); dead_letters.hpp attributes them).
  std::map<std::string, std::uint64_t> dead_letters;
};

std::string encodeReport(const JobReport& report);
/// `message` is a parsed {"type":"report",...} object.
JobReport decodeReport(const rapidjson::Value& message);

/// Operator metrics as a JSON array (also kept in status.json) and back.
std::string encodeMetrics(const std::vector<OperatorMetrics>& metrics);
std::vector<OperatorMetrics> decodeMetrics(const rapidjson::Value& array);

/// Plan edges as a JSON array ({from, to, output, exchange, chained}) and back.
std::string encodePlanEdges(const std::vector<PlanEdge>& edges);
std::vector<PlanEdge> decodePlanEdges(const rapidjson::Value& array);

/// Counts by name as a JSON object and back.
std::string encodeCounts(const std::map<std::string, std::uint64_t>& counts);
std::map<std::string, std::uint64_t> decodeCounts(const rapidjson::Value& object);

/// A JSON string literal of `text`.
std::string jsonString(std::string_view text);

}  // namespace lightflus::server
