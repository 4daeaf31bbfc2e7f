// The MySQL sink's guarantee after a restore from a checkpoint (docs/mysql.md, "How it writes,
// and the delivery guarantee"): a job writing running counts with INSERT ... ON DUPLICATE KEY
// UPDATE and with a plain INSERT into a table without a key is crashed after a checkpoint,
// with rows in MariaDB that the checkpoint does not cover, and restored from it
// (test/support/crash_restore.hpp). The tables are read by a separate root connection.
#include <catch2/catch.hpp>
#include <string>

#include "crash_restore.hpp"
#include "lightflus/connectors/mysql.hpp"
#include "lightflus/lightflus.hpp"
#include "mariadb_server.hpp"

using namespace lightflus;
using namespace lightflus::test;

namespace {

MysqlSinkOptions optionsFor(const MariaDbServer& server, const std::string& database,
                            std::string statement) {
  MysqlSinkOptions options;
  options.connection = {.host = server.host(),
                        .port = server.port(),
                        .username = MariaDbServer::kUser,
                        .password = MariaDbServer::kPassword,
                        .database = database};
  options.statement = std::move(statement);
  options.connect_timeout = Duration(5'000);
  return options;
}

std::map<std::string, std::int64_t> upserted(const MariaDbServer& server, const std::string& db) {
  std::map<std::string, std::int64_t> counts;
  for (const auto& row : server.query("SELECT k, n FROM counts", db))
    counts[row[0]] = std::stoll(row[1]);
  return counts;
}

}  // namespace

TEST_CASE(
    "after a crash and a restore from a checkpoint, an upsert holds each key's exact count and "
    "a plain INSERT into a table without a key holds every record at least once",
    "[mysql][integration][checkpoint]") {
  auto& server = sharedMariaDbServer();
  std::string db = server.createDatabase("restore");
  server.execute(
      "CREATE TABLE counts (k VARCHAR(16) PRIMARY KEY, n BIGINT NOT NULL);"
      "CREATE TABLE log (k VARCHAR(16) NOT NULL, n BIGINT NOT NULL, run INT NOT NULL)",
      db);
  auto build = [&](ExecutionContext& ctx, int run) {
    auto counts = runningCounts(ctx);
    writeMysql(counts,
               optionsFor(server, db,
                          "INSERT INTO counts (k, n) VALUES (?, ?) "
                          "ON DUPLICATE KEY UPDATE n = VALUES(n)"),
               [](const KeyCount& c) {
                 return std::vector<Value>{Value(keyName(c.first)), Value(c.second)};
               })
        .parallelism(2)
        .uid("upsert");
    writeMysql(counts, optionsFor(server, db, "INSERT INTO log (k, n, run) VALUES (?, ?, ?)"),
               [run](const KeyCount& c) {
                 return std::vector<Value>{Value(keyName(c.first)), Value(c.second), Value(run)};
               })
        .parallelism(2)
        .uid("insert");
  };
  std::map<std::string, std::int64_t> at_crash;
  auto report = crashAndRestore(
      "mysql-restore", build,
      [&] {
        auto rows = server.query("SELECT COALESCE(SUM(n), 0) FROM counts", db);
        return std::stoll(rows.at(0).at(0));
      },
      [&] { at_crash = upserted(server, db); });
  REQUIRE(report.crashed_mid_input);

  // The plain INSERT: every count of every key is there, none missing; the records between the
  // checkpoint and the crash were inserted again by the restored run.
  std::vector<LogEntry> log;
  for (const auto& row : server.query("SELECT k, n, run FROM log", db))
    log.push_back({row[0], std::stoll(row[1]), std::stoi(row[2])});
  auto expected = expectedCounts();
  auto replay = analyseReplay(log, expected);
  INFO("restored from " << report.restored_from);
  for (const auto& problem : replay.problems) FAIL_CHECK(problem);
  CHECK(replay.duplicates > 0);
  CHECK(static_cast<std::int64_t>(log.size()) ==
        static_cast<std::int64_t>(kRecords) + replay.duplicates);

  // At the crash the table held everything the checkpoint covered, and more: rows the
  // restored run wrote over.
  std::int64_t past_checkpoint = 0;
  for (const auto& [key, range] : replay.checkpointed_and_crashed) {
    INFO("key " << key);
    CHECK(at_crash[key] >= range.first);
    past_checkpoint += at_crash[key] - range.first;
  }
  CHECK(past_checkpoint > 0);

  // The upsert: exactly what one uninterrupted run writes, and no other row.
  CHECK(upserted(server, db) == expected);
}
