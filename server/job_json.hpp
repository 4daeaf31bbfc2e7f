// A job as the REST API shows it (docs/server.md, "Routes"): a JobInfo as JSON, with the values
// of credentials replaced by "***": secret-named members of the graph's connectors (password,
// apiKey, token, secret) and secret-named parameters (*password*, *token*, *secret*, *key).
#pragma once

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <string>

#include "job_registry.hpp"

namespace lightflus::server {

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

/// Writes `job` as a JSON object: what GET /v1/jobs lists of it (status, counters, rates,
/// uptime, checkpoints), and with `detail` what GET /v1/jobs/{id} adds (parameters, plan,
/// edges, graph, operators).
void writeJob(JsonWriter& out, const JobInfo& job, bool detail);

/// writeJob() into a string.
std::string jobJson(const JobInfo& job, bool detail);

}  // namespace lightflus::server
