// TypeScript jobs with a Kafka source (src/js/js_kafka_connectors.cpp) against librdkafka's mock
// cluster over TCP, kcat producing: `.partition(p)` pins one partition, and records that cannot
// be decoded follow the job's error policy (fail naming topic/partition@offset, or the
// dead-letter output).
#include <algorithm>
#include <catch2/catch.hpp>
#include <mutex>
#include <string>
#include <vector>

#include "js_graph_builder.hpp"
#include "js_job.hpp"
#include "kafka_broker.hpp"
#include "lightflus/connectors/kafka.hpp"
#include "lightflus/lightflus.hpp"

using namespace lightflus;
using namespace lightflus::js;
using namespace lightflus::test;

namespace {

/// Runs a TypeScript job and returns what its sink received (as JSON or the string itself).
std::vector<std::string> runJob(const std::string& source, JsJobOptions options,
                                int parallelism = 1) {
  auto job = JsJob::load(source, options);
  std::vector<CollectResult<Value>> results;
  JsGraphOptions graph_options;
  graph_options.sink_override = [&results](const Value&) -> SinkFactory<Value> {
    auto state = results.emplace_back().state_;
    return [state] { return std::make_unique<CollectSink<Value>>(state); };
  };
  ExecutionContext ctx = JsGraphBuilder(job, graph_options).build();
  ctx.execute(ExecutionOptions{.parallelism = parallelism});
  std::vector<std::string> out;
  for (const auto& r : results)
    for (const auto& v : r.values())
      out.push_back(v.isString() ? std::string(v.asString()) : v.toJson());
  std::sort(out.begin(), out.end());
  return out;
}

/// A job reading `topic` (bounded) with the given builder calls, mapping nothing, to stdout.
std::string kafkaJob(const std::string& builder_calls, const std::string& value_type) {
  return R"(
    import { ExecutionContext, Kafka, Stdout } from "lightflus";
    const ctx = ExecutionContext.new("kafkaJs");
    const source = Kafka.builder()
      .brokers(ctx.param("brokers", "").split(","))
      .topic("events")
      .bounded(true))" +
         builder_calls + R"(
      .build<any>(undefined, ")" +
         value_type + R"(");
    source.createFlow(ctx).map((v: any) => v).sink(Stdout.new());
    ctx.execute();
  )";
}

}  // namespace

TEST_CASE("a TypeScript Kafka source with .partition(p) reads only that partition",
          "[kafka][js][integration]") {
  DevKafkaCluster kafka(1, {{"events", 3}});
  const auto& brokers = kafka.bootstrapServers();
  for (int p = 0; p < 3; ++p)
    kcatProduce(brokers, "events", {"p" + std::to_string(p) + "-a", "p" + std::to_string(p) + "-b"},
                p);
  // Two subtasks: the pinned partition is read once, by one of them.
  CHECK(runJob(kafkaJob(".partition(1)", "string"),
               {.file_name = "pinned.ts", .params = {{"brokers", brokers}}},
               2) == std::vector<std::string>{"p1-a", "p1-b"});
  // Without it, every partition.
  CHECK(runJob(kafkaJob("", "string"), {.file_name = "all.ts", .params = {{"brokers", brokers}}},
               2) == std::vector<std::string>{"p0-a", "p0-b", "p1-a", "p1-b", "p2-a", "p2-b"});
}

TEST_CASE("a TypeScript Kafka source pinned to a partition the topic lacks fails clearly",
          "[kafka][js][integration]") {
  DevKafkaCluster kafka(1, {{"events", 2}});
  CHECK_THROWS_WITH(
      runJob(kafkaJob(".partition(5)", "string"),
             {.file_name = "missing.ts", .params = {{"brokers", kafka.bootstrapServers()}}}),
      Catch::Contains("topic 'events' has 2 partitions; there is no partition 5"));
}

TEST_CASE("a malformed JSON record fails a TypeScript job naming topic, partition and offset",
          "[kafka][js][integration]") {
  DevKafkaCluster kafka(1, {{"events", 1}});
  kcatProduce(kafka.bootstrapServers(), "events", {R"({"a":1})", R"({"a":)", R"({"a":3})"});
  CHECK_THROWS_WITH(
      runJob(kafkaJob("", "object"),
             {.file_name = "malformed.ts", .params = {{"brokers", kafka.bootstrapServers()}}}),
      Catch::Contains("events/0@1: invalid JSON") && Catch::Contains("--on-error dead-letter"));
}

TEST_CASE("with the dead-letter policy a malformed Kafka record goes to the dead-letter output",
          "[kafka][js][integration]") {
  DevKafkaCluster kafka(1, {{"events", 1}});
  kcatProduce(kafka.bootstrapServers(), "events",
              {R"({"a":1})", "not json", R"({"a":3})", R"({"a":)"});
  std::mutex mutex;
  std::vector<std::string> letters;
  JsJobOptions options{.file_name = "deadLetters.ts",
                       .params = {{"brokers", kafka.bootstrapServers()}},
                       .on_error = ErrorPolicy::kDeadLetter};
  options.dead_letters = [&](std::string_view line) {
    std::lock_guard lock(mutex);
    letters.emplace_back(line);
  };
  CHECK(runJob(kafkaJob("", "object"), options) ==
        std::vector<std::string>{R"({"a":1})", R"({"a":3})"});
  REQUIRE(letters.size() == 2);
  std::sort(letters.begin(), letters.end());
  auto first = Value::parseJson(letters[0])["deadLetter"];
  auto second = Value::parseJson(letters[1])["deadLetter"];
  // Sorted by their JSON text; find each by its record.
  if (first["record"].asString() != "not json") std::swap(first, second);
  CHECK(first["job"].asString() == "kafkaJs");
  CHECK(first["record"].asString() == "not json");
  CHECK_THAT(std::string(first["error"].asString()), Catch::StartsWith("events/0@1: invalid JSON"));
  CHECK_THAT(std::string(first["operator"].asString()), Catch::Contains("kafka"));
  CHECK(second["record"].asString() == R"({"a":)");
  CHECK_THAT(std::string(second["error"].asString()),
             Catch::StartsWith("events/0@3: invalid JSON"));
}
