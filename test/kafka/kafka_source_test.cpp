// The Kafka source against librdkafka's mock cluster over TCP, with kcat producing.
#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <thread>

#include "kafka_broker.hpp"
#include "lightflus/connectors/kafka.hpp"
#include "lightflus/lightflus.hpp"
#include "test_helpers.hpp"

using namespace lightflus;
using namespace lightflus::test;

TEST_CASE("records kcat produced are read exactly, in order per partition, by a bounded job",
          "[kafka][integration]") {
  DevKafkaCluster kafka(1, {{"lines", 1}});
  kcatProduce(kafka.bootstrapServers(), "lines", numbered("line-", 0, 500));
  ExecutionContext ctx("kafka-read");
  auto out = readKafka<std::string>(
                 ctx, {.brokers = kafka.bootstrapServers(), .topics = {"lines"}, .bounded = true})
                 .collect();
  ctx.execute();
  CHECK(out.values() == numbered("line-", 0, 500));
}

TEST_CASE("two parallel subtasks over four partitions read every record once",
          "[kafka][integration]") {
  DevKafkaCluster kafka(2, {{"events", 4}});
  std::vector<std::string> expected;
  for (int p = 0; p < 4; ++p) {
    auto lines = numbered("p" + std::to_string(p) + "-", 0, 250);
    kcatProduce(kafka.bootstrapServers(), "events", lines, p);
    expected.insert(expected.end(), lines.begin(), lines.end());
  }
  ExecutionContext ctx("kafka-parallel");
  auto out = readKafka<KafkaRecord>(
                 ctx, {.brokers = kafka.bootstrapServers(), .topics = {"events"}, .bounded = true})
                 .parallelism(2)
                 .map([](const KafkaRecord& r) {
                   // The value names the partition kcat wrote it to.
                   CHECK(r.value.substr(1, 1) == std::to_string(r.partition));
                   return r.value;
                 })
                 .parallelism(2)
                 .collect();
  ctx.execute();
  CHECK(sorted(out.values()) == sorted(expected));
}

TEST_CASE("a Kafka record carries key, partition, offset, timestamp and headers",
          "[kafka][integration]") {
  DevKafkaCluster kafka(1, {{"orders", 1}});
  run("kcat -b " + kafka.bootstrapServers() + " -P -t orders -K: -H source=shop -H v=2",
      "order-7:{\"id\":7,\"total\":12.5}\n:{\"id\":8}\n");
  Timestamp before = processingTimeNow() - 60'000;

  ExecutionContext ctx("kafka-records");
  KafkaSourceOptions options{
      .brokers = kafka.bootstrapServers(), .topics = {"orders"}, .bounded = true};
  auto records = readKafka<KafkaRecord>(ctx, options).collect();
  options.value_format = KafkaValueFormat::Envelope;
  auto envelopes = readKafka<Value>(ctx, options).collect();
  options.value_format = KafkaValueFormat::Json;
  auto values = readKafka<Value>(ctx, options).collect();
  ctx.execute();

  auto r = records.values();
  REQUIRE(r.size() == 2);
  CHECK(r[0].topic == "orders");
  CHECK(r[0].partition == 0);
  CHECK(r[0].offset == 0);
  CHECK(r[1].offset == 1);
  CHECK(r[0].key == std::optional<std::string>("order-7"));
  CHECK(r[0].value == R"({"id":7,"total":12.5})");
  CHECK(r[0].timestamp > before);
  CHECK(r[0].headers ==
        std::vector<std::pair<std::string, std::string>>{{"source", "shop"}, {"v", "2"}});
  // The element's event time is the message timestamp.
  CHECK(records.elements()[0].timestamp == r[0].timestamp);

  auto e = envelopes.values();
  REQUIRE(e.size() == 2);
  CHECK(e[0]["key"].asString() == "order-7");
  CHECK(e[0]["value"]["total"].asDouble() == 12.5);
  CHECK(e[0]["topic"].asString() == "orders");
  CHECK(e[0]["offset"].asInt() == 0);
  CHECK(e[0]["headers"]["source"].asString() == "shop");

  auto v = values.values();
  REQUIRE(v.size() == 2);
  CHECK(v[1].toJson() == R"({"id":8})");
}

TEST_CASE("numbers are decoded from their text form", "[kafka][integration]") {
  DevKafkaCluster kafka(1, {{"numbers", 1}});
  kcatProduce(kafka.bootstrapServers(), "numbers", {"1", "-20", "300"});
  ExecutionContext ctx("kafka-numbers");
  auto out = readKafka<std::int64_t>(
                 ctx, {.brokers = kafka.bootstrapServers(), .topics = {"numbers"}, .bounded = true})
                 .collect();
  ctx.execute();
  CHECK(out.values() == std::vector<std::int64_t>{1, -20, 300});
}

TEST_CASE("malformed JSON fails the job naming topic, partition and offset",
          "[kafka][integration]") {
  DevKafkaCluster kafka(1, {{"events", 1}});
  kcatProduce(kafka.bootstrapServers(), "events", {"{\"a\":1}", "{\"a\":", "{\"a\":3}"});
  ExecutionContext ctx("kafka-malformed");
  readKafka<Value>(ctx,
                   {.brokers = kafka.bootstrapServers(), .topics = {"events"}, .bounded = true})
      .collect();
  try {
    ctx.execute();
    FAIL("a malformed record must fail the job");
  } catch (const JobFailedError& e) {
    CHECK_THAT(e.what(), Catch::Contains("events/0@1: invalid JSON"));
  }
}

TEST_CASE("malformed JSON goes to the dead-letter output when the job asks",
          "[kafka][integration]") {
  DevKafkaCluster kafka(1, {{"events", 1}});
  kcatProduce(kafka.bootstrapServers(), "events", {"{\"a\":1}", "not json", "{\"a\":3}"});
  ExecutionContext ctx("kafka-dead-letters");
  auto events = readKafka<Value>(ctx, {.brokers = kafka.bootstrapServers(),
                                       .topics = {"events"},
                                       .bounded = true,
                                       .on_malformed = MalformedPolicy::DeadLetter});
  auto good = events.map([](const Value& v) { return v["a"].asInt(); }).collect();
  auto bad = events.deadLetters().collect();
  ctx.execute();
  CHECK(good.values() == std::vector<std::int64_t>{1, 3});
  auto letters = bad.values();
  REQUIRE(letters.size() == 1);
  CHECK(letters[0].origin == "events/0@1");
  CHECK(letters[0].record == "not json");
  CHECK_THAT(letters[0].error, Catch::Contains("invalid JSON"));
}

TEST_CASE("an unreachable broker fails the job with a clear error after the timeout",
          "[kafka][integration]") {
  ExecutionContext ctx("kafka-unreachable");
  readKafka<std::string>(
      ctx, {.brokers = "127.0.0.1:1", .topics = {"nowhere"}, .connect_timeout = Duration(1500)})
      .collect();
  auto start = std::chrono::steady_clock::now();
  CHECK_THROWS_WITH(ctx.execute(), Catch::Contains("cannot reach the brokers within 1500 ms"));
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(6));
}

TEST_CASE("a group restarted from its committed offsets neither skips nor re-reads",
          "[kafka][integration]") {
  DevKafkaCluster kafka(1, {{"clicks", 2}});
  const auto& brokers = kafka.bootstrapServers();
  kcatProduce(brokers, "clicks", numbered("a", 0, 100), 0);
  kcatProduce(brokers, "clicks", numbered("b", 0, 100), 1);

  // The first run reads everything, takes a checkpoint (which commits) and is cancelled.
  {
    ExecutionContext ctx("kafka-group-1");
    auto out = readKafka<std::string>(
                   ctx, {.brokers = brokers, .topics = {"clicks"}, .group_id = "clickers"})
                   .collect();
    auto job = ctx.start();
    REQUIRE(eventually([&] { return out.size() == 200; }));
    job.triggerCheckpoint();
    REQUIRE(eventually([&] {
      return committedOffsets(brokers, "clickers", "clicks", 2) == std::vector<long>{100, 100};
    }));
    job.cancel();
    job.wait();
  }
  kcatProduce(brokers, "clicks", numbered("a", 100, 130), 0);
  kcatProduce(brokers, "clicks", numbered("b", 100, 120), 1);

  // A new job in the same group (no snapshot) continues at the committed offsets.
  ExecutionContext ctx("kafka-group-2");
  auto out =
      readKafka<std::string>(
          ctx, {.brokers = brokers, .topics = {"clicks"}, .group_id = "clickers", .bounded = true})
          .collect();
  ctx.execute();
  auto expected = numbered("a", 100, 130);
  auto b = numbered("b", 100, 120);
  expected.insert(expected.end(), b.begin(), b.end());
  CHECK(sorted(out.values()) == sorted(expected));
}

TEST_CASE("a job restored from a snapshot continues at the snapshot's positions",
          "[kafka][integration]") {
  DevKafkaCluster kafka(1, {{"t", 3}});
  const auto& brokers = kafka.bootstrapServers();
  for (int p = 0; p < 3; ++p)
    kcatProduce(brokers, "t", numbered("p" + std::to_string(p) + "-", 0, 50), p);
  std::shared_ptr<const Snapshot> snapshot;
  {
    ExecutionContext ctx("kafka-restore");
    auto out = readKafka<std::string>(ctx, {.brokers = brokers, .topics = {"t"}})
                   .uid("kafka-in")
                   .collect();
    auto job = ctx.start();
    REQUIRE(eventually([&] { return out.size() == 150; }));
    snapshot = std::make_shared<const Snapshot>(job.triggerCheckpoint());
    job.cancel();
    job.wait();
  }
  std::vector<std::string> expected;
  for (int p = 0; p < 3; ++p) {
    auto more = numbered("p" + std::to_string(p) + "-", 50, 60);
    kcatProduce(brokers, "t", more, p);
    expected.insert(expected.end(), more.begin(), more.end());
  }
  ExecutionContext ctx("kafka-restore");
  // Earliest would re-read everything: the snapshot's positions win.
  auto out = readKafka<std::string>(ctx, {.brokers = brokers,
                                          .topics = {"t"},
                                          .start = KafkaStartPosition::earliest(),
                                          .bounded = true})
                 .uid("kafka-in")
                 .map([](const std::string& s) { return s; })
                 .collect("restored");
  // The first job's collect sink is not restored (this job collects anew): drop its state.
  ctx.execute(ExecutionOptions{.restore = snapshot, .allow_non_restored_state = true});
  CHECK(sorted(out.values()) == sorted(expected));
}

TEST_CASE("the latest start position skips older records", "[kafka][integration]") {
  DevKafkaCluster kafka(1, {{"t", 1}});
  kcatProduce(kafka.bootstrapServers(), "t", {"old-1", "old-2"});
  ExecutionContext ctx("kafka-latest");
  auto latest = readKafka<std::string>(ctx, {.brokers = kafka.bootstrapServers(),
                                             .topics = {"t"},
                                             .start = KafkaStartPosition::latest(),
                                             .bounded = true})
                    .collect();
  ctx.execute();
  CHECK(latest.values().empty());
}

TEST_CASE("a subtask without partitions does not hold back the event-time windows downstream",
          "[kafka][integration]") {
  // One partition, two source subtasks: subtask 1 has nothing to read and must say so (idle),
  // else the windows after it wait for its watermark forever.
  DevKafkaCluster kafka(1, {{"timed", 1}});
  ExecutionContext write_ctx("kafka-idle-write");
  auto timed = write_ctx.fromCollection(std::vector<std::int64_t>{1000, 1500, 5000})
                   .assignTimestamps([](const std::int64_t& t) { return t; });
  writeKafka(timed, {.brokers = kafka.bootstrapServers(), .topic = "timed"});
  write_ctx.execute();

  ExecutionContext ctx("kafka-idle-read");
  auto sums =
      readKafka<std::int64_t>(ctx, {.brokers = kafka.bootstrapServers(), .topics = {"timed"}})
          .parallelism(2)
          .keyBy([](const std::int64_t&) { return 0; })
          .window(TumblingEventTimeWindows::of(Duration(1000)))
          .reduce([](const std::int64_t& a, const std::int64_t& b) { return a + b; })
          .collect();
  auto job = ctx.start();
  // The watermark after 5000 (4999) closes [1000, 2000): 1000 + 1500.
  bool fired = eventually([&] { return sums.size() >= 1; }, std::chrono::seconds(20));
  job.cancel();
  job.wait();
  CHECK(fired);
  CHECK(sums.values() == std::vector<std::int64_t>{2500});
}

TEST_CASE("a Kafka source snapshotted at parallelism 2 is restored at 1 and at 3",
          "[kafka][integration]") {
  DevKafkaCluster kafka(1, {{"t", 4}});
  const auto& brokers = kafka.bootstrapServers();
  for (int p = 0; p < 4; ++p)
    kcatProduce(brokers, "t", numbered("p" + std::to_string(p) + "-", 0, 50), p);
  std::shared_ptr<const Snapshot> snapshot;
  {
    ExecutionContext ctx("kafka-rescale");
    auto out = readKafka<std::string>(ctx, {.brokers = brokers, .topics = {"t"}})
                   .parallelism(2)
                   .uid("kafka-in")
                   .collect();
    auto job = ctx.start();
    REQUIRE(eventually([&] { return out.size() == 200; }));
    snapshot = std::make_shared<const Snapshot>(job.triggerCheckpoint());
    job.cancel();
    job.wait();
  }
  std::vector<std::string> expected;
  for (int p = 0; p < 4; ++p) {
    auto more = numbered("p" + std::to_string(p) + "-", 50, 60);
    kcatProduce(brokers, "t", more, p);
    expected.insert(expected.end(), more.begin(), more.end());
  }
  for (int parallelism : {1, 3}) {
    INFO("restored at parallelism " << parallelism);
    ExecutionContext ctx("kafka-rescale");
    // Every partition continues at its position, whichever new subtask reads it.
    auto out = readKafka<std::string>(ctx, {.brokers = brokers,
                                            .topics = {"t"},
                                            .start = KafkaStartPosition::earliest(),
                                            .bounded = true})
                   .parallelism(parallelism)
                   .uid("kafka-in")
                   .map([](const std::string& s) { return s; })
                   .collect("restored");
    ctx.execute(ExecutionOptions{.restore = snapshot, .allow_non_restored_state = true});
    CHECK(sorted(out.values()) == sorted(expected));
  }
}
