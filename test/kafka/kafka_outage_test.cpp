// The Kafka connector across broker outages, against librdkafka's mock cluster over TCP
// (DevKafkaCluster::setBrokerDown/setBrokerUp close the brokers' connections and refuse new
// ones), with kcat as the independent client.
#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <thread>

#include "kafka_broker.hpp"
#include "lightflus/connectors/kafka.hpp"
#include "lightflus/lightflus.hpp"
#include "test_helpers.hpp"

using namespace lightflus;
using namespace lightflus::test;

namespace {

/// Produces "p<partition>-<i>" for i in [from, to) to each of `partitions` partitions.
std::vector<std::string> produceRound(const std::string& brokers, const std::string& topic,
                                      int partitions, int from, int to) {
  std::vector<std::string> all;
  for (int p = 0; p < partitions; ++p) {
    auto lines = numbered("p" + std::to_string(p) + "-", from, to);
    kcatProduce(brokers, topic, lines, p);
    all.insert(all.end(), lines.begin(), lines.end());
  }
  return all;
}

}  // namespace

TEST_CASE("a source reads every record once across an outage of all brokers",
          "[kafka][integration]") {
  DevKafkaCluster kafka(2, {{"events", 4}});
  const auto& brokers = kafka.bootstrapServers();
  auto expected = produceRound(brokers, "events", 4, 0, 50);

  ExecutionContext ctx("kafka-outage");
  // A short discovery interval, so that metadata requests also fail during the outage.
  auto out = readKafka<std::string>(ctx, {.brokers = brokers,
                                          .topics = {"events"},
                                          .partition_discovery_interval = Duration(300)})
                 .parallelism(2)
                 .collect();
  auto job = ctx.start();
  REQUIRE(eventually([&] { return out.size() == expected.size(); }));

  kafka.setBrokerDown(1);
  kafka.setBrokerDown(2);
  // The outage is real: an independent client cannot read the cluster's metadata now.
  CHECK_THROWS(run("kcat -L -m 1 -b " + brokers + " 2>&1"));
  // Long enough for the consumers to lose their connections and fail to reconnect a few times.
  std::this_thread::sleep_for(std::chrono::seconds(1));
  CHECK(job.status() == JobStatus::Running);
  kafka.setBrokerUp(1);
  kafka.setBrokerUp(2);

  auto more = produceRound(brokers, "events", 4, 50, 100);
  expected.insert(expected.end(), more.begin(), more.end());
  bool all = eventually([&] { return out.size() >= expected.size(); });
  INFO("job " << toString(job.status()) << " " << job.error() << ", read " << out.size());
  CHECK(all);
  job.cancel();
  job.wait();
  CHECK(sorted(out.values()) == sorted(expected));
}

TEST_CASE("a Kafka to Kafka job delivers every record once across a broker outage",
          "[kafka][integration]") {
  DevKafkaCluster kafka(1, {{"in", 2}, {"out", 2}});
  const auto& brokers = kafka.bootstrapServers();
  auto expected = produceRound(brokers, "in", 2, 0, 100);

  ExecutionContext ctx("kafka-outage-pipe");
  auto upper = readKafka<std::string>(ctx, {.brokers = brokers, .topics = {"in"}})
                   .map([](const std::string& s) { return "out-" + s; });
  writeKafka(upper, {.brokers = brokers, .topic = "out"});
  auto job = ctx.start();
  REQUIRE(eventually([&] { return kcatConsume(brokers, "out").size() == expected.size(); }));

  kafka.setBrokerDown(1);
  std::this_thread::sleep_for(std::chrono::seconds(2));
  CHECK(job.status() == JobStatus::Running);
  kafka.setBrokerUp(1);

  auto more = produceRound(brokers, "in", 2, 100, 200);
  expected.insert(expected.end(), more.begin(), more.end());
  for (auto& e : expected) e = "out-" + e;
  std::vector<std::string> got;
  bool all =
      eventually([&] { return (got = kcatConsume(brokers, "out")).size() >= expected.size(); });
  INFO("job " << toString(job.status()) << " " << job.error() << ", read " << got.size());
  CHECK(all);
  job.cancel();
  job.wait();
  CHECK(sorted(kcatConsume(brokers, "out")) == sorted(expected));
}

TEST_CASE("a sink whose broker stays down past delivery_timeout fails the job naming the topic",
          "[kafka][integration]") {
  DevKafkaCluster kafka(1, {{"out", 1}});
  const auto& brokers = kafka.bootstrapServers();
  ExecutionContext ctx("kafka-outage-sink");
  auto written = std::make_shared<std::atomic<int>>(0);
  auto values = ctx.generate([](std::uint64_t i) { return "v" + std::to_string(i); },
                             GeneratorOptions{.count = 0, .rate = 200})
                    .map([written](const std::string& s) {
                      written->fetch_add(1);
                      return s;
                    });
  writeKafka(values, {.brokers = brokers, .topic = "out", .delivery_timeout = Duration(1500)});
  auto job = ctx.start();
  REQUIRE(eventually([&] { return *written >= 20; }));
  kafka.setBrokerDown(1);
  // The job must end by itself (failed), not hang or drop the records silently.
  REQUIRE(job.waitFor(Duration(60'000)));
  CHECK(job.status() == JobStatus::Failed);
  CHECK_THAT(job.error(), Catch::Contains("Kafka sink to topic 'out'") &&
                              Catch::Contains("could not be delivered"));
  CHECK_THROWS_AS(job.wait(), JobFailedError);
}

TEST_CASE("a source waits through an outage longer than connect_timeout instead of failing",
          "[kafka][integration]") {
  // connect_timeout bounds only the start; a running source keeps retrying (librdkafka
  // reconnects with backoff), since its positions are safe and a restart could do no better.
  DevKafkaCluster kafka(1, {{"t", 1}});
  const auto& brokers = kafka.bootstrapServers();
  kcatProduce(brokers, "t", {"a", "b"});
  ExecutionContext ctx("kafka-outage-long");
  auto out = readKafka<std::string>(ctx, {.brokers = brokers,
                                          .topics = {"t"},
                                          .connect_timeout = Duration(500),
                                          .partition_discovery_interval = Duration(200)})
                 .collect();
  auto job = ctx.start();
  REQUIRE(eventually([&] { return out.size() == 2; }));
  kafka.setBrokerDown(1);
  std::this_thread::sleep_for(std::chrono::seconds(2));  // four times connect_timeout
  CHECK(job.status() == JobStatus::Running);
  kafka.setBrokerUp(1);
  kcatProduce(brokers, "t", {"c"});
  bool all = eventually([&] { return out.size() >= 3; });
  INFO("job " << toString(job.status()) << " " << job.error());
  CHECK(all);
  job.cancel();
  job.wait();
  CHECK(out.values() == std::vector<std::string>{"a", "b", "c"});
}
