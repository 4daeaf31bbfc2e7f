// Kafka -> job (one map) -> Kafka against a raw librdkafka consume+produce loop, both on the
// dev broker (librdkafka's mock cluster) in the same run, with 100-byte messages.
//
//     kafka_bench [messages=200000]
//
// Prints messages/s of both and the ratio job/raw. Both use an idempotent producer and read
// 16 partitions (kept under the mock's ~5 MiB per partition).
#include <librdkafka/rdkafka.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "lightflus/connectors/kafka.hpp"
#include "lightflus/lightflus.hpp"

using namespace lightflus;

namespace {

constexpr int kPartitions = 16;
constexpr std::size_t kMessageSize = 100;

using Client = std::unique_ptr<rd_kafka_t, void (*)(rd_kafka_t*)>;

Client makeClient(rd_kafka_type_t type,
                  const std::vector<std::pair<const char*, std::string>>& props) {
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  for (const auto& [k, v] : props)
    if (rd_kafka_conf_set(conf, k, v.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK) {
      std::fprintf(stderr, "%s\n", err);
      std::exit(1);
    }
  rd_kafka_t* rk = rd_kafka_new(type, conf, err, sizeof err);
  if (!rk) {
    std::fprintf(stderr, "%s\n", err);
    std::exit(1);
  }
  return Client(rk, rd_kafka_destroy);
}

void produce(rd_kafka_t* rk, const char* topic, int partition, const void* data, std::size_t n) {
  while (rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(partition),
                           RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                           RD_KAFKA_V_VALUE(const_cast<void*>(data), n),
                           RD_KAFKA_V_END) == RD_KAFKA_RESP_ERR__QUEUE_FULL)
    rd_kafka_poll(rk, 10);
}

void fill(const std::string& brokers, long count) {
  auto p = makeClient(RD_KAFKA_PRODUCER, {{"bootstrap.servers", brokers}, {"linger.ms", "5"}});
  std::string value(kMessageSize, 'x');
  for (long i = 0; i < count; ++i) {
    std::snprintf(value.data(), 21, "%020ld", i);
    produce(p.get(), "in", static_cast<int>(i % kPartitions), value.data(), value.size());
  }
  rd_kafka_flush(p.get(), 60'000);
}

double seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

/// Consumes `in` from the beginning and produces every message to `out-raw`.
double rawLoop(const std::string& brokers, long count) {
  auto start = std::chrono::steady_clock::now();
  auto c = makeClient(RD_KAFKA_CONSUMER, {{"bootstrap.servers", brokers},
                                          {"group.id", "bench-raw"},
                                          {"enable.auto.commit", "false"},
                                          {"enable.partition.eof", "false"}});
  auto p = makeClient(
      RD_KAFKA_PRODUCER,
      {{"bootstrap.servers", brokers}, {"enable.idempotence", "true"}, {"linger.ms", "5"}});
  rd_kafka_poll_set_consumer(c.get());
  auto* list = rd_kafka_topic_partition_list_new(kPartitions);
  for (int i = 0; i < kPartitions; ++i)
    rd_kafka_topic_partition_list_add(list, "in", i)->offset = RD_KAFKA_OFFSET_BEGINNING;
  rd_kafka_assign(c.get(), list);
  rd_kafka_topic_partition_list_destroy(list);
  rd_kafka_queue_t* q = rd_kafka_queue_get_consumer(c.get());
  // A topic handle, as the sink uses (no lookup by name per message).
  rd_kafka_topic_t* out = rd_kafka_topic_new(p.get(), "out-raw", nullptr);
  std::vector<rd_kafka_message_t*> batch(1024);
  long done = 0;
  while (done < count) {
    ssize_t n = rd_kafka_consume_batch_queue(q, 100, batch.data(), batch.size());
    for (ssize_t i = 0; i < n; ++i) {
      rd_kafka_message_t* m = batch[static_cast<std::size_t>(i)];
      if (!m->err) {
        while (rd_kafka_produce(out, RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY, m->payload, m->len,
                                nullptr, 0, nullptr) == -1)
          rd_kafka_poll(p.get(), 10);
        ++done;
      }
      rd_kafka_message_destroy(m);
    }
    rd_kafka_poll(p.get(), 0);
  }
  rd_kafka_flush(p.get(), 60'000);
  double s = seconds(start);
  rd_kafka_topic_destroy(out);
  rd_kafka_queue_destroy(q);
  rd_kafka_consumer_close(c.get());
  return s;
}

double jobRun(const std::string& brokers) {
  auto start = std::chrono::steady_clock::now();
  ExecutionContext ctx("kafka-bench");
  auto in = readKafka<std::string>(ctx, {.brokers = brokers, .topics = {"in"}, .bounded = true})
                .parallelism(1);
  auto mapped = in.map([](const std::string& s) {
                    std::string out = s;
                    out[0] = 'y';
                    return out;
                  }).parallelism(1);
  writeKafka(mapped, {.brokers = brokers, .topic = "out-job"}).parallelism(1);
  ctx.execute();
  return seconds(start);
}

/// Messages in `topic` (the sum of its partitions' end offsets), to check both runs.
long countMessages(const std::string& brokers, const char* topic) {
  auto c = makeClient(RD_KAFKA_CONSUMER, {{"bootstrap.servers", brokers}, {"group.id", "count"}});
  long total = 0;
  for (int i = 0; i < kPartitions; ++i) {
    std::int64_t low = 0, high = 0;
    rd_kafka_query_watermark_offsets(c.get(), topic, i, &low, &high, 10'000);
    total += high - low;
  }
  return total;
}

}  // namespace

int main(int argc, char** argv) {
  long count = argc > 1 ? std::atol(argv[1]) : 200'000;
  DevKafkaCluster kafka(1,
                        {{"in", kPartitions}, {"out-raw", kPartitions}, {"out-job", kPartitions}});
  fill(kafka.bootstrapServers(), count);
  // The order alternates with LIGHTFLUS_BENCH_JOB_FIRST, to show that it does not matter.
  double raw = 0, job = 0;
  if (std::getenv("LIGHTFLUS_BENCH_JOB_FIRST")) {
    job = jobRun(kafka.bootstrapServers());
    raw = rawLoop(kafka.bootstrapServers(), count);
  } else {
    raw = rawLoop(kafka.bootstrapServers(), count);
    job = jobRun(kafka.bootstrapServers());
  }
  long raw_out = countMessages(kafka.bootstrapServers(), "out-raw");
  long job_out = countMessages(kafka.bootstrapServers(), "out-job");
  if (raw_out != count || job_out != count) {
    std::fprintf(stderr, "wrote %ld (raw) and %ld (job) messages instead of %ld\n", raw_out,
                 job_out, count);
    return 1;
  }
  double raw_rate = static_cast<double>(count) / raw;
  double job_rate = static_cast<double>(count) / job;
  std::printf("messages: %ld x %zu bytes, %d partitions, dev broker\n", count, kMessageSize,
              kPartitions);
  std::printf("raw librdkafka consume+produce: %10.0f msgs/s (%.2f s)\n", raw_rate, raw);
  std::printf("lightflus Kafka -> map -> Kafka: %10.0f msgs/s (%.2f s)\n", job_rate, job);
  std::printf("ratio job/raw: %.2f\n", job_rate / raw_rate);
  return 0;
}
