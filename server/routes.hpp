// The REST API of lightflusd: one routing table, one handler per route.
//
//   GET    /healthz         liveness (open without the token, like the console's files)
//   GET    /                the web console (console.hpp), and its files at /console/NAME
//   GET    /metrics         Prometheus text: per job and operator counters
//   GET    /v1/jobs         every job, with status and counters
//   POST   /v1/jobs         submit a job: its source as the body (?name=&parallelism=&param.K=V)
//                           or a JSON envelope {"name","source","params","parallelism","from",
//                           "allowNonRestoredState"}
//   GET    /v1/jobs/{id}    one job: status, plan, graph, per-operator counters, last error
//   DELETE /v1/jobs/{id}    stop and remove a job (?savepoint=true: take a savepoint first and
//                           answer 200 {"savepoint": PATH})
//   POST   /v1/jobs/{id}/savepoint  take a savepoint of a running job: 200 {"savepoint": PATH}
//   POST   /v1/jobs/{id}/stop  stop a running job for good, keeping it listed (?savepoint=true:
//                           a savepoint first): 200 {"status", "savepoint"}
//   GET    /v1/jobs/{id}/source  the job's source as submitted (text/plain)
//   POST   /v1/jobs/{id}/events  records for the job's HttpSource (?source=NAME when it has
//                           several): JSON (an array is a list of records) or NDJSON; 200
//                           {"accepted": n} once all are in the job's ingest log (fsynced),
//                           503 when the job lags too far behind
//
// Errors are JSON {"error", "detail"}: 400 bad input (with the job's file:line:col), 401
// without the token, 404 unknown route or job, 405 wrong method, 409 name taken or job not
// running, 429 too many jobs, 503 job too busy to take events (Retry-After).
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "auth.hpp"
#include "http_message.hpp"
#include "job_registry.hpp"

namespace lightflus::server {

class Router {
 public:
  Router(JobRegistry& registry, BearerAuth auth);

  /// The response to one request; never throws.
  Response handle(const Request& request) const;

  /// A 401 for a request whose header lacks the token that its route needs, so that the
  /// session refuses it before reading its body; nothing when the request may go on. A daemon
  /// without a token also refuses (403) what a web page elsewhere could make a browser send:
  /// a Host header that does not name a loopback address (DNS rebinding), and a request other
  /// than GET/HEAD whose Origin is not the daemon's own (cross-site request forgery).
  std::optional<Response> refuseUnauthorized(const http::request_header<>& header) const;

 private:
  std::optional<Response> refuseForeign(const http::request_header<>& header) const;
  // The path's `{id}` segment, when the pattern has one.
  using Handler = std::function<Response(const Request&, const std::string& id)>;
  struct Route {
    http::verb method;
    std::string_view pattern;  // segments; "{id}" matches one segment
    bool needs_token;
    Handler handler;
  };

  Response dispatch(const Request& request) const;
  Response health(const Request& request) const;
  Response metrics(const Request& request) const;
  Response listJobs(const Request& request) const;
  Response createJob(const Request& request) const;
  Response getJob(const Request& request, const std::string& id) const;
  Response deleteJob(const Request& request, const std::string& id) const;
  Response postEvents(const Request& request, const std::string& id) const;
  Response savepoint(const Request& request, const std::string& id) const;
  Response stopJob(const Request& request, const std::string& id) const;
  Response jobSource(const Request& request, const std::string& id) const;
  Response consoleIndex(const Request& request) const;
  Response consoleAsset(const Request& request, const std::string& name) const;

  JobRegistry& registry_;
  BearerAuth auth_;
  std::vector<Route> routes_;
};

}  // namespace lightflus::server
