// Job counters in the Prometheus text exposition format (version 0.0.4), for GET /metrics.
#pragma once

#include <string>
#include <vector>

#include "job_registry.hpp"

namespace lightflus::server {

/// lightflus_jobs{status}, and per job and operator: records in/out, late drops,
/// backpressure seconds, queued batches and queue capacity.
std::string prometheusText(const std::vector<JobInfo>& jobs);

}  // namespace lightflus::server
