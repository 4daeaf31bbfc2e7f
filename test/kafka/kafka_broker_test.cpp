// The Kafka connector against a real Apache Kafka broker (KRaft), where the mock cluster is too
// lax: read_committed isolation for the sink's transactions, and group offsets.
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

namespace {

/// One broker for all [kafka-broker] tests of this run (it takes a few seconds to start).
KafkaBroker& broker() {
  static KafkaBroker instance;
  return instance;
}

std::vector<std::string> readCommitted(const std::string& topic) {
  auto lines =
      kcatConsume(broker().bootstrapServers(), topic, false, "-X isolation.level=read_committed");
  std::sort(lines.begin(), lines.end());
  return lines;
}

// A job that writes "<prefix><i>" for the numbers of a generator (count 0: unbounded), in
// Kafka transactions.
struct TransactionalJob {
  ExecutionContext ctx{"kafka-exactly-once"};
  std::shared_ptr<std::atomic<int>> written = std::make_shared<std::atomic<int>>(0);
  TransactionalJob(const std::string& prefix, std::uint64_t count) {
    auto w = written;
    auto values = ctx.generate([prefix](std::uint64_t i) { return prefix + std::to_string(i); },
                               GeneratorOptions{.count = count, .rate = 2000})
                      .parallelism(1)
                      .map([w](const std::string& s) {
                        w->fetch_add(1);
                        return s;
                      });
    writeKafka(values, {.brokers = broker().bootstrapServers(),
                        .topic = "exactly-once",
                        .delivery = KafkaDelivery::ExactlyOnce,
                        .transactional_id = "lightflus-test-tx"})
        .uid("kafka-out")
        .parallelism(1);
  }
};

}  // namespace

TEST_CASE("records of an aborted transaction never reach a read_committed reader",
          "[kafka-broker][integration]") {
  createTopic(broker().bootstrapServers(), "exactly-once", 1);

  // Run 1 writes a0, a1, ..., takes a checkpoint (its transaction commits), writes on, and
  // "crashes" (is cancelled) with the later records in an open transaction.
  std::vector<std::string> committed;
  {
    TransactionalJob job("a", 0);
    auto handle = job.ctx.start();
    REQUIRE(eventually([&] { return *job.written >= 100; }));
    handle.triggerCheckpoint();
    REQUIRE(eventually([&] { return !(committed = readCommitted("exactly-once")).empty(); }));
    REQUIRE(committed.size() >= 100);
    REQUIRE(eventually([&] { return *job.written > static_cast<int>(committed.size()) + 100; }));
    handle.cancel();
    handle.wait();
  }
  // Run 2 (same transactional.id) aborts what run 1 left open, writes c0..c49 and ends.
  {
    TransactionalJob job("c", 50);
    job.ctx.execute();
  }
  std::vector<std::string> expected = committed;
  for (int i = 0; i < 50; ++i) expected.push_back("c" + std::to_string(i));
  std::sort(expected.begin(), expected.end());
  CHECK(readCommitted("exactly-once") == expected);
}

TEST_CASE("records written after a checkpoint stay invisible until the next one completes",
          "[kafka-broker][integration]") {
  createTopic(broker().bootstrapServers(), "pending", 1);
  ExecutionContext ctx("kafka-pending");
  auto written = std::make_shared<std::atomic<int>>(0);
  auto values = ctx.generate([](std::uint64_t i) { return "r" + std::to_string(i); },
                             GeneratorOptions{.count = 0, .rate = 1000})
                    .parallelism(1)
                    .map([written](const std::string& s) {
                      written->fetch_add(1);
                      return s;
                    });
  writeKafka(values, {.brokers = broker().bootstrapServers(),
                      .topic = "pending",
                      .delivery = KafkaDelivery::ExactlyOnce,
                      .transactional_id = "lightflus-test-pending"})
      .parallelism(1);
  auto handle = ctx.start();
  REQUIRE(eventually([&] { return *written >= 50; }));
  handle.triggerCheckpoint();
  std::size_t committed = 0;
  REQUIRE(eventually([&] { return (committed = readCommitted("pending").size()) >= 50; }));
  int at_commit = *written;
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  REQUIRE(*written > at_commit + 100);                  // more records were written meanwhile...
  CHECK(readCommitted("pending").size() == committed);  // ...and none of them is visible
  handle.cancel();
  handle.wait();
}

TEST_CASE("on a real broker, a group restarted from committed offsets continues exactly",
          "[kafka-broker][integration]") {
  const auto& brokers = broker().bootstrapServers();
  createTopic(brokers, "visits", 4);
  std::vector<std::string> first, second;
  for (int i = 0; i < 200; ++i) first.push_back("v" + std::to_string(i));
  for (int i = 200; i < 260; ++i) second.push_back("v" + std::to_string(i));
  kcatProduce(brokers, "visits", first);
  {
    ExecutionContext ctx("kafka-visits-1");
    auto out = readKafka<std::string>(
                   ctx, {.brokers = brokers, .topics = {"visits"}, .group_id = "visitors"})
                   .parallelism(2)
                   .collect();
    auto job = ctx.start();
    bool all = eventually([&] { return out.size() == 200; });
    INFO("job " << toString(job.status()) << " " << job.error() << ", read " << out.size());
    REQUIRE(all);
    job.triggerCheckpoint();
    REQUIRE(eventually([&] {
      auto offsets = committedOffsets(brokers, "visitors", "visits", 4);
      long sum = 0;
      for (long o : offsets) sum += o;
      return sum == 200;
    }));
    job.cancel();
    job.wait();
  }
  kcatProduce(brokers, "visits", second);
  ExecutionContext ctx("kafka-visits-2");
  auto out =
      readKafka<std::string>(
          ctx, {.brokers = brokers, .topics = {"visits"}, .group_id = "visitors", .bounded = true})
          .parallelism(2)
          .collect();
  ctx.execute();
  auto got = out.values();
  std::sort(got.begin(), got.end());
  std::sort(second.begin(), second.end());
  CHECK(got == second);
}

// The mock cluster does not look offsets up by time, so this runs on the real broker.
TEST_CASE("a timestamp start position skips records produced before it",
          "[kafka-broker][integration]") {
  const auto& brokers = broker().bootstrapServers();
  createTopic(brokers, "since", 1);
  kcatProduce(brokers, "since", {"old-1", "old-2"});
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  Timestamp cut = processingTimeNow();
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  kcatProduce(brokers, "since", {"new-1", "new-2"});
  ExecutionContext ctx("kafka-since");
  auto since = readKafka<std::string>(ctx, {.brokers = brokers,
                                            .topics = {"since"},
                                            .start = KafkaStartPosition::fromTimestamp(cut),
                                            .bounded = true})
                   .collect();
  ctx.execute();
  CHECK(since.values() == std::vector<std::string>{"new-1", "new-2"});
}

// The mock cluster cannot add partitions to a topic, so this runs on the real broker.
TEST_CASE("partitions added to a topic while a job reads it are read from their start",
          "[kafka-broker][integration]") {
  const auto& brokers = broker().bootstrapServers();
  createTopic(brokers, "growing", 1);
  std::vector<std::string> expected;
  for (int i = 0; i < 50; ++i) expected.push_back("p0-" + std::to_string(i));
  kcatProduce(brokers, "growing", expected, 0);
  ExecutionContext ctx("kafka-growing");
  auto out = readKafka<std::string>(ctx, {.brokers = brokers,
                                          .topics = {"growing"},
                                          .partition_discovery_interval = Duration(300)})
                 .parallelism(2)
                 .collect();
  auto job = ctx.start();
  REQUIRE(eventually([&] { return out.size() == 50; }));

  addPartitions(brokers, "growing", 3);
  for (int p = 1; p < 3; ++p) {
    std::vector<std::string> lines;
    for (int i = 0; i < 40; ++i) lines.push_back("p" + std::to_string(p) + "-" + std::to_string(i));
    // The new partitions may need a moment before their leader accepts writes.
    REQUIRE(eventually(
        [&] {
          try {
            kcatProduce(brokers, "growing", lines, p);
            return true;
          } catch (const std::runtime_error&) {
            return false;
          }
        },
        std::chrono::seconds(30)));
    expected.insert(expected.end(), lines.begin(), lines.end());
  }
  bool all = eventually([&] { return out.size() >= expected.size(); }, std::chrono::seconds(60));
  INFO("job " << toString(job.status()) << " " << job.error() << ", read " << out.size());
  CHECK(all);
  job.cancel();
  job.wait();
  auto got = out.values();
  std::sort(got.begin(), got.end());
  std::sort(expected.begin(), expected.end());
  CHECK(got == expected);
}
