// The Redis sink's guarantee after a restore from a checkpoint (docs/redis.md, "Delivery
// guarantee"): a job writing running counts with SET, HSET and XADD is crashed after a
// checkpoint, with writes in Redis that the checkpoint does not cover, and restored from it
// (test/support/crash_restore.hpp). Redis is read by a separate connection.
#include <catch2/catch.hpp>
#include <sstream>
#include <string>

#include "crash_restore.hpp"
#include "lightflus/connectors/redis.hpp"
#include "lightflus/lightflus.hpp"
#include "redis_server.hpp"

using namespace lightflus;
using namespace lightflus::test;

namespace {

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

/// key -> the count under it (SET "count:<key>"); keys not there are left out.
std::map<std::string, std::int64_t> setCounts(const RedisServer& redis) {
  std::vector<std::string> mget{"MGET"};
  for (int k = 0; k < kKeys; ++k) mget.push_back("count:" + keyName(k));
  auto values = lines(redis.query(mget));
  std::map<std::string, std::int64_t> counts;
  for (int k = 0; k < kKeys && k < static_cast<int>(values.size()); ++k)
    if (values[k] != "(nil)") counts[keyName(k)] = std::stoll(values[k]);
  return counts;
}

/// key -> count, from the hash "counts" (HSET counts <key> <count>).
std::map<std::string, std::int64_t> hashCounts(const RedisServer& redis) {
  auto fields = lines(redis.query({"HGETALL", "counts"}));
  std::map<std::string, std::int64_t> counts;
  for (std::size_t i = 0; i + 1 < fields.size(); i += 2)
    counts[fields[i]] = std::stoll(fields[i + 1]);
  return counts;
}

/// Every entry of the streams "log:<key>" (XADD log:<key> * v <run>:<count>).
std::vector<LogEntry> streamLog(const RedisServer& redis) {
  std::vector<LogEntry> log;
  for (int k = 0; k < kKeys; ++k) {
    // XRANGE renders each entry as three lines: its id, the field "v", the value.
    auto entries = lines(redis.query({"XRANGE", "log:" + keyName(k), "-", "+"}));
    for (std::size_t i = 0; i + 2 < entries.size(); i += 3) {
      const std::string& v = entries[i + 2];
      auto colon = v.find(':');
      log.push_back({keyName(k), std::stoll(v.substr(colon + 1)), std::stoi(v.substr(0, colon))});
    }
  }
  return log;
}

std::int64_t sum(const std::map<std::string, std::int64_t>& counts) {
  std::int64_t total = 0;
  for (const auto& [key, n] : counts) total += n;
  return total;
}

}  // namespace

TEST_CASE(
    "after a crash and a restore from a checkpoint, SET and HSET hold each key's exact count "
    "and XADD holds every record at least once",
    "[redis][integration][checkpoint]") {
  RedisServer redis;
  auto build = [&](ExecutionContext& ctx, int run) {
    auto counts = runningCounts(ctx);
    RedisSinkOptions set{.host = redis.address()};
    writeRedis(
        counts, set, [](const KeyCount& c) { return "count:" + keyName(c.first); },
        [](const KeyCount& c) { return c.second; })
        .parallelism(2)
        .uid("set");
    RedisSinkOptions hset{.host = redis.address()};
    hset.command = RedisCommand::HSet;
    hset.hash_key = "counts";
    writeRedis(
        counts, hset, [](const KeyCount& c) { return keyName(c.first); },
        [](const KeyCount& c) { return c.second; })
        .parallelism(2)
        .uid("hset");
    RedisSinkOptions xadd{.host = redis.address()};
    xadd.command = RedisCommand::XAdd;
    xadd.stream_field = "v";
    writeRedis(
        counts, xadd, [](const KeyCount& c) { return "log:" + keyName(c.first); },
        [run](const KeyCount& c) { return std::to_string(run) + ":" + std::to_string(c.second); })
        .parallelism(2)
        .uid("xadd");
  };
  std::map<std::string, std::int64_t> at_crash;
  auto report = crashAndRestore(
      "redis-restore", build, [&] { return sum(setCounts(redis)); },
      [&] { at_crash = setCounts(redis); });
  REQUIRE(report.crashed_mid_input);

  // The non-idempotent XADD: every count of every key is there, none missing; the records
  // between the checkpoint and the crash were written again by the restored run.
  auto expected = expectedCounts();
  auto replay = analyseReplay(streamLog(redis), expected);
  INFO("restored from " << report.restored_from);
  for (const auto& problem : replay.problems) FAIL_CHECK(problem);
  CHECK(replay.duplicates > 0);

  // At the crash Redis held everything the checkpoint covered, and more: writes the restored
  // run replayed over.
  std::int64_t past_checkpoint = 0;
  for (const auto& [key, range] : replay.checkpointed_and_crashed) {
    INFO("key " << key);
    CHECK(at_crash[key] >= range.first);
    past_checkpoint += at_crash[key] - range.first;
  }
  CHECK(past_checkpoint > 0);

  // SET and HSET: exactly what one uninterrupted run writes, and nothing else.
  CHECK(setCounts(redis) == expected);
  CHECK(hashCounts(redis) == expected);
  CHECK(redis.query({"DBSIZE"}) == std::to_string(2 * kKeys + 1));  // count:*, log:*, counts
}
