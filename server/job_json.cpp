#include "job_json.hpp"

#include <rapidjson/document.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <ctime>

#include <fmt/format.h>

#include "dead_letters.hpp"

namespace lightflus::server {

namespace {

using Writer = JsonWriter;

void writeString(Writer& out, std::string_view text) {
  out.String(text.data(), static_cast<rapidjson::SizeType>(text.size()));
}

// "2026-11-25T14:50:00.123Z"
std::string isoTime(std::int64_t ms) {
  std::time_t seconds = static_cast<std::time_t>(ms / 1000);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", utc.tm_year + 1900,
                     utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec, ms % 1000);
}

// Replaces the values of secret-looking members (password, apiKey, token, secret, at any
// depth; connectors keep credentials in the graph) with "***", so that describing a job never
// shows them (docs/js-graph.md, "Connectors").
void redactSecrets(rapidjson::Value& value) {
  if (value.IsArray()) {
    for (auto& item : value.GetArray()) redactSecrets(item);
    return;
  }
  if (!value.IsObject()) return;
  for (auto& member : value.GetObject()) {
    std::string name(member.name.GetString(), member.name.GetStringLength());
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    const bool secret =
        name.find("password") != std::string::npos || name.find("apikey") != std::string::npos ||
        name.find("token") != std::string::npos || name.find("secret") != std::string::npos;
    if (secret && member.value.IsString() && member.value.GetStringLength() > 0)
      member.value.SetString("***");
    else
      redactSecrets(member.value);
  }
}

// Whether a job parameter's name looks like a secret's: *password*, *token*, *secret*, *key
// (case-insensitive).
bool isSecretName(std::string_view name) {
  std::string lower(name);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return lower.find("password") != std::string::npos || lower.find("token") != std::string::npos ||
         lower.find("secret") != std::string::npos || lower.ends_with("key");
}

// Redacts the graph's record of the parameters the job read (`job.params`) by the same rule as
// the job's `params`: a parameter named like a secret shows "***" in both.
void redactGraphParams(rapidjson::Value& graph) {
  if (!graph.IsObject() || !graph.HasMember("job") || !graph["job"].IsObject()) return;
  rapidjson::Value& job = graph["job"];
  if (!job.HasMember("params") || !job["params"].IsObject()) return;
  for (auto& param : job["params"].GetObject()) {
    std::string_view name(param.name.GetString(), param.name.GetStringLength());
    const bool empty = param.value.IsString() && param.value.GetStringLength() == 0;
    if (isSecretName(name) && !param.value.IsNull() && !empty) param.value.SetString("***");
  }
}

std::int64_t nowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void writeCheckpoints(Writer& out, const CheckpointStats& c) {
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
  if (c.last_completed_at_ms > 0)
    writeString(out, isoTime(c.last_completed_at_ms));
  else
    out.Null();
  out.Key("lastDurationMs");
  out.Double(c.last_duration_ms);
  out.Key("lastSizeBytes");
  out.Uint64(c.last_size_bytes);
  out.Key("lastError");
  writeString(out, c.last_error);
  out.Key("restoredFrom");
  writeString(out, c.restored_from);
  out.EndObject();
}

void writeEdges(Writer& out, const std::vector<PlanEdge>& edges) {
  out.StartArray();
  for (const auto& e : edges) {
    out.StartObject();
    out.Key("from");
    out.Int(e.from);
    out.Key("to");
    out.Int(e.to);
    out.Key("output");
    writeString(out, e.output.empty() ? std::string_view("main") : std::string_view(e.output));
    out.Key("exchange");
    writeString(out, e.exchange);
    out.Key("chained");
    out.Bool(e.chained);
    out.EndObject();
  }
  out.EndArray();
}

}  // namespace

void writeJob(JsonWriter& out, const JobInfo& job, bool detail) {
  out.StartObject();
  out.Key("id");
  writeString(out, job.id);
  out.Key("name");
  writeString(out, job.name);
  out.Key("status");
  writeString(out, job.status);
  out.Key("parallelism");
  out.Int(job.parallelism);
  out.Key("error");
  if (job.error.empty())
    out.Null();
  else
    writeString(out, job.error);
  std::uint64_t in = 0, out_records = 0;
  for (const auto& m : job.metrics) {
    if (m.kind == "source") in += m.records_out;
    if (m.kind == "sink") out_records += m.records_in;
  }
  out.Key("recordsIn");
  out.Uint64(in);
  out.Key("recordsOut");
  out.Uint64(out_records);
  double in_rate = 0, out_rate = 0;
  for (const auto& m : job.metrics) {
    auto rate = job.rates.find(m.id);
    if (rate == job.rates.end()) continue;
    if (m.kind == "source") in_rate += rate->second.out;
    if (m.kind == "sink") out_rate += rate->second.in;
  }
  out.Key("recordsInPerSecond");
  out.Double(in_rate);
  out.Key("recordsOutPerSecond");
  out.Double(out_rate);
  out.Key("createdAt");
  if (job.created_at_ms > 0)
    writeString(out, isoTime(job.created_at_ms));
  else
    out.Null();
  out.Key("startedAt");
  if (job.started_at_ms > 0)
    writeString(out, isoTime(job.started_at_ms));
  else
    out.Null();
  out.Key("uptimeSeconds");
  if (job.started_at_ms > 0)
    out.Double(static_cast<double>(std::max<std::int64_t>(0, nowMs() - job.started_at_ms)) /
               1000.0);
  else
    out.Null();
  std::uint64_t late = 0, letters = 0;
  for (const auto& m : job.metrics) late += m.late_dropped;
  for (const auto& [writer, n] : job.dead_letters) letters += n;
  out.Key("lateDropped");
  out.Uint64(late);
  out.Key("deadLetters");
  out.Uint64(letters);
  out.Key("restarts");
  out.Int(job.restarts);
  out.Key("checkpoints");
  writeCheckpoints(out, job.checkpoints);
  if (detail) {
    out.Key("language");
    writeString(out, job.javascript ? "js" : "ts");
    if (!job.source_file.empty()) {
      out.Key("sourceFile");
      writeString(out, job.source_file);
    }
    out.Key("params");
    out.StartObject();
    for (const auto& [key, value] : job.params) {
      out.Key(key.c_str());
      writeString(out, isSecretName(key) && !value.empty() ? "***" : value);
    }
    out.EndObject();
    out.Key("plan");
    writeString(out, job.plan);
    out.Key("graph");
    rapidjson::Document graph;
    if (!job.graph_json.empty() && !graph.Parse(job.graph_json.c_str()).HasParseError()) {
      redactSecrets(graph);
      redactGraphParams(graph);
      graph.Accept(out);
    } else {
      out.Null();
    }
    out.Key("edges");
    writeEdges(out, job.edges);
    const std::map<int, std::uint64_t> letters_by_operator =
        deadLettersByOperator(job.metrics, job.dead_letters);
    out.Key("operators");
    out.StartArray();
    for (const auto& m : job.metrics) {
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
      auto rate = job.rates.find(m.id);
      out.Key("recordsInPerSecond");
      out.Double(rate == job.rates.end() ? 0.0 : rate->second.in);
      out.Key("recordsOutPerSecond");
      out.Double(rate == job.rates.end() ? 0.0 : rate->second.out);
      out.Key("lateDropped");
      out.Uint64(m.late_dropped);
      auto letters_of = letters_by_operator.find(m.id);
      out.Key("deadLetters");
      out.Uint64(letters_of == letters_by_operator.end() ? 0 : letters_of->second);
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
  out.EndObject();
}

std::string jobJson(const JobInfo& job, bool detail) {
  rapidjson::StringBuffer buffer;
  Writer out(buffer);
  writeJob(out, job, detail);
  return buffer.GetString();
}

}  // namespace lightflus::server
