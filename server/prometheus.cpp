#include "prometheus.hpp"

#include <map>

#include <fmt/format.h>

namespace lightflus::server {

namespace {

// A label value with \, " and newline escaped.
std::string label(std::string_view value) {
  std::string out;
  for (char c : value) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

}  // namespace

std::string prometheusText(const std::vector<JobInfo>& jobs) {
  std::string out;
  std::map<std::string, int> by_status{
      {"created", 0}, {"running", 0}, {"finished", 0}, {"failed", 0}, {"stopped", 0}};
  for (const auto& job : jobs) ++by_status[job.status];
  out += "# HELP lightflus_jobs Jobs in the daemon by status.\n# TYPE lightflus_jobs gauge\n";
  for (const auto& [status, count] : by_status)
    out += fmt::format("lightflus_jobs{{status=\"{}\"}} {}\n", label(status), count);

  struct Family {
    const char* name;
    const char* type;
    const char* help;
    double (*value)(const OperatorMetrics&);
  };
  static const Family kFamilies[] = {
      {"lightflus_operator_records_in_total", "counter", "Records an operator received.",
       [](const OperatorMetrics& m) { return static_cast<double>(m.records_in); }},
      {"lightflus_operator_records_out_total", "counter", "Records an operator emitted.",
       [](const OperatorMetrics& m) { return static_cast<double>(m.records_out); }},
      {"lightflus_operator_late_dropped_total", "counter", "Late records an operator dropped.",
       [](const OperatorMetrics& m) { return static_cast<double>(m.late_dropped); }},
      {"lightflus_operator_backpressure_seconds_total", "counter",
       "Time an operator spent blocked on full downstream channels.",
       [](const OperatorMetrics& m) { return m.backpressure_ms / 1000.0; }},
      {"lightflus_operator_queued_batches", "gauge", "Batches waiting in an operator's inputs.",
       [](const OperatorMetrics& m) { return static_cast<double>(m.queued); }},
      {"lightflus_operator_queue_capacity_batches", "gauge",
       "Capacity of an operator's input channels.",
       [](const OperatorMetrics& m) { return static_cast<double>(m.queue_capacity); }},
  };
  // Rates: gauges sampled by the registry once a second. Each family is one group.
  for (bool in : {true, false}) {
    const char* name = in ? "lightflus_operator_records_in_per_second"
                          : "lightflus_operator_records_out_per_second";
    out += fmt::format(
        "# HELP {} Records per second {} an operator over the last second.\n"
        "# TYPE {} gauge\n",
        name, in ? "into" : "out of", name);
    for (const auto& job : jobs)
      for (const auto& m : job.metrics) {
        auto rate = job.rates.find(m.id);
        double value = rate == job.rates.end() ? 0.0 : (in ? rate->second.in : rate->second.out);
        out += fmt::format(
            "{}{{job=\"{}\",job_id=\"{}\",operator=\"{}\",operator_id=\"{}\",kind=\"{}\"}} {}\n",
            name, label(job.name), label(job.id), label(m.name), m.id, label(m.kind), value);
      }
  }
  for (const Family& family : kFamilies) {
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", family.name, family.help, family.name,
                       family.type);
    for (const auto& job : jobs)
      for (const auto& m : job.metrics)
        out += fmt::format(
            "{}{{job=\"{}\",job_id=\"{}\",operator=\"{}\",operator_id=\"{}\",kind=\"{}\"}} {}\n",
            family.name, label(job.name), label(job.id), label(m.name), m.id, label(m.kind),
            family.value(m));
  }
  return out;
}

}  // namespace lightflus::server
