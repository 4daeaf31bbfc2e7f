// A job writing records into MariaDB (generator -> writeMysql) against plain Connector/C loops
// writing the same records with one prepared INSERT committed every 1024 rows: executed row by
// row, and executed in bulk (array binding: the 1024 rows of a transaction in one execution,
// as the sink does on MariaDB servers). All into the same real mariadbd in the same run.
//
//     mysql_bench [records=100000] [rounds=3]
//
// With the V8 host built, a TypeScript job with the original Mysql builder writes the same
// records too (its time includes loading the job: transpiling and evaluating it).
//
// Starts its own mariadbd on a free loopback port (test/support/mariadb_server; InnoDB with
// innodb_flush_log_at_trx_commit=2), writes `records` rows of (BIGINT id, VARCHAR name,
// DOUBLE value) into a fresh table per run, checks the row count, and prints records/s of each
// (the best of `rounds` alternating runs) and the ratios of the job to the plain loops.
#include <errmsg.h>
#include <mysql.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "lightflus/connectors/mysql.hpp"
#include "lightflus/lightflus.hpp"
#include "mariadb_server.hpp"
#ifdef LIGHTFLUS_BENCH_WITH_JS
#include <fmt/format.h>

#include "js_graph_builder.hpp"
#include "js_job.hpp"
#endif

using namespace lightflus;
using lightflus::test::MariaDbServer;

namespace {

constexpr std::size_t kRowsPerTransaction = 1024;
constexpr const char* kInsert = "INSERT INTO t (id, name, value) VALUES (?, ?, ?)";

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "mysql_bench: %s\n", what.c_str());
  std::exit(1);
}

std::string nameOf(std::int64_t i) {
  return "record-" + std::to_string(i);
}

double valueOf(std::int64_t i) {
  return static_cast<double>(i) * 0.5;
}

void createTable(MariaDbServer& server, const std::string& table) {
  server.execute("CREATE TABLE " + table +
                 " (id BIGINT PRIMARY KEY, name VARCHAR(32) NOT NULL, value DOUBLE NOT NULL)");
}

void checkCount(MariaDbServer& server, const std::string& table, long records) {
  auto rows = server.query("SELECT COUNT(*) FROM " + table);
  if (rows.empty() || std::stol(rows[0][0]) != records)
    die(table + " has " + (rows.empty() ? "?" : rows[0][0]) + " rows, expected " +
        std::to_string(records));
}

// Transactions committed so far on the server (COMMITs).
long commits(MariaDbServer& server) {
  return std::stol(server.query("SHOW GLOBAL STATUS LIKE 'Com_commit'")[0][1]);
}

std::string insertInto(const std::string& table) {
  std::string sql = kInsert;
  sql.replace(sql.find(" t "), 3, " " + table + " ");
  return sql;
}

// The plain client: what a hand-written writer would do.
double plainLoop(MariaDbServer& server, const std::string& table, long records) {
  MYSQL* m = mysql_init(nullptr);
  if (!mysql_real_connect(m, server.host().c_str(), MariaDbServer::kUser, MariaDbServer::kPassword,
                          MariaDbServer::kDatabase, static_cast<unsigned int>(server.port()),
                          nullptr, 0))
    die(mysql_error(m));
  mysql_autocommit(m, 0);
  MYSQL_STMT* stmt = mysql_stmt_init(m);
  std::string sql = insertInto(table);
  if (mysql_stmt_prepare(stmt, sql.data(), sql.size())) die(mysql_stmt_error(stmt));
  long long id = 0;
  std::string name;
  double value = 0;
  MYSQL_BIND binds[3] = {};
  binds[0].buffer_type = MYSQL_TYPE_LONGLONG;
  binds[0].buffer = &id;
  binds[1].buffer_type = MYSQL_TYPE_STRING;
  binds[2].buffer_type = MYSQL_TYPE_DOUBLE;
  binds[2].buffer = &value;
  auto start = std::chrono::steady_clock::now();
  for (long i = 0; i < records; ++i) {
    id = i;
    name = nameOf(i);
    value = valueOf(i);
    binds[1].buffer = name.data();
    binds[1].buffer_length = static_cast<unsigned long>(name.size());
    if (mysql_stmt_bind_param(stmt, binds) || mysql_stmt_execute(stmt)) die(mysql_stmt_error(stmt));
    if ((i + 1) % static_cast<long>(kRowsPerTransaction) == 0 && mysql_commit(m))
      die(mysql_error(m));
  }
  if (mysql_commit(m)) die(mysql_error(m));
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  mysql_stmt_close(stmt);
  mysql_close(m);
  return static_cast<double>(records) / seconds;
}

// The plain client with array binding: one bulk execution per transaction.
double plainBulkLoop(MariaDbServer& server, const std::string& table, long records) {
  MYSQL* m = mysql_init(nullptr);
  if (!mysql_real_connect(m, server.host().c_str(), MariaDbServer::kUser, MariaDbServer::kPassword,
                          MariaDbServer::kDatabase, static_cast<unsigned int>(server.port()),
                          nullptr, 0))
    die(mysql_error(m));
  mysql_autocommit(m, 0);
  MYSQL_STMT* stmt = mysql_stmt_init(m);
  std::string sql = insertInto(table);
  if (mysql_stmt_prepare(stmt, sql.data(), sql.size())) die(mysql_stmt_error(stmt));
  std::vector<long long> ids(kRowsPerTransaction);
  std::vector<std::string> names(kRowsPerTransaction);
  std::vector<char*> name_ptrs(kRowsPerTransaction);
  std::vector<unsigned long> name_lengths(kRowsPerTransaction);
  std::vector<double> values(kRowsPerTransaction);
  MYSQL_BIND binds[3] = {};
  binds[0].buffer_type = MYSQL_TYPE_LONGLONG;
  binds[0].buffer = ids.data();
  binds[1].buffer_type = MYSQL_TYPE_STRING;
  binds[1].buffer = name_ptrs.data();
  binds[1].length = name_lengths.data();
  binds[2].buffer_type = MYSQL_TYPE_DOUBLE;
  binds[2].buffer = values.data();
  auto start = std::chrono::steady_clock::now();
  for (long first = 0; first < records; first += static_cast<long>(kRowsPerTransaction)) {
    unsigned int n = static_cast<unsigned int>(
        std::min<long>(static_cast<long>(kRowsPerTransaction), records - first));
    for (unsigned int k = 0; k < n; ++k) {
      long i = first + k;
      ids[k] = i;
      names[k] = nameOf(i);
      name_ptrs[k] = names[k].data();
      name_lengths[k] = static_cast<unsigned long>(names[k].size());
      values[k] = valueOf(i);
    }
    mysql_stmt_attr_set(stmt, STMT_ATTR_ARRAY_SIZE, &n);
    if (mysql_stmt_bind_param(stmt, binds) || mysql_stmt_execute(stmt)) die(mysql_stmt_error(stmt));
    if (mysql_commit(m)) die(mysql_error(m));
  }
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  mysql_stmt_close(stmt);
  mysql_close(m);
  return static_cast<double>(records) / seconds;
}

struct Record {
  std::int64_t id;
  std::string name;
  double value;
};

double job(MariaDbServer& server, const std::string& table, long records) {
  ExecutionContext ctx("mysql-bench");
  auto in = ctx.generate(
      [](std::uint64_t i) {
        auto id = static_cast<std::int64_t>(i);
        return Record{id, nameOf(id), valueOf(id)};
      },
      GeneratorOptions{.count = static_cast<std::uint64_t>(records)});
  MysqlSinkOptions options;
  options.connection = {.host = server.host(),
                        .port = server.port(),
                        .username = MariaDbServer::kUser,
                        .password = MariaDbServer::kPassword,
                        .database = MariaDbServer::kDatabase};
  options.statement = insertInto(table);
  options.max_batch_rows = kRowsPerTransaction;
  writeMysql(in, options, [](const Record& r) {
    return std::vector<Value>{Value(r.id), Value(r.name), Value(r.value)};
  });
  auto start = std::chrono::steady_clock::now();
  ctx.execute(ExecutionOptions{.parallelism = 1});
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return static_cast<double>(records) / seconds;
}

#ifdef LIGHTFLUS_BENCH_WITH_JS
// The same records from a TypeScript job with the original Mysql builder: the extractors run in
// V8 (one call per batch for all parameters), the rows are bound in C++.
double tsJob(MariaDbServer& server, const std::string& table, long records) {
  std::string source =
      fmt::format(R"(
import {{ ExecutionContext, Generator, Mysql }} from "lightflus";
type Record = {{ id: number; name: string; value: number }};
const ctx = ExecutionContext.new("mysql-bench-ts");
ctx.fromSource(Generator.sequence(0, {}))
  .map((i: number): Record => ({{ id: i, name: "record-" + i, value: i * 0.5 }}))
  .sink(Mysql.new<Record>()
    .connection({{ host: "127.0.0.1", port: {}, username: "{}", password: "{}", database: "{}" }})
    .statement("{}")
    .extractors((s) => {{
      s.setNumber(1, (r) => r.id);
      s.setString(2, (r) => r.name);
      s.setNumber(3, (r) => r.value);
    }})
    .maxBatchRows({}));
ctx.execute();
)",
                  records - 1, server.port(), MariaDbServer::kUser, MariaDbServer::kPassword,
                  MariaDbServer::kDatabase, insertInto(table), kRowsPerTransaction);
  auto start = std::chrono::steady_clock::now();
  js::JsJobOptions options;
  options.file_name = "mysql_bench.ts";
  auto job = js::JsJob::load(source, options);
  ExecutionContext ctx = js::JsGraphBuilder(job, js::JsGraphOptions{}).build();
  ctx.execute(ExecutionOptions{.parallelism = 1});
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return static_cast<double>(records) / seconds;
}
#endif

}  // namespace

int main(int argc, char** argv) {
  long records = argc > 1 ? std::atol(argv[1]) : 100'000;
  int rounds = argc > 2 ? std::atoi(argv[2]) : 3;
  MariaDbServer server;
  std::printf("mariadbd on 127.0.0.1:%d; %ld records per run, %zu rows per transaction\n",
              server.port(), records, kRowsPerTransaction);
  double best_plain = 0;
  double best_bulk = 0;
  double best_job = 0;
  [[maybe_unused]] double best_ts = 0;
  for (int round = 0; round < rounds; ++round) {
    std::string plain_table = "plain_" + std::to_string(round);
    std::string bulk_table = "bulk_" + std::to_string(round);
    std::string job_table = "job_" + std::to_string(round);
    createTable(server, plain_table);
    createTable(server, bulk_table);
    createTable(server, job_table);
    double p = plainLoop(server, plain_table, records);
    checkCount(server, plain_table, records);
    double b = plainBulkLoop(server, bulk_table, records);
    checkCount(server, bulk_table, records);
    long commits_before = commits(server);
    double j = job(server, job_table, records);
    long job_commits = commits(server) - commits_before;
    checkCount(server, job_table, records);
    std::printf(
        "round %d: plain row by row %.0f, plain bulk %.0f, job %.0f records/s (%ld "
        "transactions)\n",
        round + 1, p, b, j, job_commits);
    best_plain = std::max(best_plain, p);
    best_bulk = std::max(best_bulk, b);
    best_job = std::max(best_job, j);
#ifdef LIGHTFLUS_BENCH_WITH_JS
    std::string ts_table = "ts_" + std::to_string(round);
    createTable(server, ts_table);
    double t = tsJob(server, ts_table, records);
    checkCount(server, ts_table, records);
    std::printf(
        "round %d: TypeScript job (V8 extractors, load and transpile included) %.0f "
        "records/s\n",
        round + 1, t);
    best_ts = std::max(best_ts, t);
#endif
  }
  std::printf(
      "best: plain row by row %.0f, plain bulk %.0f, job %.0f records/s; ratio job/plain row "
      "by row %.2f, job/plain bulk %.2f\n",
      best_plain, best_bulk, best_job, best_job / best_plain, best_job / best_bulk);
#ifdef LIGHTFLUS_BENCH_WITH_JS
  std::printf("best TypeScript job %.0f records/s; ratio TypeScript job/plain bulk %.2f\n", best_ts,
              best_ts / best_bulk);
#endif
  return 0;
}
