// A job (generator -> Redis sink) against a plain hiredis pipelined loop writing the same
// records, both into one redis-server (test/support/redis_server: Debian's redis-server on a
// free loopback port, no persistence) in the same run.
//
//     redis_bench [records=500000] [batch=1000] [runs=3]
//
// Records: SET rec:<i> <64-byte value>. The loop sends `batch` commands, then reads their
// replies (one round trip per batch), as the sink does with batch_size = `batch`. Prints
// records/s of both (best of `runs`, the three variants taking turns), the job at parallelism
// 1 and 2, and the ratios job/loop. Each run starts from an empty database and is checked by
// DBSIZE.
#include <hiredis/hiredis.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "lightflus/connectors/redis.hpp"
#include "lightflus/lightflus.hpp"
#include "redis_server.hpp"

using namespace lightflus;

namespace {

constexpr std::size_t kValueSize = 64;

std::string keyOf(std::uint64_t i) {
  return "rec:" + std::to_string(i);
}

std::string valueOf(std::uint64_t i) {
  std::string v(kValueSize, 'x');
  std::snprintf(v.data(), 21, "%020llu", static_cast<unsigned long long>(i));
  v[20] = 'x';
  return v;
}

double seconds(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

double plainLoop(int port, std::uint64_t count, std::size_t batch) {
  auto start = std::chrono::steady_clock::now();
  std::unique_ptr<redisContext, void (*)(redisContext*)> c(redisConnect("127.0.0.1", port),
                                                           redisFree);
  if (!c || c->err) {
    std::fprintf(stderr, "cannot connect to redis-server\n");
    std::exit(1);
  }
  std::uint64_t i = 0;
  while (i < count) {
    std::uint64_t n = std::min<std::uint64_t>(batch, count - i);
    for (std::uint64_t j = 0; j < n; ++j) {
      std::string key = keyOf(i + j), value = valueOf(i + j);
      const char* argv[] = {"SET", key.data(), value.data()};
      std::size_t len[] = {3, key.size(), value.size()};
      redisAppendCommandArgv(c.get(), 3, argv, len);
    }
    for (std::uint64_t j = 0; j < n; ++j) {
      void* reply = nullptr;
      if (redisGetReply(c.get(), &reply) != REDIS_OK ||
          static_cast<redisReply*>(reply)->type == REDIS_REPLY_ERROR) {
        std::fprintf(stderr, "SET failed\n");
        std::exit(1);
      }
      freeReplyObject(reply);
    }
    i += n;
  }
  return seconds(start);
}

double jobRun(const std::string& address, std::uint64_t count, std::size_t batch, int parallelism) {
  auto start = std::chrono::steady_clock::now();
  ExecutionContext ctx("redis-bench");
  auto records = ctx.generate([](std::uint64_t i) { return i; }, GeneratorOptions{.count = count})
                     .parallelism(parallelism);
  RedisSinkOptions options{.host = address};
  options.batch_size = batch;
  writeRedis(
      records, options, [](const std::uint64_t& i) { return keyOf(i); },
      [](const std::uint64_t& i) { return valueOf(i); })
      .parallelism(parallelism);
  ctx.execute();
  return seconds(start);
}

void check(const test::RedisServer& redis, std::uint64_t count, const char* what) {
  std::string n = redis.query({"DBSIZE"});
  if (n != std::to_string(count)) {
    std::fprintf(stderr, "%s wrote %s keys instead of %llu\n", what, n.c_str(),
                 static_cast<unsigned long long>(count));
    std::exit(1);
  }
  redis.query({"FLUSHALL"});
}

}  // namespace

int main(int argc, char** argv) {
  std::uint64_t count = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 500'000;
  std::size_t batch = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 1000;
  int runs = argc > 3 ? std::atoi(argv[3]) : 3;
  test::RedisServer redis;
  double loop = 1e9, job1 = 1e9, job2 = 1e9;
  for (int r = 0; r < runs; ++r) {
    // Take turns, so that a warm-up or a busy moment does not favour one variant.
    for (int k = 0; k < 3; ++k) {
      switch ((r + k) % 3) {
        case 0:
          loop = std::min(loop, plainLoop(redis.port(), count, batch));
          check(redis, count, "the plain loop");
          break;
        case 1:
          job1 = std::min(job1, jobRun(redis.address(), count, batch, 1));
          check(redis, count, "the job (parallelism 1)");
          break;
        default:
          job2 = std::min(job2, jobRun(redis.address(), count, batch, 2));
          check(redis, count, "the job (parallelism 2)");
      }
    }
  }
  double rate = static_cast<double>(count);
  std::printf("records: %llu x SET (key ~10 bytes, value %zu bytes), batch %zu, best of %d\n",
              static_cast<unsigned long long>(count), kValueSize, batch, runs);
  std::printf("plain hiredis pipelined loop: %10.0f records/s (%.2f s)\n", rate / loop, loop);
  std::printf("job -> Redis sink, p1:        %10.0f records/s (%.2f s)\n", rate / job1, job1);
  std::printf("job -> Redis sink, p2:        %10.0f records/s (%.2f s)\n", rate / job2, job2);
  std::printf("ratio job/loop: p1 %.2f, p2 %.2f\n", loop / job1, loop / job2);
  return 0;
}
