// The Elasticsearch sink against BulkServer, a loopback stand-in that checks the `_bulk` format
// and answers with 429s, 5xx and per-item errors as told. Expected documents come from plain
// loops.
#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "bulk_server.hpp"
#include "lightflus/connectors/elasticsearch.hpp"
#include "lightflus/lightflus.hpp"

using namespace lightflus;
using namespace lightflus::test;

namespace {

Value order(int n) {
  Value v = Value::object();
  v["id"] = "o" + std::to_string(n);
  v["n"] = n;
  return v;
}

std::vector<Value> orders(int count) {
  std::vector<Value> all;
  for (int n = 0; n < count; ++n) all.push_back(order(n));
  return all;
}

struct OrderId {
  Value operator()(const Value& v) const { return v["id"]; }
};

// Each n of 0..count-1 exactly once, and nothing else.
void requireEachOnce(const std::vector<BulkServer::Document>& documents, int count) {
  std::vector<std::int64_t> seen;
  for (const auto& d : documents) seen.push_back(d.source["n"].asInt());
  std::sort(seen.begin(), seen.end());
  std::vector<std::int64_t> expected;
  for (int n = 0; n < count; ++n) expected.push_back(n);
  REQUIRE(seen == expected);
}

ElasticsearchSinkOptions optionsFor(const BulkServer& server) {
  ElasticsearchSinkOptions options;
  options.host = server.url();
  options.index = "orders";
  options.max_actions = 100;
  options.initial_backoff = Duration(10);
  options.max_backoff = Duration(100);
  return options;
}

}  // namespace

TEST_CASE("append sends every document exactly once as index actions", "[elasticsearch]") {
  BulkServer server;
  ExecutionContext ctx("es-append");
  writeElasticsearch(ctx.fromCollection(orders(2500)), optionsFor(server)).parallelism(2);
  ctx.execute();
  auto documents = server.documents();
  requireEachOnce(documents, 2500);
  for (const auto& d : documents) {
    REQUIRE(d.action == "index");
    REQUIRE(d.index == "orders");
    REQUIRE_FALSE(d.id);
  }
  REQUIRE(server.formatErrors().empty());
  for (std::size_t n : server.requestDocuments()) REQUIRE(n <= 100);
}

TEST_CASE("append with an id extractor indexes each document under its id", "[elasticsearch]") {
  BulkServer server;
  ExecutionContext ctx("es-append-id");
  writeElasticsearch(ctx.fromCollection(orders(1000)), optionsFor(server), OrderId{});
  ctx.execute();
  requireEachOnce(server.documents(), 1000);
  auto by_id = server.byId();
  REQUIRE(by_id.size() == 1000);
  for (int n = 0; n < 1000; ++n) REQUIRE(by_id.at("o" + std::to_string(n)) == order(n));
  REQUIRE(server.formatErrors().empty());
}

TEST_CASE("upsert sends update actions with doc_as_upsert and the last version wins",
          "[elasticsearch]") {
  BulkServer server;
  std::vector<Value> versions;
  for (int version = 1; version <= 3; ++version)
    for (int n = 0; n < 200; ++n) {
      Value v = order(n);
      v["version"] = version;
      versions.push_back(v);
    }
  auto options = optionsFor(server);
  options.mode = ElasticsearchMode::Upsert;
  ExecutionContext ctx("es-upsert");
  writeElasticsearch(ctx.fromCollection(versions), options, OrderId{}).parallelism(1);
  ctx.execute();
  auto documents = server.documents();
  REQUIRE(documents.size() == 600);
  for (const auto& d : documents) REQUIRE(d.action == "update");
  auto by_id = server.byId();
  REQUIRE(by_id.size() == 200);
  for (int n = 0; n < 200; ++n) {
    Value expected = order(n);
    expected["version"] = 3;
    REQUIRE(by_id.at("o" + std::to_string(n)) == expected);
  }
  REQUIRE(server.formatErrors().empty());
}

TEST_CASE("a changelog is applied: +I/+U indexed, -U skipped, -D a delete action",
          "[elasticsearch][changelog]") {
  // Rows in order (one producer). After them: o1 {n: 3}, o3 {n: 4}; o2 is deleted, and
  // deleting o9 (never written) is not an error.
  std::vector<Value> rows;
  for (const char* json :
       {R"({"op":"+I","id":"o1","n":1})", R"({"op":"+I","id":"o2","n":2})",
        R"({"op":"-U","id":"o1","n":1})", R"({"op":"+U","id":"o1","n":3})",
        R"({"op":"-D","id":"o2","n":2})", R"({"op":"-D","id":"o9","n":0})", R"({"id":"o3","n":4})"})
    rows.push_back(Value::parseJson(json));
  for (auto mode : {ElasticsearchMode::Append, ElasticsearchMode::Upsert}) {
    BulkServer fresh;
    auto options = optionsFor(fresh);
    options.mode = mode;
    options.changelog = true;
    ExecutionContext ctx("es-changelog");
    writeElasticsearch(ctx.fromCollection(rows), options, OrderId{});
    // The same as Change<T> rows: the extractors take the row.
    auto changes = ctx.fromCollection(std::vector<Change<std::pair<std::string, int>>>{
        {RowKind::Insert, {"c1", 1}}, {RowKind::Delete, {"c1", 1}}, {RowKind::Insert, {"c2", 2}}});
    ElasticsearchSinkOptions typed = optionsFor(fresh);
    typed.index = "typed";
    typed.mode = mode;
    writeElasticsearch(
        changes, typed, [](const std::pair<std::string, int>& r) { return r.first; },
        [](std::string& out, const std::pair<std::string, int>& r) {
          out += "{\"n\":" + std::to_string(r.second) + "}";
        });
    ctx.execute();
    INFO("upsert " << (mode == ElasticsearchMode::Upsert));
    auto by_id = fresh.byId();  // one id space for both indexes in the stand-in
    CHECK(by_id.size() == 3);
    CHECK(by_id.at("o1") == Value::parseJson(R"({"id":"o1","n":3})"));
    CHECK(by_id.at("o3") == Value::parseJson(R"({"id":"o3","n":4})"));
    CHECK(by_id.at("c2") == Value::parseJson(R"({"n":2})"));
    std::size_t deletes = 0;
    for (const auto& d : fresh.documents()) {
      deletes += d.action == "delete" ? 1 : 0;
      CHECK(d.source.find("op") == nullptr);  // written without the "op" member
    }
    CHECK(deletes == 3);
    CHECK(fresh.formatErrors().empty());
  }
}

TEST_CASE("a changelog without an id extractor is refused when the job is defined",
          "[elasticsearch][changelog]") {
  ExecutionContext ctx("es-changelog-no-id");
  ElasticsearchSinkOptions options{.host = "http://127.0.0.1:9", .index = "orders"};
  options.changelog = true;
  CHECK_THROWS_WITH(writeElasticsearch(ctx.fromCollection(std::vector<Value>{}), options),
                    Catch::Contains("a changelog needs an id extractor"));
}

TEST_CASE("upsert without an id extractor is refused when the job is defined", "[elasticsearch]") {
  ExecutionContext ctx("es-upsert-no-id");
  ElasticsearchSinkOptions options{
      .host = "http://127.0.0.1:9", .index = "orders", .mode = ElasticsearchMode::Upsert};
  REQUIRE_THROWS_AS(writeElasticsearch(ctx.fromCollection(orders(1)), options), ConfigError);
}

TEST_CASE("requests answered 429 and 5xx are retried until every document arrives",
          "[elasticsearch]") {
  BulkServer server;
  server.failRequests({429, 429, 500, 503, 429});
  ExecutionContext ctx("es-retry");
  writeElasticsearch(ctx.fromCollection(orders(1000)), optionsFor(server), OrderId{});
  ctx.execute();
  requireEachOnce(server.documents(), 1000);
  REQUIRE(server.byId().size() == 1000);
  REQUIRE(server.formatErrors().empty());
}

TEST_CASE("documents answered with a per-item 429 are resent alone", "[elasticsearch]") {
  BulkServer server;
  server.failItems(7, 429);
  auto options = optionsFor(server);
  options.max_actions = 50;
  options.flush_interval = Duration(3'600'000);  // requests only by count and at the end
  ExecutionContext ctx("es-item-429");
  writeElasticsearch(ctx.fromCollection(orders(200)), options, OrderId{}).parallelism(1);
  ctx.execute();
  requireEachOnce(server.documents(), 200);
  REQUIRE(server.requestDocuments() == std::vector<std::size_t>{50, 7, 50, 50, 50});
  REQUIRE(server.formatErrors().empty());
}

TEST_CASE("a mapping error fails the job naming the index, the document and the reason",
          "[elasticsearch]") {
  BulkServer server;
  server.refuseWhere("bad");
  auto input = orders(100);
  input[42]["bad"] = true;
  ExecutionContext ctx("es-mapping-error");
  writeElasticsearch(ctx.fromCollection(input), optionsFor(server), OrderId{}).parallelism(1);
  try {
    ctx.execute();
    FAIL("the job did not fail");
  } catch (const JobFailedError& e) {
    std::string message = e.what();
    INFO(message);
    REQUIRE(message.find("index 'orders'") != std::string::npos);
    REQUIRE(message.find("position 42") != std::string::npos);
    REQUIRE(message.find("id \"o42\"") != std::string::npos);
    REQUIRE(message.find("mapper_parsing_exception") != std::string::npos);
  }
}

TEST_CASE("with on_item_error refused documents are handed over and the others arrive",
          "[elasticsearch]") {
  BulkServer server;
  server.refuseWhere("bad");
  auto input = orders(100);
  input[42]["bad"] = true;
  input[77]["bad"] = true;
  auto refused = std::make_shared<std::vector<ElasticsearchItemError>>();
  auto mutex = std::make_shared<std::mutex>();
  auto options = optionsFor(server);
  options.on_item_error = [refused, mutex](const ElasticsearchItemError& e) {
    std::lock_guard lock(*mutex);
    refused->push_back(e);
  };
  ExecutionContext ctx("es-dead-letters");
  writeElasticsearch(ctx.fromCollection(input), options, OrderId{}).parallelism(1);
  ctx.execute();
  REQUIRE(server.documents().size() == 98);
  REQUIRE(refused->size() == 2);
  REQUIRE((*refused)[0].id == "o42");
  REQUIRE((*refused)[0].position == 42);
  REQUIRE((*refused)[0].status == 400);
  REQUIRE((*refused)[0].type == "mapper_parsing_exception");
  REQUIRE(Value::parseJson((*refused)[0].document) == input[42]);
  REQUIRE((*refused)[1].id == "o77");
}

TEST_CASE("an unreachable server fails the job after retry_timeout with the last error",
          "[elasticsearch]") {
  auto options = ElasticsearchSinkOptions{};
  options.host = "http://127.0.0.1:" + std::to_string(closedLoopbackPort());
  options.index = "orders";
  options.retry_timeout = Duration(300);
  options.initial_backoff = Duration(10);
  ExecutionContext ctx("es-unreachable");
  writeElasticsearch(ctx.fromCollection(orders(10)), options);
  try {
    ctx.execute();
    FAIL("the job did not fail");
  } catch (const JobFailedError& e) {
    std::string message = e.what();
    INFO(message);
    REQUIRE(message.find("gave up after") != std::string::npos);
    REQUIRE(message.find("cannot connect to http://127.0.0.1:") != std::string::npos);
  }
}

TEST_CASE("a request refused with another 4xx fails the job without retrying", "[elasticsearch]") {
  BulkServer server;
  server.failRequests({401});
  ExecutionContext ctx("es-401");
  writeElasticsearch(ctx.fromCollection(orders(10)), optionsFor(server));
  REQUIRE_THROWS_WITH(ctx.execute(), Catch::Contains("refused with HTTP 401 (not retried)"));
  REQUIRE(server.requestDocuments().size() == 1);
}

TEST_CASE("bulk requests stay within max_bytes", "[elasticsearch]") {
  BulkServer server;
  auto options = optionsFor(server);
  options.max_actions = 100'000;
  options.max_bytes = 2'000;
  ExecutionContext ctx("es-bytes");
  writeElasticsearch(ctx.fromCollection(orders(500)), options).parallelism(1);
  ctx.execute();
  requireEachOnce(server.documents(), 500);
  auto sizes = server.requestBytes();
  REQUIRE(sizes.size() > 10);
  for (std::size_t size : sizes) REQUIRE(size <= 2'000);
}

namespace {

// Emits three orders, then waits (without ending) until the server has them: only the timed
// flush can deliver them. Gives up after a minute, so that a broken flush fails, not hangs.
class PausingSource final : public Source<Value> {
 public:
  PausingSource(const BulkServer& server, std::shared_ptr<std::atomic<bool>> delivered)
      : server_(server), delivered_(std::move(delivered)) {}
  SourceStatus poll(SourceOutput<Value>& out) override {
    if (emitted_ < 3) {
      out.collect(order(emitted_++));
      return SourceStatus::HaveMoreOutput;
    }
    if (server_.documents().size() == 3) {
      *delivered_ = true;
      return SourceStatus::Finished;
    }
    if (std::chrono::steady_clock::now() - start_ > std::chrono::minutes(1))
      return SourceStatus::Finished;
    return SourceStatus::Blocked;
  }

 private:
  const BulkServer& server_;
  std::shared_ptr<std::atomic<bool>> delivered_;
  int emitted_ = 0;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

}  // namespace

TEST_CASE("buffered documents are sent after flush_interval while the input pauses",
          "[elasticsearch]") {
  BulkServer server;
  auto delivered = std::make_shared<std::atomic<bool>>(false);
  auto options = optionsFor(server);
  options.flush_interval = Duration(50);
  ExecutionContext ctx("es-timed-flush");
  auto input = ctx.fromSource<Value>(
      [&server, delivered] { return std::make_unique<PausingSource>(server, delivered); },
      "pausing", SourceOptions{.single = true});
  writeElasticsearch(input, options).parallelism(1);
  ctx.execute();
  REQUIRE(*delivered);
  requireEachOnce(server.documents(), 3);
}

TEST_CASE("a cancelled job sends nothing more once wait() returns, while its handle lives",
          "[elasticsearch]") {
  BulkServer server;
  auto options = optionsFor(server);
  options.flush_interval = Duration(300);  // documents wait in the buffer between requests
  ExecutionContext ctx("es-cancelled");
  auto input = ctx.generate([](std::uint64_t i) { return order(static_cast<int>(i)); },
                            GeneratorOptions{.rate = 2'000});
  writeElasticsearch(input, options).parallelism(1);
  JobHandle job = ctx.start();
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (server.documents().size() < 300 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  REQUIRE(server.documents().size() >= 300);
  job.cancel();
  job.wait();
  std::size_t at_wait = server.documents().size();
  // Longer than flush_interval: a sender still alive would have sent its buffer by now.
  std::this_thread::sleep_for(std::chrono::milliseconds(800));
  CHECK(server.documents().size() == at_wait);
  CHECK(job.status() == JobStatus::Cancelled);
}
