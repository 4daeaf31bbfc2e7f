// TypeScript jobs written against the original Mysql builder, run by the V8 host (JsJob +
// JsGraphBuilder, and `lightflusd run` when it is built) into a real mariadbd, checked through
// a separate root connection.
#include <fmt/format.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <memory>
#include <string>

#include "js_graph_builder.hpp"
#include "js_job.hpp"
#include "lightflus/lightflus.hpp"
#include "mariadb_server.hpp"

using namespace lightflus;
using namespace lightflus::js;
using namespace lightflus::test;

namespace {

void runJob(const std::string& source, int parallelism = 1) {
  JsJobOptions options;
  options.file_name = "mysql_job.ts";
  auto job = JsJob::load(source, options);
  ExecutionContext ctx = JsGraphBuilder(job, JsGraphOptions{}).build();
  ExecutionOptions execution;
  execution.parallelism = parallelism;
  ctx.execute(execution);
}

// A job in the original API's style; {port}, {db}, {statement} and {extractors} filled in.
std::string originalStyleJob(const MariaDbServer& server, const std::string& db,
                             const std::string& statement, const std::string& extractors) {
  return fmt::format(R"(
import {{ context }} from "lightflus-api/src/stream/context";
import {{ mysql }} from "lightflus-api/src/connectors/connectors";
import ExecutionContext = context.ExecutionContext;
import Mysql = mysql.Mysql;
import {{ Generator }} from "lightflus";

type Order = {{ id: number; name: string; total: number; paid: boolean; tags: string[] }};

const ctx = ExecutionContext.new("mysql-orders", "default");
const orders = ctx
  .fromSource(Generator.sequence(1, 500))
  .map((i: number): Order => ({{ id: i, name: "order " + i, total: i * 1.5, paid: i % 2 === 0,
                                 tags: i % 100 === 0 ? ["round"] : [] }}));
orders.sink(
  Mysql.new<Order>()
    .connection({{ host: "127.0.0.1", port: {}, username: "{}", password: "{}", database: "{}" }})
    .statement("{}")
    .extractors((s) => {{
      {}
    }}),
);
ctx.execute();
)",
                     server.port(), MariaDbServer::kUser, MariaDbServer::kPassword, db, statement,
                     extractors);
}

}  // namespace

TEST_CASE("a TypeScript job with the original Mysql builder writes every row",
          "[mysql][js][integration]") {
  auto& server = sharedMariaDbServer();
  std::string db = server.createDatabase("ts_orders");
  server.execute(
      "CREATE TABLE orders (id BIGINT PRIMARY KEY, name VARCHAR(32), total DOUBLE, paid BOOLEAN, "
      "tags TEXT)",
      db);
  runJob(originalStyleJob(server, db,
                          "INSERT INTO orders (id, name, total, paid, tags) VALUES (?, ?, ?, ?, ?)",
                          R"(s.setNumber(1, (o) => o.id);
      s.setString(2, (o) => o.name);
      s.setNumber(3, (o) => o.total);
      s.setNumber(4, (o) => o.paid);
      s.setString(5, (o) => o.tags);)"),
         2);
  // By hand: 500 orders, totals 1.5 * id, half paid, five with a tag.
  CHECK(server.query("SELECT COUNT(*), SUM(id), SUM(paid), MIN(name) FROM orders", db) ==
        std::vector<std::vector<std::string>>{{"500", "125250", "250", "order 1"}});
  CHECK(server.query("SELECT id, total, paid, tags FROM orders WHERE id IN (7, 100) ORDER BY id",
                     db) == std::vector<std::vector<std::string>>{
                                {"7", "10.5", "0", "[]"}, {"100", "150", "1", "[\"round\"]"}});
}

TEST_CASE("a TypeScript extractor of the wrong type fails the job with the statement and record",
          "[mysql][js][integration]") {
  auto& server = sharedMariaDbServer();
  std::string db = server.createDatabase("ts_types");
  server.execute("CREATE TABLE t (id BIGINT PRIMARY KEY, name VARCHAR(32))", db);
  CHECK_THROWS_WITH(
      runJob(originalStyleJob(server, db, "INSERT INTO t (id, name) VALUES (?, ?)",
                              R"(s.setNumber(1, (o) => o.name);
      s.setString(2, (o) => o.name);)")),
      Catch::Contains("the statement \"INSERT INTO t (id, name) VALUES (?, ?)\"") &&
          Catch::Contains("parameter 1 (setNumber) is the string \"order 1\", not a number"));
}

TEST_CASE("a TypeScript job's duplicate key fails the job with the statement and record",
          "[mysql][js][integration]") {
  auto& server = sharedMariaDbServer();
  std::string db = server.createDatabase("ts_duplicate");
  server.execute("CREATE TABLE t (id BIGINT PRIMARY KEY, name VARCHAR(32))", db);
  server.execute("INSERT INTO t VALUES (250, 'taken')", db);
  CHECK_THROWS_WITH(
      runJob(originalStyleJob(server, db, "INSERT INTO t (id, name) VALUES (?, ?)",
                              R"(s.setNumber(1, (o) => o.id);
      s.setString(2, (o) => o.name);)")),
      Catch::Contains(
          "the statement \"INSERT INTO t (id, name) VALUES (?, ?)\" failed for the record with "
          "parameters [250, \"order 250\"]") &&
          Catch::Contains("Duplicate entry '250'"));
}

TEST_CASE("a TypeScript job's changelog rows are applied in order with changelog(deleteStatement)",
          "[mysql][js][integration][changelog]") {
  auto& server = sharedMariaDbServer();
  std::string db = server.createDatabase("ts_changelog");
  server.execute("CREATE TABLE avg (id BIGINT PRIMARY KEY, final BIGINT NOT NULL)", db);
  runJob(fmt::format(R"ts(
import {{ ExecutionContext, Generator, Mysql, type ChangelogRow }} from "lightflus";
type Avg = {{ id: number; final: number }};
const ctx = ExecutionContext.new("mysql-changelog", "default");
const rows: ChangelogRow<Avg>[] = [
  {{ op: "+I", id: 1, final: 10 }}, {{ op: "+I", id: 2, final: 20 }},
  {{ op: "-U", id: 1, final: 10 }}, {{ op: "+U", id: 1, final: 15 }},
  {{ op: "-D", id: 2, final: 20 }}, {{ id: 3, final: 7 }},
];
ctx.fromSource(Generator.values(rows)).sink(
  Mysql.new<ChangelogRow<Avg>>()
    .connection({{ host: "127.0.0.1", port: {}, username: "{}", password: "{}", database: "{}" }})
    .statement("INSERT INTO avg (id, final) VALUES (?, ?) ON DUPLICATE KEY UPDATE final = VALUES(final)")
    .extractors((s) => {{ s.setNumber(1, (r) => r.id); s.setNumber(2, (r) => r.final); }})
    .changelog("DELETE FROM avg WHERE id = ?"),
);
ctx.execute();
)ts",
                     server.port(), MariaDbServer::kUser, MariaDbServer::kPassword, db));
  CHECK(server.query("SELECT id, final FROM avg ORDER BY id", db) ==
        std::vector<std::vector<std::string>>{{"1", "15"}, {"3", "7"}});
}

#ifdef LIGHTFLUSD_PATH
TEST_CASE("lightflusd run writes a TypeScript job's orders into MariaDB",
          "[mysql][js][integration]") {
  auto& server = sharedMariaDbServer();
  std::string db = server.createDatabase("lightflusd");
  server.execute(
      "CREATE TABLE orders (id BIGINT PRIMARY KEY, customer VARCHAR(32), total DOUBLE, paid "
      "BOOLEAN, items JSON)",
      db);
  std::string command = fmt::format(
      "{} run {}/test/mysql/jobs/orders.ts --set port={} --set database={} --set password={} "
      "--set count=1000 2>&1",
      LIGHTFLUSD_PATH, LIGHTFLUS_SOURCE_DIR, server.port(), db, MariaDbServer::kPassword);
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(::popen(command.c_str(), "r"), ::pclose);
  REQUIRE(pipe);
  std::string output;
  char buf[4096];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, pipe.get())) > 0;) output.append(buf, n);
  int status = ::pclose(pipe.release());
  INFO(output);
  REQUIRE(status == 0);
  // By hand: ids 1..1000 (sum 500500), totals 2.5 * id (sum 1251250), 333 paid, 10 customers.
  CHECK(server.query("SELECT COUNT(*), SUM(id), SUM(total), SUM(paid), COUNT(DISTINCT customer) "
                     "FROM orders",
                     db) ==
        std::vector<std::vector<std::string>>{{"1000", "500500", "1251250", "333", "10"}});
  CHECK(server.query("SELECT items FROM orders WHERE id = 6", db) ==
        std::vector<std::vector<std::string>>{{"[\"item2\"]"}});
}
#endif
