// Kafka -> job (one map) -> Kafka against a raw librdkafka consume+produce loop, both on the
// dev broker (librdkafka's mock cluster) in the same run, with 100-byte messages.
//
//     kafka_bench [messages=1000000] [latency_seconds=4] [latency_rate=half the max]
//
// Throughput: both drain `messages` pre-filled messages; the rate is taken from the first
// message in hand to the last one delivered (start-up, whose length the mock makes erratic, is
// printed but left out). Prints messages/s of both and the ratio job/raw.
// Latency: messages stamped with their produce time are produced at a fixed rate, half the
// lower of the two measured maxima, into fresh topics while the pipeline runs; the output topic
// is consumed and each message's latency is its consume time minus its produce time (one
// steady clock in this process); the first second is warm-up. Prints p50/p99 of the job and of
// the raw loop (which then waits for the first message of a batch and takes the rest without
// waiting) and the ratios.
// Both use an idempotent producer with linger.ms=5 and 64 partitions (16 for latency), and spread
// their keyless messages evenly (sticky.partitioning.linger.ms=0): librdkafka's sticky partitioner
// would put runs of them into one partition, and the mock silently trims a partition beyond ~5 MiB.
// Every consumer has fetch.wait.max.ms=5: the mock answers a fetch that finds no data only after
// that wait, even when data arrives meanwhile (a real broker answers at once), so with the default
// 500 ms that wait would be measured instead.
#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "lightflus/connectors/kafka.hpp"
#include "lightflus/lightflus.hpp"

using namespace lightflus;

namespace {

constexpr int kPartitions = 64;  // throughput: 1M messages stay far below ~5 MiB a partition
// Latency: fewer, fuller partitions (with 64 the mock's fetches make p50 ~0.5 s even at 20k/s).
constexpr int kLatencyPartitions = 16;
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

/// How long a run took: from its start (clients created, connections made), and from the
/// first message in hand to the last one delivered (the steady state the rate is taken from:
/// the mock's first fetch takes up to fetch.wait.max.ms, which would dominate a short run).
struct RunTime {
  double total = 0;
  double from_first = 0;
};

/// Consumes `in` from the beginning and produces every message to `out`. With `low_latency`
/// it waits for the first message of a batch and takes the rest without waiting (a full batch
/// of 1024 would otherwise be awaited for up to 100 ms).
RunTime rawLoop(const std::string& brokers, long count, const char* in = "in",
                const char* out_topic = "out-raw", bool low_latency = false) {
  auto start = std::chrono::steady_clock::now();
  auto c = makeClient(RD_KAFKA_CONSUMER, {{"bootstrap.servers", brokers},
                                          {"group.id", "bench-raw"},
                                          {"enable.auto.commit", "false"},
                                          {"enable.partition.eof", "false"},
                                          {"fetch.wait.max.ms", "5"}});
  auto p = makeClient(RD_KAFKA_PRODUCER, {{"bootstrap.servers", brokers},
                                          {"enable.idempotence", "true"},
                                          {"linger.ms", "5"},
                                          {"sticky.partitioning.linger.ms", "0"}});
  rd_kafka_poll_set_consumer(c.get());
  const int partitions = low_latency ? kLatencyPartitions : kPartitions;
  auto* list = rd_kafka_topic_partition_list_new(partitions);
  for (int i = 0; i < partitions; ++i)
    rd_kafka_topic_partition_list_add(list, in, i)->offset = RD_KAFKA_OFFSET_BEGINNING;
  rd_kafka_assign(c.get(), list);
  rd_kafka_topic_partition_list_destroy(list);
  rd_kafka_queue_t* q = rd_kafka_queue_get_consumer(c.get());
  // A topic handle, as the sink uses (no lookup by name per message).
  rd_kafka_topic_t* out = rd_kafka_topic_new(p.get(), out_topic, nullptr);
  // Reach the broker before consuming, as the job's sink does when it opens.
  const rd_kafka_metadata_t* md = nullptr;
  if (rd_kafka_metadata(p.get(), 0, out, &md, 10'000) == RD_KAFKA_RESP_ERR_NO_ERROR)
    rd_kafka_metadata_destroy(md);
  std::vector<rd_kafka_message_t*> batch(1024);
  long done = 0;
  std::chrono::steady_clock::time_point first;
  while (done < count) {
    ssize_t n = 0;
    if (!low_latency) {
      n = rd_kafka_consume_batch_queue(q, 100, batch.data(), batch.size());
    } else if ((batch[0] = rd_kafka_consume_queue(q, 100)) != nullptr) {
      n = 1 + rd_kafka_consume_batch_queue(q, 0, batch.data() + 1, batch.size() - 1);
    }
    for (ssize_t i = 0; i < n; ++i) {
      rd_kafka_message_t* m = batch[static_cast<std::size_t>(i)];
      if (!m->err) {
        if (done == 0) first = std::chrono::steady_clock::now();
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
  RunTime t{seconds(start), seconds(first)};
  rd_kafka_topic_destroy(out);
  rd_kafka_queue_destroy(q);
  rd_kafka_consumer_close(c.get());
  return t;
}

/// The job: `in` -> map (changes the last byte) -> `out`.
void buildJob(ExecutionContext& ctx, const std::string& brokers, const char* in, const char* out,
              bool bounded, std::shared_ptr<std::atomic<std::int64_t>> first_ns = nullptr) {
  KafkaSourceOptions options{.brokers = brokers, .topics = {in}, .bounded = bounded};
  options.properties["fetch.wait.max.ms"] = "5";
  auto source = readKafka<std::string>(ctx, options).parallelism(1);
  auto mapped = source
                    .map([first_ns](const std::string& s) {
                      // The time of the first message, as the raw loop notes it.
                      if (first_ns && first_ns->load(std::memory_order_relaxed) == 0)
                        first_ns->store(std::chrono::steady_clock::now().time_since_epoch() /
                                        std::chrono::nanoseconds(1));
                      std::string copy = s;
                      copy.back() = 'y';
                      return copy;
                    })
                    .parallelism(1);
  writeKafka(
      mapped,
      {.brokers = brokers, .topic = out, .properties = {{"sticky.partitioning.linger.ms", "0"}}})
      .parallelism(1);
}

RunTime jobRun(const std::string& brokers) {
  auto start = std::chrono::steady_clock::now();
  auto first_ns = std::make_shared<std::atomic<std::int64_t>>(0);
  ExecutionContext ctx("kafka-bench");
  buildJob(ctx, brokers, "in", "out-job", true, first_ns);
  ctx.execute();
  std::chrono::steady_clock::time_point first{std::chrono::nanoseconds(first_ns->load())};
  return {seconds(start), seconds(first)};
}

// --- Latency at a fixed rate ------------------------------------------------------------------

std::int64_t nowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

/// Produces `count` messages to `topic` at `rate` per second, each starting with its produce
/// time (steady clock, ns, 20 digits), round-robin over the partitions.
void produceAtRate(const std::string& brokers, const char* topic, long count, double rate) {
  auto p = makeClient(RD_KAFKA_PRODUCER, {{"bootstrap.servers", brokers}, {"linger.ms", "1"}});
  std::string value(kMessageSize, 'x');
  auto start = std::chrono::steady_clock::now();
  long sent = 0;
  while (sent < count) {
    long due = std::min(count, static_cast<long>(seconds(start) * rate) + 1);
    for (; sent < due; ++sent) {
      std::snprintf(value.data(), 21, "%020lld", static_cast<long long>(nowNs()));
      value[20] = ' ';
      produce(p.get(), topic, static_cast<int>(sent % kLatencyPartitions), value.data(),
              value.size());
    }
    rd_kafka_poll(p.get(), 0);
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  rd_kafka_flush(p.get(), 60'000);
}

/// Reads `count` messages of `topic` from the beginning; returns each one's latency in µs,
/// without the first `skip` messages (warm-up). Fails the benchmark if some never arrive.
std::vector<double> consumeLatencies(const std::string& brokers, const char* topic, long count,
                                     long skip) {
  auto c = makeClient(RD_KAFKA_CONSUMER, {{"bootstrap.servers", brokers},
                                          {"group.id", std::string("lat-") + topic},
                                          {"enable.auto.commit", "false"},
                                          {"enable.partition.eof", "false"},
                                          {"fetch.wait.max.ms", "5"}});
  rd_kafka_poll_set_consumer(c.get());
  auto* list = rd_kafka_topic_partition_list_new(kLatencyPartitions);
  for (int i = 0; i < kLatencyPartitions; ++i)
    rd_kafka_topic_partition_list_add(list, topic, i)->offset = RD_KAFKA_OFFSET_BEGINNING;
  rd_kafka_assign(c.get(), list);
  rd_kafka_topic_partition_list_destroy(list);
  rd_kafka_queue_t* q = rd_kafka_queue_get_consumer(c.get());
  std::vector<double> latencies;
  latencies.reserve(static_cast<std::size_t>(count));
  long seen = 0;
  auto last = std::chrono::steady_clock::now();
  while (seen < count && seconds(last) < 30) {
    rd_kafka_message_t* m = rd_kafka_consume_queue(q, 100);
    if (!m) continue;
    std::int64_t now = nowNs();
    if (!m->err && m->len >= 20) {
      if (seen++ >= skip)
        latencies.push_back(
            static_cast<double>(now - std::atoll(static_cast<const char*>(m->payload))) / 1e3);
      last = std::chrono::steady_clock::now();
    }
    rd_kafka_message_destroy(m);
  }
  rd_kafka_queue_destroy(q);
  rd_kafka_consumer_close(c.get());
  if (seen != count) {
    std::fprintf(stderr, "latency run on %s: %ld of %ld messages arrived\n", topic, seen, count);
    std::exit(1);
  }
  return latencies;
}

struct Percentiles {
  double p50, p99;
};

Percentiles percentiles(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  auto at = [&](double q) { return v[static_cast<std::size_t>(q * (v.size() - 1))]; };
  return {at(0.50), at(0.99)};
}

/// Latencies of the raw loop (`raw`) or the job through fresh topics at `rate` msgs/s.
Percentiles latencyRun(const std::string& brokers, bool raw, long count, double rate) {
  const char* in = raw ? "lat-in-raw" : "lat-in-job";
  const char* out = raw ? "lat-out-raw" : "lat-out-job";
  std::vector<double> latencies;
  std::thread reader(
      [&] { latencies = consumeLatencies(brokers, out, count, static_cast<long>(rate)); });
  if (raw) {
    std::thread loop([&] { rawLoop(brokers, count, in, out, true); });
    produceAtRate(brokers, in, count, rate);
    loop.join();
    reader.join();
  } else {
    ExecutionContext ctx("kafka-bench-latency");
    buildJob(ctx, brokers, in, out, false);
    auto job = ctx.start();
    produceAtRate(brokers, in, count, rate);
    reader.join();
    job.cancel();
    job.wait();
  }
  return percentiles(std::move(latencies));
}

/// Messages in `topic` (the sum of its partitions' end offsets), to check both runs.
long countMessages(const std::string& brokers, const char* topic) {
  auto c = makeClient(RD_KAFKA_CONSUMER, {{"bootstrap.servers", brokers}, {"group.id", "count"}});
  long total = 0;
  for (int i = 0; i < kPartitions; ++i) {
    std::int64_t low = 0, high = 0;
    if (auto err = rd_kafka_query_watermark_offsets(c.get(), topic, i, &low, &high, 10'000)) {
      std::fprintf(stderr, "cannot read the offsets of %s/%d: %s\n", topic, i,
                   rd_kafka_err2str(err));
      std::exit(1);
    }
    if (low != 0)
      std::fprintf(stderr, "the dev broker trimmed %s/%d: it starts at offset %lld\n", topic, i,
                   static_cast<long long>(low));
    total += high - low;
  }
  return total;
}

}  // namespace

int main(int argc, char** argv) {
  long count = argc > 1 ? std::atol(argv[1]) : 1'000'000;
  double latency_seconds = argc > 2 ? std::atof(argv[2]) : 4;
  DevKafkaCluster kafka(1, {{"in", kPartitions},
                            {"out-raw", kPartitions},
                            {"out-job", kPartitions},
                            {"lat-in-raw", kLatencyPartitions},
                            {"lat-out-raw", kLatencyPartitions},
                            {"lat-in-job", kLatencyPartitions},
                            {"lat-out-job", kLatencyPartitions}});
  fill(kafka.bootstrapServers(), count);
  // The order alternates with LIGHTFLUS_BENCH_JOB_FIRST, to show that it does not matter.
  RunTime raw, job;
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
  double raw_rate = static_cast<double>(count) / raw.from_first;
  double job_rate = static_cast<double>(count) / job.from_first;
  std::printf("messages: %ld x %zu bytes, %d partitions, dev broker\n", count, kMessageSize,
              kPartitions);
  std::printf("throughput, first message to last delivered (in brackets: the whole run):\n");
  std::printf("raw librdkafka consume+produce: %10.0f msgs/s (%.2f s; %.2f s)\n", raw_rate,
              raw.from_first, raw.total);
  std::printf("lightflus Kafka -> map -> Kafka: %10.0f msgs/s (%.2f s; %.2f s)\n", job_rate,
              job.from_first, job.total);
  std::printf("ratio job/raw: %.2f\n", job_rate / raw_rate);

  // Latency at half the lower maximum; the first second of each run is warm-up.
  double rate = argc > 3 ? std::atof(argv[3]) : std::min(raw_rate, job_rate) / 2;
  long lat_count = static_cast<long>(rate * (latency_seconds + 1));
  Percentiles raw_lat = latencyRun(kafka.bootstrapServers(), true, lat_count, rate);
  Percentiles job_lat = latencyRun(kafka.bootstrapServers(), false, lat_count, rate);
  std::printf("end-to-end latency at %.0f msgs/s (%ld messages, first second skipped):\n", rate,
              lat_count);
  std::printf("raw librdkafka consume+produce: p50 %8.2f ms  p99 %8.2f ms\n", raw_lat.p50 / 1e3,
              raw_lat.p99 / 1e3);
  std::printf("lightflus Kafka -> map -> Kafka: p50 %8.2f ms  p99 %8.2f ms\n", job_lat.p50 / 1e3,
              job_lat.p99 / 1e3);
  std::printf("ratio job/raw: p50 %.2f  p99 %.2f\n", job_lat.p50 / raw_lat.p50,
              job_lat.p99 / raw_lat.p99);
  return 0;
}
