#include "job_protocol.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cerrno>

namespace lightflus::server {

namespace {

using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

void writeString(Writer& out, std::string_view text) {
  out.String(text.data(), static_cast<rapidjson::SizeType>(text.size()));
}

void writeMetrics(Writer& out, const std::vector<OperatorMetrics>& metrics) {
  out.StartArray();
  for (const auto& m : metrics) {
    out.StartObject();
    out.Key("id");
    out.Int(m.id);
    out.Key("name");
    writeString(out, m.name);
    out.Key("kind");
    writeString(out, m.kind);
    out.Key("parallelism");
    out.Int(m.parallelism);
    out.Key("recordsIn");
    out.Uint64(m.records_in);
    out.Key("recordsOut");
    out.Uint64(m.records_out);
    out.Key("lateDropped");
    out.Uint64(m.late_dropped);
    out.Key("backpressureMs");
    out.Double(m.backpressure_ms);
    out.Key("queued");
    out.Uint64(m.queued);
    out.Key("queueCapacity");
    out.Uint64(m.queue_capacity);
    out.EndObject();
  }
  out.EndArray();
}

std::string stringOf(const rapidjson::Value& object, const char* key) {
  auto it = object.FindMember(key);
  return it != object.MemberEnd() && it->value.IsString()
             ? std::string(it->value.GetString(), it->value.GetStringLength())
             : std::string();
}

std::uint64_t uintOf(const rapidjson::Value& object, const char* key) {
  auto it = object.FindMember(key);
  return it != object.MemberEnd() && it->value.IsUint64() ? it->value.GetUint64() : 0;
}

double doubleOf(const rapidjson::Value& object, const char* key) {
  auto it = object.FindMember(key);
  return it != object.MemberEnd() && it->value.IsNumber() ? it->value.GetDouble() : 0;
}

}  // namespace

bool LineChannel::send(std::string_view line) {
  std::string data(line);
  data += '\n';
  std::lock_guard lock(send_mutex_);
  std::size_t sent = 0;
  while (sent < data.size()) {
    ssize_t n = ::send(fd_, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    sent += static_cast<std::size_t>(n);
  }
  return true;
}

std::optional<std::string> LineChannel::takeLine() {
  auto newline = buffer_.find('\n');
  if (newline == std::string::npos) return std::nullopt;
  std::string line = buffer_.substr(0, newline);
  buffer_.erase(0, newline + 1);
  return line;
}

std::optional<std::string> LineChannel::receive() {
  bool eof = false;
  for (;;) {
    auto line = receiveFor(std::chrono::milliseconds(-1), eof);
    if (line || eof) return line;
  }
}

std::optional<std::string> LineChannel::receiveFor(std::chrono::milliseconds timeout, bool& eof) {
  eof = false;
  if (auto line = takeLine()) return line;
  pollfd pfd{fd_, POLLIN, 0};
  int ready = ::poll(&pfd, 1, static_cast<int>(timeout.count()));
  if (ready < 0 && errno == EINTR) return std::nullopt;
  if (ready <= 0) {
    eof = ready < 0;
    return std::nullopt;
  }
  char chunk[1 << 16];
  ssize_t n = ::read(fd_, chunk, sizeof chunk);
  if (n < 0 && errno == EINTR) return std::nullopt;
  if (n <= 0) {
    eof = true;
    return std::nullopt;
  }
  buffer_.append(chunk, static_cast<std::size_t>(n));
  return takeLine();
}

std::string jsonString(std::string_view text) {
  rapidjson::StringBuffer buffer;
  Writer out(buffer);
  writeString(out, text);
  return buffer.GetString();
}

std::string encodeMetrics(const std::vector<OperatorMetrics>& metrics) {
  rapidjson::StringBuffer buffer;
  Writer out(buffer);
  writeMetrics(out, metrics);
  return buffer.GetString();
}

std::vector<OperatorMetrics> decodeMetrics(const rapidjson::Value& array) {
  std::vector<OperatorMetrics> metrics;
  if (!array.IsArray()) return metrics;
  for (const auto& item : array.GetArray()) {
    if (!item.IsObject()) continue;
    OperatorMetrics m;
    m.id = static_cast<int>(uintOf(item, "id"));
    m.name = stringOf(item, "name");
    m.kind = stringOf(item, "kind");
    m.parallelism = static_cast<int>(uintOf(item, "parallelism"));
    m.records_in = uintOf(item, "recordsIn");
    m.records_out = uintOf(item, "recordsOut");
    m.late_dropped = uintOf(item, "lateDropped");
    m.backpressure_ms = doubleOf(item, "backpressureMs");
    m.queued = uintOf(item, "queued");
    m.queue_capacity = uintOf(item, "queueCapacity");
    metrics.push_back(std::move(m));
  }
  return metrics;
}

std::string encodePlanEdges(const std::vector<PlanEdge>& edges) {
  rapidjson::StringBuffer buffer;
  Writer out(buffer);
  out.StartArray();
  for (const auto& e : edges) {
    out.StartObject();
    out.Key("from");
    out.Int(e.from);
    out.Key("to");
    out.Int(e.to);
    out.Key("output");
    writeString(out, e.output);
    out.Key("exchange");
    writeString(out, e.exchange);
    out.Key("chained");
    out.Bool(e.chained);
    out.EndObject();
  }
  out.EndArray();
  return buffer.GetString();
}

std::vector<PlanEdge> decodePlanEdges(const rapidjson::Value& array) {
  std::vector<PlanEdge> edges;
  if (!array.IsArray()) return edges;
  for (const auto& item : array.GetArray()) {
    if (!item.IsObject()) continue;
    PlanEdge e;
    e.from = static_cast<int>(uintOf(item, "from"));
    e.to = static_cast<int>(uintOf(item, "to"));
    e.output = stringOf(item, "output");
    e.exchange = stringOf(item, "exchange");
    e.chained = item.HasMember("chained") && item["chained"].IsTrue();
    edges.push_back(std::move(e));
  }
  return edges;
}

namespace {

void writeCounts(Writer& out, const std::map<std::string, std::uint64_t>& counts) {
  out.StartObject();
  for (const auto& [name, count] : counts) {
    writeString(out, name);
    out.Uint64(count);
  }
  out.EndObject();
}

}  // namespace

std::string encodeCounts(const std::map<std::string, std::uint64_t>& counts) {
  rapidjson::StringBuffer buffer;
  Writer out(buffer);
  writeCounts(out, counts);
  return buffer.GetString();
}

std::map<std::string, std::uint64_t> decodeCounts(const rapidjson::Value& object) {
  std::map<std::string, std::uint64_t> counts;
  if (!object.IsObject()) return counts;
  for (const auto& member : object.GetObject())
    if (member.value.IsUint64()) counts[member.name.GetString()] = member.value.GetUint64();
  return counts;
}

std::string encodeReport(const JobReport& report) {
  rapidjson::StringBuffer buffer;
  Writer out(buffer);
  out.StartObject();
  out.Key("type");
  out.String("report");
  out.Key("status");
  writeString(out, report.status);
  out.Key("error");
  writeString(out, report.error);
  out.Key("operators");
  writeMetrics(out, report.operators);
  const CheckpointStats& c = report.checkpoints;
  out.Key("checkpoints");
  out.StartObject();
  out.Key("completed");
  out.Uint64(c.completed);
  out.Key("failed");
  out.Uint64(c.failed);
  out.Key("lastId");
  out.Uint64(c.last_id);
  out.Key("lastPath");
  writeString(out, c.last_path);
  out.Key("lastCompletedAt");
  out.Int64(c.last_completed_at_ms);
  out.Key("lastDurationMs");
  out.Double(c.last_duration_ms);
  out.Key("lastSizeBytes");
  out.Uint64(c.last_size_bytes);
  out.Key("lastError");
  writeString(out, c.last_error);
  out.Key("restoredId");
  out.Uint64(c.restored_id);
  out.Key("restoredFrom");
  writeString(out, c.restored_from);
  out.EndObject();
  out.Key("ingest");
  writeCounts(out, report.ingest_next);
  out.Key("deadLetters");
  writeCounts(out, report.dead_letters);
  out.EndObject();
  return buffer.GetString();
}

JobReport decodeReport(const rapidjson::Value& message) {
  JobReport report;
  report.status = stringOf(message, "status");
  report.error = stringOf(message, "error");
  if (auto it = message.FindMember("operators"); it != message.MemberEnd())
    report.operators = decodeMetrics(it->value);
  if (auto it = message.FindMember("checkpoints");
      it != message.MemberEnd() && it->value.IsObject()) {
    const auto& c = it->value;
    CheckpointStats& s = report.checkpoints;
    s.completed = uintOf(c, "completed");
    s.failed = uintOf(c, "failed");
    s.last_id = uintOf(c, "lastId");
    s.last_path = stringOf(c, "lastPath");
    s.last_completed_at_ms = static_cast<std::int64_t>(doubleOf(c, "lastCompletedAt"));
    s.last_duration_ms = doubleOf(c, "lastDurationMs");
    s.last_size_bytes = uintOf(c, "lastSizeBytes");
    s.last_error = stringOf(c, "lastError");
    s.restored_id = uintOf(c, "restoredId");
    s.restored_from = stringOf(c, "restoredFrom");
  }
  if (auto it = message.FindMember("ingest"); it != message.MemberEnd())
    report.ingest_next = decodeCounts(it->value);
  if (auto it = message.FindMember("deadLetters"); it != message.MemberEnd())
    report.dead_letters = decodeCounts(it->value);
  return report;
}

}  // namespace lightflus::server
