// The Kafka sink against librdkafka's mock cluster over TCP, with kcat reading.
#include <algorithm>
#include <catch2/catch.hpp>
#include <map>
#include <set>

#include "kafka_broker.hpp"
#include "lightflus/connectors/kafka.hpp"
#include "lightflus/lightflus.hpp"

using namespace lightflus;
using namespace lightflus::test;

TEST_CASE("records the job writes are read back exactly by kcat", "[kafka][integration]") {
  DevKafkaCluster kafka(1, {{"out", 1}});
  std::vector<int> numbers;
  for (int i = 0; i < 300; ++i) numbers.push_back(i);
  ExecutionContext ctx("kafka-write");
  auto values = ctx.fromCollection(numbers).map([](const int& i) {
    Value v = Value::object();
    v["n"] = i;
    return v;
  });
  writeKafka(values, {.brokers = kafka.bootstrapServers(), .topic = "out"},
             [](const Value& v) { return "k" + std::to_string(v["n"].asInt() % 3); });
  ctx.execute();

  std::vector<std::string> expected;
  for (int i = 0; i < 300; ++i)
    expected.push_back("k" + std::to_string(i % 3) + "\t{\"n\":" + std::to_string(i) + "}");
  auto got = kcatConsume(kafka.bootstrapServers(), "out", true);
  std::sort(got.begin(), got.end());
  std::sort(expected.begin(), expected.end());
  CHECK(got == expected);
}

TEST_CASE("records with equal keys go to the same partition", "[kafka][integration]") {
  DevKafkaCluster kafka(1, {{"keyed", 4}});
  std::vector<std::string> words;
  for (int i = 0; i < 200; ++i) words.push_back("w" + std::to_string(i % 10));
  ExecutionContext ctx("kafka-keyed");
  writeKafka(ctx.fromCollection(words).parallelism(2),
             {.brokers = kafka.bootstrapServers(), .topic = "keyed"},
             [](const std::string& w) { return w; })
      .parallelism(2);
  ctx.execute();
  // kcat prints key and partition: each key must appear in exactly one partition.
  auto lines = kcatConsume(kafka.bootstrapServers(), "keyed", false, "-f '%k %p\\n'");
  REQUIRE(lines.size() == 200);
  std::map<std::string, std::set<std::string>> partitions_of;
  for (const auto& l : lines)
    partitions_of[l.substr(0, l.find(' '))].insert(l.substr(l.find(' ') + 1));
  CHECK(partitions_of.size() == 10);
  for (const auto& [key, parts] : partitions_of) CHECK(parts.size() == 1);
}

TEST_CASE("the sink writes element timestamps, which the source reads as event time",
          "[kafka][integration]") {
  DevKafkaCluster kafka(1, {{"timed", 2}});
  ExecutionContext ctx("kafka-timestamps-write");
  auto timed = ctx.fromCollection(std::vector<std::int64_t>{1000, 2000, 3000, 4000})
                   .assignTimestamps([](const std::int64_t& t) { return t; });
  writeKafka(timed, {.brokers = kafka.bootstrapServers(), .topic = "timed"});
  ctx.execute();

  ExecutionContext read_ctx("kafka-timestamps-read");
  auto sums =
      readKafka<std::int64_t>(
          read_ctx, {.brokers = kafka.bootstrapServers(), .topics = {"timed"}, .bounded = true})
          .keyBy([](const std::int64_t&) { return 0; })
          .window(TumblingEventTimeWindows::of(Duration(2000)))
          .reduce([](const std::int64_t& a, const std::int64_t& b) { return a + b; })
          .collect();
  read_ctx.execute();
  auto got = sums.values();
  std::sort(got.begin(), got.end());
  // Windows [0,2000): 1000; [2000,4000): 5000; [4000,6000): 4000.
  CHECK(got == std::vector<std::int64_t>{1000, 4000, 5000});
}

TEST_CASE("an unreachable broker fails the sink at start with a clear error",
          "[kafka][integration]") {
  ExecutionContext ctx("kafka-sink-unreachable");
  writeKafka(ctx.fromCollection(std::vector<std::string>{"x"}),
             {.brokers = "127.0.0.1:1", .topic = "t", .connect_timeout = Duration(1000)});
  CHECK_THROWS_WITH(ctx.execute(), Catch::Contains("cannot reach the brokers '127.0.0.1:1'"));
}
