// The daemon's parts without a socket: job names, the token check, atomic files, routing, the
// web console's files, the Prometheus text, ingest logs, allowed paths, dead letters and the job
// protocol's plan edges. The HTTP server end to end is lightflusd_serve_test.sh, the console in
// a browser console_test.js.
#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "atomic_file.hpp"
#include "auth.hpp"
#include "console.hpp"
#include "dead_letters.hpp"
#include "ingest_log.hpp"
#include "job_process_command.hpp"
#include "job_protocol.hpp"
#include "job_registry.hpp"
#include "prometheus.hpp"
#include "routes.hpp"

using namespace lightflus::server;
namespace fs = std::filesystem;

namespace {

// A temp directory, removed with its contents.
struct TempDir {
  fs::path path;
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "lightflus-server-test-XXXXXX").string();
    path = ::mkdtemp(pattern.data());
  }
  ~TempDir() { fs::remove_all(path); }
};

Request request(http::verb method, std::string target, std::string token = "") {
  Request r{method, target, 11};
  if (!token.empty()) r.set(http::field::authorization, "Bearer " + token);
  return r;
}

}  // namespace

TEST_CASE("job names are short, plain and cannot leave the data dir", "[server]") {
  CHECK(isValidJobName("word-count_2.v1"));
  CHECK(isValidJobName(std::string(64, 'a')));
  CHECK_FALSE(isValidJobName(std::string(65, 'a')));
  CHECK_FALSE(isValidJobName(""));
  CHECK_FALSE(isValidJobName("."));
  CHECK_FALSE(isValidJobName(".."));
  CHECK_FALSE(isValidJobName("../etc"));
  CHECK_FALSE(isValidJobName("a/b"));
  CHECK_FALSE(isValidJobName("a b"));
  CHECK_FALSE(isValidJobName("caf\xc3\xa9"));
}

TEST_CASE("the bearer token must match exactly", "[server]") {
  CHECK(constantTimeEquals("secret", "secret"));
  CHECK_FALSE(constantTimeEquals("secret", "secreT"));
  CHECK_FALSE(constantTimeEquals("secret", "secre"));
  CHECK_FALSE(constantTimeEquals("secret", "secrets"));
  BearerAuth auth("secret");
  CHECK(auth.allows("Bearer secret"));
  CHECK_FALSE(auth.allows("Bearer secret2"));
  CHECK_FALSE(auth.allows("Basic secret"));
  CHECK_FALSE(auth.allows(""));
  CHECK(BearerAuth("").allows(""));
}

TEST_CASE("an atomic write replaces a file and leaves no temp file", "[server]") {
  TempDir dir;
  fs::path file = dir.path / "status.json";
  writeFileAtomically(file, "old");
  writeFileAtomically(file, "new contents");
  CHECK(readWholeFile(file) == "new contents");
  CHECK_FALSE(fs::exists(dir.path / "status.json.tmp"));
  CHECK_THROWS_AS(writeFileAtomically(dir.path / "missing" / "x", "x"), lightflus::Error);
}

TEST_CASE("the router answers unknown routes, wrong methods and missing tokens in JSON",
          "[server]") {
  TempDir dir;
  JobRegistry registry(dir.path, 10, lightflus::server::RunOptions{});
  Router router(registry, BearerAuth("t0ken"));

  CHECK(router.handle(request(http::verb::get, "/healthz")).result() == http::status::ok);
  CHECK(router.handle(request(http::verb::get, "/v1/jobs")).result() == http::status::unauthorized);
  CHECK(router.handle(request(http::verb::get, "/v1/jobs", "wrong")).result() ==
        http::status::unauthorized);
  Response jobs = router.handle(request(http::verb::get, "/v1/jobs?x=1", "t0ken"));
  CHECK(jobs.result() == http::status::ok);
  CHECK(jobs.body() == R"({"jobs":[]})");

  Response missing = router.handle(request(http::verb::get, "/v1/jobs/abc", "t0ken"));
  CHECK(missing.result() == http::status::not_found);
  CHECK(missing.body() == R"({"error":"Not Found","detail":"no job with id 'abc'"})");
  CHECK(router.handle(request(http::verb::get, "/v1/jobs/a/b", "t0ken")).result() ==
        http::status::not_found);
  Response wrong = router.handle(request(http::verb::put, "/v1/jobs/abc", "t0ken"));
  CHECK(wrong.result() == http::status::method_not_allowed);
  CHECK(wrong[http::field::allow] == "GET, DELETE");

  Request bad_name = request(http::verb::post, "/v1/jobs?name=..%2Fx", "t0ken");
  bad_name.body() = "export default function () {}";
  CHECK(router.handle(bad_name).result() == http::status::bad_request);

  CHECK(router.refuseUnauthorized(request(http::verb::post, "/v1/jobs").base()).has_value());
  CHECK_FALSE(router.refuseUnauthorized(request(http::verb::get, "/healthz").base()));
  CHECK_FALSE(router.refuseUnauthorized(request(http::verb::post, "/v1/jobs", "t0ken").base()));
}

TEST_CASE("the console's files load without the token, typed, revalidated by ETag", "[server]") {
  TempDir dir;
  JobRegistry registry(dir.path, 10, lightflus::server::RunOptions{});
  Router router(registry, BearerAuth("t0ken"));

  Response page = router.handle(request(http::verb::get, "/"));
  CHECK(page.result() == http::status::ok);
  CHECK(page[http::field::content_type] == "text/html; charset=utf-8");
  CHECK(page[http::field::cache_control] == "no-cache");
  CHECK(page["Content-Security-Policy"].find("script-src 'self'") != boost::string_view::npos);
  CHECK(page.body().find("/console/app.js") != std::string::npos);
  CHECK_FALSE(router.refuseUnauthorized(request(http::verb::get, "/").base()));
  CHECK_FALSE(router.refuseUnauthorized(request(http::verb::get, "/console/app.js").base()));

  Response script = router.handle(request(http::verb::get, "/console/app.js"));
  CHECK(script.result() == http::status::ok);
  CHECK(script[http::field::content_type] == "text/javascript; charset=utf-8");
  CHECK(router.handle(request(http::verb::get, "/console/style.css"))[http::field::content_type] ==
        "text/css; charset=utf-8");
  const std::string etag(script[http::field::etag]);
  REQUIRE(etag.size() > 2);
  CHECK(etag.front() == '"');
  Request again = request(http::verb::get, "/console/app.js");
  again.set(http::field::if_none_match, "\"other\", " + etag);
  Response unchanged = router.handle(again);
  CHECK(unchanged.result() == http::status::not_modified);
  CHECK(unchanged.body().empty());

  CHECK(router.handle(request(http::verb::get, "/console/missing.js")).result() ==
        http::status::not_found);
  CHECK(router.handle(request(http::verb::get, "/console/..")).result() == http::status::not_found);
  // The API behind the page still wants the token.
  CHECK(router.handle(request(http::verb::get, "/v1/jobs/abc/source")).result() ==
        http::status::unauthorized);
  CHECK(router.handle(request(http::verb::post, "/v1/jobs/abc/stop")).result() ==
        http::status::unauthorized);
  CHECK(router.handle(request(http::verb::post, "/v1/jobs/abc/stop", "t0ken")).result() ==
        http::status::not_found);
  CHECK(router.handle(request(http::verb::get, "/v1/jobs/abc/source", "t0ken")).result() ==
        http::status::not_found);
  CHECK(contentTypeOf("favicon.svg") == "image/svg+xml");
  CHECK(contentTypeOf("data.bin") == "application/octet-stream");
}

TEST_CASE("dead letters go to the operator, or the one chain, that wrote them", "[server]") {
  auto op = [](int id, std::string name, std::string kind) {
    lightflus::OperatorMetrics m;
    m.id = id;
    m.name = std::move(name);
    m.kind = std::move(kind);
    return m;
  };
  std::vector<lightflus::OperatorMetrics> metrics = {
      op(0, "file", "source"), op(1, "parse+times ten", "jsChain"), op(2, "sum", "reduce"),
      op(3, "out", "sink"), op(4, "out", "sink")};
  CHECK(writerOf(metrics, "operator 0 'file' (source)") == &metrics[0]);
  CHECK(writerOf(metrics, "sum") == &metrics[2]);
  CHECK(writerOf(metrics, "times ten") == &metrics[1]);  // fused into a chain
  CHECK(writerOf(metrics, "out") == nullptr);            // two operators of that name
  CHECK(writerOf(metrics, "nowhere") == nullptr);
  auto by_operator = deadLettersByOperator(
      metrics, {{"operator 0 'file' (source)", 2}, {"times ten", 3}, {"parse", 1}, {"out", 9}});
  CHECK(by_operator == std::map<int, std::uint64_t>{{0, 2}, {1, 4}});
}

TEST_CASE("plan edges and dead letter counts cross the job protocol unchanged", "[server]") {
  std::vector<lightflus::PlanEdge> edges(2);
  edges[0] = {0, 1, "", "forward", true};
  edges[1] = {1, 2, "late", "hash", false};
  rapidjson::Document parsed;
  parsed.Parse(encodePlanEdges(edges).c_str());
  auto back = decodePlanEdges(parsed);
  REQUIRE(back.size() == 2);
  CHECK((back[0].from == 0 && back[0].to == 1 && back[0].output.empty()));
  CHECK((back[0].exchange == "forward" && back[0].chained));
  CHECK((back[1].from == 1 && back[1].to == 2 && back[1].output == "late"));
  CHECK((back[1].exchange == "hash" && !back[1].chained));

  JobReport report;
  report.dead_letters = {{"times ten", 3}, {"operator 0 'file' (source)", 1}};
  rapidjson::Document message;
  message.Parse(encodeReport(report).c_str());
  CHECK(decodeReport(message).dead_letters == report.dead_letters);
}

TEST_CASE("the Prometheus text has one sample per job, operator and counter", "[server]") {
  JobInfo job;
  job.id = "42";
  job.name = "a\"b";
  job.status = "running";
  lightflus::OperatorMetrics source;
  source.id = 0;
  source.name = "gen";
  source.kind = "source";
  source.records_out = 7;
  source.backpressure_ms = 1500;
  job.metrics.push_back(source);
  std::string text = prometheusText({job});
  CHECK(text.find("lightflus_jobs{status=\"running\"} 1\n") != std::string::npos);
  CHECK(text.find("lightflus_operator_records_out_total{job=\"a\\\"b\",job_id=\"42\","
                  "operator=\"gen\",operator_id=\"0\",kind=\"source\"} 7\n") != std::string::npos);
  CHECK(text.find("lightflus_operator_backpressure_seconds_total{job=\"a\\\"b\",job_id=\"42\","
                  "operator=\"gen\",operator_id=\"0\",kind=\"source\"} 1.5\n") !=
        std::string::npos);
}

TEST_CASE("an ingest log counts its acknowledged records and cuts off a torn last write",
          "[server]") {
  TempDir dir;
  fs::path path = ingestLogPath(dir.path, "clicks");
  CHECK(path == dir.path / "ingest" / "clicks.wal");
  CHECK(ingestLogPath(dir.path, "a/b").filename() == "x612f62.wal");
  {
    IngestLog log(path);
    log.append({lightflus::Value::parseJson(R"({"n":1})"), lightflus::Value::parseJson("2")});
    log.append({lightflus::Value::parseJson(R"("three")")});
    CHECK(log.records() == 3);
  }
  const auto intact = fs::file_size(path);
  {
    std::FILE* f = std::fopen(path.c_str(), "ab");
    std::fputs("0badc0de 5 [1,2", f);  // a write the daemon died in: never acknowledged
    std::fclose(f);
  }
  IngestLog reopened(path);
  CHECK(reopened.records() == 3);
  CHECK(fs::file_size(path) == intact);
  reopened.append({lightflus::Value::parseJson("4")});
  CHECK(reopened.records() == 4);
}

TEST_CASE("serve jobs' file connectors must stay under the allowed roots", "[server]") {
  TempDir dir;
  auto graph = [](const std::string& path) {
    return lightflus::Value::parseJson(
        R"({"operators":[{"name":"out","kind":"sink","connector":{"type":"file","path":")" + path +
        R"("}}]})");
  };
  std::vector<std::string> roots = {dir.path.string()};
  CHECK_NOTHROW(checkAllowedPaths(graph((dir.path / "out.txt").string()), roots));
  CHECK_NOTHROW(checkAllowedPaths(graph("/dev/null"), roots));
  CHECK_NOTHROW(checkAllowedPaths(graph("/etc/passwd"), {}));
  CHECK_THROWS_WITH(checkAllowedPaths(graph("/etc/passwd"), roots),
                    Catch::Contains("operator 'out' would touch '/etc/passwd'"));
  CHECK_THROWS_WITH(checkAllowedPaths(graph((dir.path / ".." / "escape.txt").string()), roots),
                    Catch::Contains("outside the paths this daemon allows"));
}
