// The MySQL sink against a real mariadbd on loopback (test/support/mariadb_server), checked
// through a separate root connection.
#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <thread>

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

struct Word {
  std::string word;
  std::int64_t n;
};

}  // namespace

TEST_CASE("a job inserts exactly the expected rows, read back by another connection",
          "[mysql][integration]") {
  auto& server = sharedMariaDbServer();
  std::string db = server.createDatabase("rows");
  server.execute("CREATE TABLE counts (word VARCHAR(32) PRIMARY KEY, n BIGINT NOT NULL)", db);
  std::vector<Word> words;
  for (int i = 0; i < 1000; ++i) words.push_back({"w" + std::to_string(i), i * 3});
  ExecutionContext ctx("mysql-rows");
  writeMysql(ctx.fromCollection(words).parallelism(2),
             optionsFor(server, db, "INSERT INTO counts (word, n) VALUES (?, ?)"),
             [](const Word& w) {
               return std::vector<Value>{Value(w.word), Value(w.n)};
             })
      .parallelism(2);
  ctx.execute();

  std::vector<std::vector<std::string>> expected;
  for (const auto& w : words) expected.push_back({w.word, std::to_string(w.n)});
  std::sort(expected.begin(), expected.end());
  CHECK(server.query("SELECT word, n FROM counts ORDER BY word", db) == expected);
}

TEST_CASE("extractors by placeholder bind strings, integers, doubles, null, booleans and JSON",
          "[mysql][integration]") {
  auto& server = sharedMariaDbServer();
  std::string db = server.createDatabase("types");
  server.execute(
      "CREATE TABLE t (id BIGINT PRIMARY KEY, s VARCHAR(64), d DOUBLE, n VARCHAR(8) NULL, "
      "b BOOLEAN, j TEXT)",
      db);
  Value doc = Value::object();
  doc["a"] = 1;
  doc["tags"] = Value(Value::Array{Value("x"), Value("y")});
  ExecutionContext ctx("mysql-types");
  auto in = ctx.fromCollection(std::vector<Value>{doc});
  writeMysql(in,
             optionsFor(server, db, "INSERT INTO t (id, s, d, n, b, j) VALUES (?, ?, ?, ?, ?, ?)"),
             MysqlExtractors<Value>{
                 [](const Value&) { return Value(std::int64_t{9007199254740993}); },
                 [](const Value&) { return Value("héllo 'quoted' \"text\""); },
                 [](const Value&) { return Value(2.5); },
                 [](const Value&) { return Value(); },
                 [](const Value&) { return Value(true); },
                 [](const Value& v) { return v; },
             });
  ctx.execute();
  auto rows = server.query("SELECT id, s, d, n, b, j FROM t", db);
  REQUIRE(rows.size() == 1);
  CHECK(rows[0] == std::vector<std::string>{"9007199254740993", "héllo 'quoted' \"text\"", "2.5",
                                            "NULL", "1", R"({"a":1,"tags":["x","y"]})"});
}

TEST_CASE("a changelog is applied in order: upserts, -U skipped, -D by delete_statement",
          "[mysql][integration][changelog]") {
  auto& server = sharedMariaDbServer();
  std::string db = server.createDatabase("changelog");
  server.execute("CREATE TABLE avg (id BIGINT PRIMARY KEY, final BIGINT NOT NULL)", db);
  server.execute("CREATE TABLE rows_t (id VARCHAR(8) PRIMARY KEY, n BIGINT NOT NULL)", db);
  // Typed: the table after them is {1: 30, 3: 5}; 2 is deleted after an update, then 4 is
  // inserted and deleted, and 1 deleted and inserted again (order matters for each).
  using Row = std::pair<std::int64_t, std::int64_t>;
  std::vector<Change<Row>> changes = {
      {RowKind::Insert, {1, 10}},      {RowKind::Insert, {2, 20}}, {RowKind::UpdateBefore, {2, 20}},
      {RowKind::UpdateAfter, {2, 25}}, {RowKind::Delete, {2, 25}}, {RowKind::Insert, {4, 1}},
      {RowKind::Delete, {4, 1}},       {RowKind::Delete, {1, 10}}, {RowKind::Insert, {1, 30}},
      {RowKind::Insert, {3, 5}},
  };
  auto typed = optionsFor(
      server, db,
      "INSERT INTO avg (id, final) VALUES (?, ?) ON DUPLICATE KEY UPDATE final = VALUES(final)");
  typed.delete_statement = "DELETE FROM avg WHERE id = ?";
  typed.max_batch_rows = 3;  // transactions end inside runs of one kind too
  // The Value form (TypeScript jobs, JSON lines): "op" members, parameters of the row.
  std::vector<Value> rows;
  for (const char* json :
       {R"({"op":"+I","id":"a","n":1})", R"({"op":"-U","id":"a","n":1})",
        R"({"op":"+U","id":"a","n":2})", R"({"id":"b","n":3})", R"({"op":"-D","id":"b","n":3})"})
    rows.push_back(Value::parseJson(json));
  auto values = optionsFor(server, db, "REPLACE INTO rows_t (id, n) VALUES (?, ?)");
  values.delete_statement = "DELETE FROM rows_t WHERE id = ?";
  values.changelog = true;
  ExecutionContext ctx("mysql-changelog");
  writeMysql(ctx.fromCollection(changes), typed, [](const Row& r) {
    return std::vector<Value>{Value(r.first), Value(r.second)};
  });
  writeMysql(ctx.fromCollection(rows), values, [](const Value& r) {
    CHECK(r.find("op") == nullptr);
    return std::vector<Value>{r["id"], r["n"]};
  });
  ctx.execute();
  CHECK(server.query("SELECT id, final FROM avg ORDER BY id", db) ==
        std::vector<std::vector<std::string>>{{"1", "30"}, {"3", "5"}});
  CHECK(server.query("SELECT id, n FROM rows_t ORDER BY id", db) ==
        std::vector<std::vector<std::string>>{{"a", "2"}});
}

TEST_CASE("a changelog without a delete statement fails the job saying so",
          "[mysql][integration][changelog]") {
  auto& server = sharedMariaDbServer();
  std::string db = server.createDatabase("changelog_nodelete");
  auto options = optionsFor(server, db, "INSERT INTO t (id) VALUES (?)");
  ExecutionContext ctx("mysql-changelog-no-delete");
  writeMysql(ctx.fromCollection(std::vector<Change<std::int64_t>>{{RowKind::Insert, 1}}), options,
             [](const std::int64_t& id) { return std::vector<Value>{Value(id)}; });
  CHECK_THROWS_WITH(ctx.execute(), Catch::Contains("a changelog needs a delete_statement"));
}

TEST_CASE("a statement error fails the job with the statement in the message",
          "[mysql][integration]") {
  auto& server = sharedMariaDbServer();
  std::string db = server.createDatabase("errors");
  server.execute("CREATE TABLE t (id BIGINT PRIMARY KEY, name VARCHAR(16))", db);

  SECTION("an unknown column fails when the statement is prepared") {
    ExecutionContext ctx("mysql-unknown-column");
    writeMysql(ctx.fromCollection(std::vector<std::int64_t>{1}),
               optionsFor(server, db, "INSERT INTO t (id, nope) VALUES (?, ?)"),
               [](const std::int64_t& i) {
                 return std::vector<Value>{Value(i), Value("x")};
               });
    CHECK_THROWS_WITH(ctx.execute(),
                      Catch::Contains("cannot prepare the statement \"INSERT INTO t (id, nope) "
                                      "VALUES (?, ?)\"") &&
                          Catch::Contains("Unknown column 'nope'"));
  }
  SECTION("a duplicate primary key names the statement and the record") {
    server.execute("INSERT INTO t VALUES (7, 'seven')", db);
    ExecutionContext ctx("mysql-duplicate");
    writeMysql(ctx.fromCollection(std::vector<std::int64_t>{5, 6, 7}),
               optionsFor(server, db, "INSERT INTO t (id, name) VALUES (?, ?)"),
               [](const std::int64_t& i) {
                 return std::vector<Value>{Value(i), Value("n" + std::to_string(i))};
               });
    CHECK_THROWS_WITH(
        ctx.execute(),
        Catch::Contains("the statement \"INSERT INTO t (id, name) VALUES (?, ?)\" failed for the "
                        "record with parameters [7, \"n7\"]") &&
            Catch::Contains("Duplicate entry '7'"));
  }
  SECTION("a record with the wrong number of parameters names the statement") {
    ExecutionContext ctx("mysql-count");
    writeMysql(ctx.fromCollection(std::vector<std::int64_t>{1}),
               optionsFor(server, db, "INSERT INTO t (id, name) VALUES (?, ?)"),
               [](const std::int64_t& i) { return std::vector<Value>{Value(i)}; });
    CHECK_THROWS_WITH(ctx.execute(), Catch::Contains("has 2 ? placeholder(s), but the record has 1 "
                                                     "parameter value(s): [1]"));
  }
}

TEST_CASE("a failing row rolls back the rows of its transaction", "[mysql][integration]") {
  auto& server = sharedMariaDbServer();
  std::string db = server.createDatabase("rollback");
  server.execute("CREATE TABLE t (id BIGINT PRIMARY KEY)", db);
  detail::MysqlWriter writer(optionsFor(server, db, "INSERT INTO t (id) VALUES (?)"),
                             SinkContext{"job", "sink", 0, 1});
  CHECK(writer.parameterCount() == 1);
  writer.add({Value(1)});
  writer.commit();
  writer.add({Value(2)});
  writer.add({Value(3)});
  writer.add({Value(1)});
  CHECK_THROWS_WITH(writer.commit(), Catch::Contains("[1]") && Catch::Contains("rolled back"));
  CHECK(server.query("SELECT id FROM t ORDER BY id", db) ==
        std::vector<std::vector<std::string>>{{"1"}});
}

TEST_CASE("a wrong password fails the job with a clear error", "[mysql][integration]") {
  auto& server = sharedMariaDbServer();
  auto options = optionsFor(server, MariaDbServer::kDatabase, "SELECT ?");
  options.connection.password = "wrong";
  ExecutionContext ctx("mysql-password");
  writeMysql(ctx.fromCollection(std::vector<std::int64_t>{1}), options,
             [](const std::int64_t& i) { return std::vector<Value>{Value(i)}; });
  CHECK_THROWS_WITH(ctx.execute(), Catch::Contains("cannot connect to 127.0.0.1:") &&
                                       Catch::Contains("Access denied for user 'lightflus'") &&
                                       Catch::Contains("check the username, password"));
}

TEST_CASE("no server on the port fails the job after connect_timeout", "[mysql][integration]") {
  MysqlSinkOptions options;
  options.connection = {.host = "127.0.0.1", .port = 1, .username = "u", .database = "d"};
  options.statement = "SELECT ?";
  options.connect_timeout = Duration(500);
  ExecutionContext ctx("mysql-no-server");
  writeMysql(ctx.fromCollection(std::vector<std::int64_t>{1}), options,
             [](const std::int64_t& i) { return std::vector<Value>{Value(i)}; });
  CHECK_THROWS_WITH(ctx.execute(), Catch::Contains("cannot reach the server 127.0.0.1:1"));
}

TEST_CASE("every record arrives when mariadbd restarts in the middle of a job",
          "[mysql][integration]") {
  auto& server = sharedMariaDbServer();
  std::string db = server.createDatabase("restart");
  server.execute("CREATE TABLE t (id BIGINT PRIMARY KEY, at_least_once INT NOT NULL DEFAULT 1)",
                 db);
  constexpr std::uint64_t kCount = 3000;
  // The generator holds element 2000 back until the server has restarted, so the restart
  // always falls in the middle of the job; it is rate-limited so that batches keep coming.
  std::atomic<bool> restarted{false};
  ExecutionContext ctx("mysql-restart");
  auto ids = ctx.generate(
                    [&restarted](std::uint64_t i) {
                      while (i == 2000 && !restarted)
                        std::this_thread::sleep_for(std::chrono::milliseconds(10));
                      return static_cast<std::int64_t>(i);
                    },
                    GeneratorOptions{.count = kCount, .rate = 2000})
                 .parallelism(1);
  // Idempotent: a transaction run again after a lost commit acknowledgement overwrites.
  writeMysql(ids,
             optionsFor(server, db,
                        "INSERT INTO t (id) VALUES (?) ON DUPLICATE KEY UPDATE at_least_once = "
                        "at_least_once + 1"),
             [](const std::int64_t& i) { return std::vector<Value>{Value(i)}; });
  std::exception_ptr failure;
  std::thread job([&] {
    try {
      ctx.execute();
    } catch (...) {
      failure = std::current_exception();
    }
  });
  while (std::stoi(server.query("SELECT COUNT(*) FROM t", db)[0][0]) < 500)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  server.restart();
  restarted = true;
  job.join();
  if (failure) std::rethrow_exception(failure);
  auto rows = server.query("SELECT COUNT(*), MIN(id), MAX(id) FROM t", db);
  CHECK(rows == std::vector<std::vector<std::string>>{
                    {std::to_string(kCount), "0", std::to_string(kCount - 1)}});
}

TEST_CASE("batches whose placeholders mix types, nulls and JSON write every row exactly",
          "[mysql][integration]") {
  auto& server = sharedMariaDbServer();
  std::string db = server.createDatabase("mixed");
  server.execute("CREATE TABLE t (id BIGINT PRIMARY KEY, x DOUBLE NULL, s TEXT NULL)", db);
  // Arrays of parameter values, as TypeScript jobs hand them to the sink. Rows 0..199: x mixes
  // integers, doubles and nulls (bound as doubles in one bulk execution); s mixes strings, JSON
  // and nulls. Rows 200..209: s mixes numbers and strings, which only row-by-row binding takes.
  std::vector<Value> rows;
  std::vector<std::vector<std::string>> expected;
  for (std::int64_t i = 0; i < 210; ++i) {
    Value x = i % 3 == 0 ? Value(i) : i % 3 == 1 ? Value(static_cast<double>(i) + 0.25) : Value();
    Value s = i % 4 == 0              ? Value("s" + std::to_string(i))
              : i % 4 == 1            ? Value(Value::Array{Value(i)})
              : i % 4 == 2 || i < 200 ? Value()
                                      : Value(i);
    rows.push_back(Value(Value::Array{Value(i), x, s}));
    std::string x_text = i % 3 == 0   ? std::to_string(i)
                         : i % 3 == 1 ? std::to_string(i) + ".25"
                                      : "NULL";
    std::string s_text = i % 4 == 0              ? "s" + std::to_string(i)
                         : i % 4 == 1            ? "[" + std::to_string(i) + "]"
                         : i % 4 == 2 || i < 200 ? "NULL"
                                                 : std::to_string(i);
    expected.push_back({std::to_string(i), x_text, s_text});
  }
  // Two jobs: the first batch binds in bulk, the second row by row.
  for (auto [from, to] : {std::pair<int, int>{0, 200}, std::pair<int, int>{200, 210}}) {
    ExecutionContext ctx("mysql-mixed");
    writeMysql(ctx.fromCollection(std::vector<Value>(rows.begin() + from, rows.begin() + to)),
               optionsFor(server, db, "INSERT INTO t (id, x, s) VALUES (?, ?, ?)"));
    ctx.execute();
  }
  CHECK(server.query("SELECT id, x, s FROM t ORDER BY id", db) == expected);
}

TEST_CASE("a server that stays away fails the job after reconnect_timeout",
          "[mysql][integration]") {
  auto& server = sharedMariaDbServer();
  std::string db = server.createDatabase("gone");
  server.execute("CREATE TABLE t (id BIGINT PRIMARY KEY)", db);
  // The generator holds element 100 back until the server is stopped; the sink then cannot
  // write the rest.
  std::atomic<bool> stopped{false};
  ExecutionContext ctx("mysql-gone");
  auto ids = ctx.generate(
                    [&stopped](std::uint64_t i) {
                      while (i == 100 && !stopped)
                        std::this_thread::sleep_for(std::chrono::milliseconds(10));
                      return static_cast<std::int64_t>(i);
                    },
                    GeneratorOptions{.count = 200, .rate = 1000})
                 .parallelism(1);
  auto options = optionsFor(server, db, "INSERT INTO t (id) VALUES (?)");
  options.reconnect_timeout = Duration(1'500);
  writeMysql(ids, options, [](const std::int64_t& i) { return std::vector<Value>{Value(i)}; });
  std::exception_ptr failure;
  std::thread job([&] {
    try {
      ctx.execute();
    } catch (...) {
      failure = std::current_exception();
    }
  });
  while (std::stoi(server.query("SELECT COUNT(*) FROM t", db)[0][0]) < 50)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  server.stop();
  stopped = true;
  job.join();
  server.start();  // for the next test of this program
  REQUIRE(failure);
  CHECK_THROWS_WITH(std::rethrow_exception(failure),
                    Catch::Contains("lost the server 127.0.0.1:") &&
                        Catch::Contains("within 1500 ms (reconnect_timeout)"));
}

TEST_CASE("host localhost reaches the server over TCP on the given port", "[mysql][integration]") {
  auto& server = sharedMariaDbServer();
  std::string db = server.createDatabase("localhost");
  server.execute("CREATE TABLE t (id BIGINT PRIMARY KEY)", db);
  auto options = optionsFor(server, db, "INSERT INTO t (id) VALUES (?)");
  options.connection.host = "localhost";
  ExecutionContext ctx("mysql-localhost");
  writeMysql(ctx.fromCollection(std::vector<std::int64_t>{1, 2, 3}), options,
             [](const std::int64_t& i) { return std::vector<Value>{Value(i)}; });
  ctx.execute();
  CHECK(server.query("SELECT COUNT(*) FROM t", db)[0][0] == "3");
}
