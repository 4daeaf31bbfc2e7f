// TypeScript jobs with the original API's Elastic.builder() write to the BulkServer stand-in
// through the JS host (JsJob + JsGraphBuilder) and lightflus::elasticsearch.
#include <catch2/catch.hpp>

#include <algorithm>
#include <mutex>
#include <string_view>

#include "bulk_server.hpp"
#include "js_graph_builder.hpp"
#include "js_job.hpp"
#include "lightflus/lightflus.hpp"

using namespace lightflus;
using namespace lightflus::js;
using namespace lightflus::test;

namespace {

void runJob(std::string_view source, const std::string& host, int parallelism = 1) {
  JsJobOptions options;
  options.file_name = "elastic.ts";
  options.params["host"] = host;
  auto job = JsJob::load(source, options);
  ExecutionContext ctx = JsGraphBuilder(job).build();
  ExecutionOptions execution;
  execution.parallelism = parallelism;
  ctx.execute(execution);
}

}  // namespace

TEST_CASE("a TypeScript job appends its elements with Elastic.builder()", "[elasticsearch][js]") {
  BulkServer server;
  runJob(R"(
    import { ExecutionContext, Generator, Elastic, SinkMode } from "lightflus";
    const ctx = ExecutionContext.new("es-append");
    const sink = Elastic.builder().host(ctx.param("host", "")).index("numbers")
      .sinkMode(SinkMode.APPEND).maxActions(64).build<{ n: number }>();
    ctx.fromSource(Generator.sequence(1, 500)).map((n: number) => ({ n, square: n * n })).sink(sink);
    ctx.execute();
  )",
         server.url(), 2);
  auto documents = server.documents();
  std::vector<std::int64_t> seen;
  for (const auto& d : documents) {
    REQUIRE(d.action == "index");
    REQUIRE(d.index == "numbers");
    REQUIRE_FALSE(d.id);
    REQUIRE(d.source["square"].asInt() == d.source["n"].asInt() * d.source["n"].asInt());
    seen.push_back(d.source["n"].asInt());
  }
  std::sort(seen.begin(), seen.end());
  std::vector<std::int64_t> expected;
  for (int n = 1; n <= 500; ++n) expected.push_back(n);
  REQUIRE(seen == expected);
  REQUIRE(server.formatErrors().empty());
}

TEST_CASE("a TypeScript job upserts by the id extractor and the last value of a key wins",
          "[elasticsearch][js]") {
  BulkServer server;
  runJob(R"(
    import { ExecutionContext, Generator, Elastic, SinkMode } from "lightflus";
    const ctx = ExecutionContext.new("es-upsert");
    const sink = Elastic.builder().host(ctx.param("host", "")).index("counts")
      .sinkMode(SinkMode.UPSERT).idExtractor((c: { word: string }) => c.word)
      .build<{ word: string; count: number }>();
    ctx.fromSource(Generator.values(["a", "b", "a", "c", "a", "b"]))
      .map((w: string) => ({ word: w, count: 1 }))
      .keyBy((c: { word: string }) => c.word)
      .reduce((x: { word: string; count: number }, y: { word: string; count: number }) =>
        ({ word: x.word, count: x.count + y.count }))
      .sink(sink);
    ctx.execute();
  )",
         server.url());
  auto by_id = server.byId();
  REQUIRE(by_id.size() == 3);
  CHECK(by_id.at("a") == Value::parseJson(R"({"word":"a","count":3})"));
  CHECK(by_id.at("b") == Value::parseJson(R"({"word":"b","count":2})"));
  CHECK(by_id.at("c") == Value::parseJson(R"({"word":"c","count":1})"));
  auto documents = server.documents();
  REQUIRE(documents.size() == 6);  // every rolling update is sent
  for (const auto& d : documents) REQUIRE(d.action == "update");
  REQUIRE(server.formatErrors().empty());
}

TEST_CASE("a TypeScript job's changelog rows are indexed and deleted by id with changelog()",
          "[elasticsearch][js][changelog]") {
  BulkServer server;
  runJob(R"(
    import { ExecutionContext, Generator, Elastic, type ChangelogRow } from "lightflus";
    type Avg = { id: string; final: number };
    const ctx = ExecutionContext.new("es-changelog");
    const rows: ChangelogRow<Avg>[] = [
      { op: "+I", id: "a", final: 10 }, { op: "+I", id: "b", final: 20 },
      { op: "-U", id: "a", final: 10 }, { op: "+U", id: "a", final: 15 },
      { op: "-D", id: "b", final: 20 }, { id: "c", final: 7 },
    ];
    ctx.fromSource(Generator.values(rows)).sink(
      Elastic.builder().host(ctx.param("host", "")).index("avg")
        .idExtractor((r: Avg) => r.id).changelog().build<ChangelogRow<Avg>>());
    ctx.execute();
  )",
         server.url());
  auto by_id = server.byId();
  REQUIRE(by_id.size() == 2);
  CHECK(by_id.at("a") == Value::parseJson(R"({"id":"a","final":15})"));
  CHECK(by_id.at("c") == Value::parseJson(R"({"id":"c","final":7})"));
  REQUIRE(server.formatErrors().empty());
}

TEST_CASE("a TypeScript job whose document is refused fails with the document's id",
          "[elasticsearch][js]") {
  BulkServer server;
  server.refuseWhere("bad");
  REQUIRE_THROWS_WITH(
      runJob(R"(
    import { ExecutionContext, Generator, Elastic, SinkMode } from "lightflus";
    const ctx = ExecutionContext.new("es-refused");
    ctx.fromSource(Generator.sequence(0, 9))
      .map((n: number) => ({ id: "doc" + n, bad: n === 6 }))
      .sink(Elastic.builder().host(ctx.param("host", "")).index("docs")
        .sinkMode(SinkMode.APPEND).idExtractor((d: { id: string }) => d.id).build());
    ctx.execute();
  )",
             server.url()),
      Catch::Contains("id \"doc6\"") && Catch::Contains("mapper_parsing_exception"));
}

TEST_CASE("with the dead-letter policy a refused document goes to the job's dead letters",
          "[elasticsearch][js]") {
  BulkServer server;
  server.refuseWhere("bad");
  std::vector<std::string> letters;
  std::mutex mutex;
  JsJobOptions options;
  options.file_name = "elastic.ts";
  options.params["host"] = server.url();
  options.on_error = ErrorPolicy::kDeadLetter;
  options.dead_letters = [&](std::string_view line) {
    std::lock_guard lock(mutex);
    letters.emplace_back(line);
  };
  auto job = JsJob::load(R"(
    import { ExecutionContext, Generator, Elastic, SinkMode } from "lightflus";
    const ctx = ExecutionContext.new("es-dead-letters");
    ctx.fromSource(Generator.sequence(0, 9))
      .map((n: number) => ({ id: "doc" + n, bad: n === 6 }))
      .sink(Elastic.builder().host(ctx.param("host", "")).index("docs")
        .sinkMode(SinkMode.APPEND).idExtractor((d: { id: string }) => d.id).build());
    ctx.execute();
  )",
                         options);
  ExecutionContext ctx = JsGraphBuilder(job).build();
  ctx.execute();
  REQUIRE(server.documents().size() == 9);
  REQUIRE(letters.size() == 1);
  Value letter = Value::parseJson(letters[0])["deadLetter"];
  CHECK(letter["record"] == Value::parseJson(R"({"id":"doc6","bad":true})"));
  CHECK(letter["error"].asString().find("id \"doc6\"") != std::string::npos);
  CHECK(letter["error"].asString().find("mapper_parsing_exception") != std::string::npos);
}
