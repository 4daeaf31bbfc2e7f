// The Redis sink against a real redis-server (test/support/redis_server), with a separate
// hiredis connection (RedisServer::query) as the independent reader.
#include <catch2/catch.hpp>
#include <chrono>
#include <string>
#include <thread>

#include "lightflus/connectors/redis.hpp"
#include "lightflus/lightflus.hpp"
#include "redis_server.hpp"

using namespace lightflus;
using namespace lightflus::test;

namespace {

std::vector<int> numbers(int n) {
  std::vector<int> all;
  for (int i = 0; i < n; ++i) all.push_back(i);
  return all;
}

RedisSinkOptions at(const RedisServer& redis) {
  RedisSinkOptions options;
  options.host = redis.address();
  return options;
}

/// Polls until redis holds at least `n` keys (the job is running and writing).
void waitForKeys(const RedisServer& redis, long n) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::stol(redis.query({"DBSIZE"})) < n) {
    REQUIRE(std::chrono::steady_clock::now() < deadline);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

}  // namespace

TEST_CASE("SET writes exactly the expected keys and values", "[redis][integration]") {
  RedisServer redis;
  ExecutionContext ctx("redis-set");
  auto values = ctx.fromCollection(numbers(500)).parallelism(2);
  writeRedis(
      values, at(redis), [](const int& i) { return "n:" + std::to_string(i); },
      [](const int& i) { return i * 2; })
      .parallelism(2);
  ctx.execute();

  CHECK(redis.query({"DBSIZE"}) == "500");
  std::vector<std::string> mget{"MGET"}, expected;
  for (int i = 0; i < 500; ++i) {
    mget.push_back("n:" + std::to_string(i));
    expected.push_back(std::to_string(i * 2));
  }
  std::string joined;
  for (const auto& e : expected) joined += (joined.empty() ? "" : "\n") + e;
  CHECK(redis.query(mget) == joined);
}

TEST_CASE("values are written as strings as they are, numbers as decimals, the rest as JSON",
          "[redis][integration]") {
  RedisServer redis;
  Value object = Value::object();
  object["word"] = "a b";
  object["n"] = 3;
  Value array = Value::array();
  array.asArray().push_back(Value(1));
  array.asArray().push_back(Value("x"));
  std::vector<Value> items{Value("plain text"), Value(42), Value(1.5), object, array,
                           Value(true),         Value()};
  ExecutionContext ctx("redis-formats");
  auto stream = ctx.fromCollection(items).map([](const Value& v) {
    Value e = Value::object();
    e["key"] = v.isString() ? std::string("string") : v.toJson();
    e["value"] = v;
    return e;
  });
  writeRedis(
      stream, at(redis), [](const Value& e) { return e["key"]; },
      [](const Value& e) { return e["value"]; });
  ctx.execute();

  CHECK(redis.query({"GET", "string"}) == "plain text");
  CHECK(redis.query({"GET", "42"}) == "42");
  CHECK(redis.query({"GET", "1.5"}) == "1.5");
  CHECK(redis.query({"GET", R"({"word":"a b","n":3})"}) == R"({"word":"a b","n":3})");
  CHECK(redis.query({"GET", R"([1,"x"])"}) == R"([1,"x"])");
  CHECK(redis.query({"GET", "true"}) == "true");
  CHECK(redis.query({"GET", "null"}) == "null");
}

TEST_CASE("HSET writes to a fixed hash, by a field extractor, or one field per member",
          "[redis][integration]") {
  RedisServer redis;
  ExecutionContext ctx("redis-hset");
  auto words = ctx.fromCollection(std::vector<std::string>{"a", "b", "c"});
  RedisSinkOptions fixed = at(redis);
  fixed.command = RedisCommand::HSet;
  fixed.hash_key = "counts";
  writeRedis(
      words, fixed, [](const std::string& w) { return w; },
      [](const std::string& w) { return static_cast<int>(w[0]); });
  writeRedisHash(
      words, at(redis), [](const std::string& w) { return "user:" + w; },
      [](const std::string&) { return "page"; }, [](const std::string& w) { return w + w; });
  RedisSinkOptions members = at(redis);
  members.command = RedisCommand::HSet;
  writeRedis(
      words, members, [](const std::string& w) { return "obj:" + w; },
      [](const std::string& w) {
        Value v = Value::object();
        v["name"] = w;
        v["len"] = static_cast<int>(w.size());
        return v;
      });
  ctx.execute();

  CHECK(redis.query({"HGETALL", "counts"}) == "a\n97\nb\n98\nc\n99");
  CHECK(redis.query({"HGET", "user:b", "page"}) == "bb");
  CHECK(redis.query({"HGETALL", "obj:c"}) == "name\nc\nlen\n1");
}

TEST_CASE("HSET without a field fails the job and says how to give one", "[redis][integration]") {
  RedisServer redis;
  ExecutionContext ctx("redis-hset-nofield");
  RedisSinkOptions options = at(redis);
  options.command = RedisCommand::HSet;
  writeRedis(ctx.fromCollection(std::vector<int>{1}), options,
             [](const int& i) { return std::to_string(i); });
  CHECK_THROWS_WITH(ctx.execute(), Catch::Contains("HSET on key '1' has no field"));
}

TEST_CASE("a changelog is applied: +I/+U written, -U skipped, -D deleted (SET and HSET)",
          "[redis][integration][changelog]") {
  RedisServer redis;
  // Per key, in order (one producer): the table after them is {a: 3, c: 1}; b is deleted.
  using Row = std::pair<std::string, int>;
  std::vector<Change<Row>> changes = {
      {RowKind::Insert, {"a", 1}},       {RowKind::Insert, {"b", 5}},
      {RowKind::UpdateBefore, {"a", 1}}, {RowKind::UpdateAfter, {"a", 3}},
      {RowKind::Delete, {"b", 5}},       {RowKind::Insert, {"c", 1}},
  };
  ExecutionContext ctx("redis-changelog");
  auto stream = ctx.fromCollection(changes);
  writeRedis(
      stream, at(redis), [](const Row& r) { return "set:" + r.first; },
      [](const Row& r) { return r.second; });
  RedisSinkOptions hash = at(redis);
  hash.command = RedisCommand::HSet;
  hash.hash_key = "table";
  writeRedis(
      stream, hash, [](const Row& r) { return r.first; }, [](const Row& r) { return r.second; });
  writeRedisHash(
      stream, at(redis), [](const Row& r) { return "row:" + r.first; },
      [](const Row&) { return "n"; }, [](const Row& r) { return r.second; });

  // The Value form (TypeScript jobs, JSON lines): an "op" member, written without it.
  std::vector<Value> rows;
  for (const char* json :
       {R"({"op":"+I","id":"x","n":1})", R"({"id":"y","n":2})", R"({"op":"-U","id":"x","n":1})",
        R"({"op":"+U","id":"x","n":7})", R"({"op":"-D","id":"y","n":2})"})
    rows.push_back(Value::parseJson(json));
  RedisSinkOptions objects = at(redis);
  objects.command = RedisCommand::HSet;
  objects.changelog = true;
  writeRedis(ctx.fromCollection(rows), objects,
             [](const Value& r) { return "obj:" + std::string(r["id"].asString()); });
  ctx.execute();

  CHECK(redis.query({"GET", "set:a"}) == "3");
  CHECK(redis.query({"EXISTS", "set:b"}) == "0");
  CHECK(redis.query({"GET", "set:c"}) == "1");
  CHECK(redis.query({"HGETALL", "table"}) == "a\n3\nc\n1");
  CHECK(redis.query({"HGET", "row:a", "n"}) == "3");
  CHECK(redis.query({"EXISTS", "row:b"}) == "0");
  CHECK(redis.query({"HGETALL", "obj:x"}) == "id\nx\nn\n7");
  CHECK(redis.query({"EXISTS", "obj:y"}) == "0");
}

TEST_CASE("a changelog row with a bad op fails the job naming it; XADD refuses changelogs",
          "[redis][integration][changelog]") {
  RedisServer redis;
  {
    ExecutionContext ctx("redis-changelog-bad-op");
    RedisSinkOptions options = at(redis);
    options.changelog = true;
    writeRedis(ctx.fromCollection(std::vector<Value>{Value::parseJson(R"({"op":"+X","k":1})")}),
               options, [](const Value& r) { return r["k"]; });
    CHECK_THROWS_WITH(ctx.execute(),
                      Catch::Contains(R"("op" must be "+I", "-U", "+U" or "-D", got "+X")"));
  }
  {
    ExecutionContext ctx("redis-changelog-xadd");
    RedisSinkOptions options = at(redis);
    options.changelog = true;
    options.command = RedisCommand::XAdd;
    writeRedis(ctx.fromCollection(std::vector<Value>{Value::parseJson(R"({"k":1})")}), options,
               [](const Value& r) { return r["k"]; });
    CHECK_THROWS_WITH(ctx.execute(), Catch::Contains("XADD cannot apply a changelog"));
  }
}

TEST_CASE("XADD appends one stream entry per element", "[redis][integration]") {
  RedisServer redis;
  ExecutionContext ctx("redis-xadd");
  RedisSinkOptions options = at(redis);
  options.command = RedisCommand::XAdd;
  auto events = ctx.fromCollection(numbers(100));
  writeRedis(events, options, [](const int&) { return "events"; });
  RedisSinkOptions objects = options;
  writeRedis(
      events, objects, [](const int&) { return "objects"; },
      [](const int& i) {
        Value v = Value::object();
        v["i"] = i;
        v["even"] = i % 2 == 0;
        return v;
      });
  ctx.execute();

  CHECK(redis.query({"XLEN", "events"}) == "100");
  CHECK(redis.query({"XLEN", "objects"}) == "100");
  // XRANGE renders "id\nfield\nvalue..." per entry; the first entry holds 0.
  std::string first = redis.query({"XRANGE", "events", "-", "+", "COUNT", "1"});
  CHECK(first.substr(first.find('\n')) == "\nvalue\n0");
  std::string first_object = redis.query({"XRANGE", "objects", "-", "+", "COUNT", "1"});
  CHECK(first_object.substr(first_object.find('\n')) == "\ni\n0\neven\ntrue");
}

TEST_CASE("a TTL is set on SET, HSET and XADD keys, and none without it", "[redis][integration]") {
  RedisServer redis;
  ExecutionContext ctx("redis-ttl");
  auto one = ctx.fromCollection(std::vector<int>{7});
  for (auto command : {RedisCommand::Set, RedisCommand::HSet, RedisCommand::XAdd}) {
    RedisSinkOptions options = at(redis);
    options.command = command;
    options.hash_key = command == RedisCommand::HSet ? "hash" : "";
    options.ttl = Duration(60'000);
    writeRedis(one, options, [command](const int& i) {
      return command == RedisCommand::Set    ? "set"
             : command == RedisCommand::XAdd ? "stream"
                                             : std::to_string(i);
    });
  }
  ctx.execute();
  for (const char* key : {"set", "hash", "stream"}) {
    INFO(key);
    long ttl = std::stol(redis.query({"PTTL", key}));
    CHECK(ttl > 0);
    CHECK(ttl <= 60'000);
  }
  RedisSinkOptions no_ttl = at(redis);
  ExecutionContext plain("redis-no-ttl");
  writeRedis(plain.fromCollection(std::vector<int>{1}), no_ttl,
             [](const int&) { return "forever"; });
  plain.execute();
  CHECK(redis.query({"PTTL", "forever"}) == "-1");
}

TEST_CASE("an error reply fails the job with the command and the key", "[redis][integration]") {
  RedisServer redis;
  redis.query({"SET", "taken", "a string"});
  ExecutionContext ctx("redis-error");
  RedisSinkOptions options = at(redis);
  options.command = RedisCommand::HSet;
  options.hash_key = "taken";
  writeRedis(
      ctx.fromCollection(std::vector<std::string>{"f"}), options,
      [](const std::string& f) { return f; }, [](const std::string&) { return 1; }, "hsets");
  try {
    ctx.execute();
    FAIL("the job did not fail");
  } catch (const JobFailedError& e) {
    CHECK(e.operatorName() == "hsets");
    CHECK_THAT(e.what(), Catch::Contains("the command HSET on key 'taken' failed: WRONGTYPE"));
    CHECK_THAT(e.what(), Catch::Contains(redis.address()));
  }
}

TEST_CASE("AUTH with a password or an ACL user, and SELECT a database", "[redis][integration]") {
  RedisServer redis(
      RedisServer::Options{.password = "s3cret", .config = {"user app on >apppw ~* &* +@all"}});
  ExecutionContext ctx("redis-auth");
  auto words = ctx.fromCollection(std::vector<std::string>{"x", "y"});
  RedisSinkOptions by_password = at(redis);
  by_password.password = "s3cret";
  by_password.database = 3;
  writeRedis(words, by_password, [](const std::string& w) { return "db3:" + w; });
  RedisSinkOptions by_user = at(redis);
  by_user.username = "app";
  by_user.password = "apppw";
  writeRedis(words, by_user, [](const std::string& w) { return "db0:" + w; });
  ctx.execute();

  CHECK(redis.query({"GET", "db3:x"}, 3) == "x");
  CHECK(redis.query({"GET", "db3:x"}, 0) == "(nil)");
  CHECK(redis.query({"DBSIZE"}, 3) == "2");
  CHECK(redis.query({"GET", "db0:y"}) == "y");

  ExecutionContext wrong("redis-wrong-password");
  RedisSinkOptions bad = at(redis);
  bad.password = "nope";
  writeRedis(wrong.fromCollection(std::vector<int>{1}), bad,
             [](const int& i) { return std::to_string(i); });
  CHECK_THROWS_WITH(wrong.execute(),
                    Catch::Contains("AUTH failed") && Catch::Contains("WRONGPASS"));
}

TEST_CASE("a sink that cannot reach Redis at start fails the job naming host:port",
          "[redis][integration]") {
  int port;
  {
    RedisServer gone;
    port = gone.port();
  }  // nothing listens there now
  ExecutionContext ctx("redis-unreachable");
  RedisSinkOptions options{.host = "127.0.0.1:" + std::to_string(port)};
  options.connect_timeout = Duration(300);
  writeRedis(ctx.fromCollection(std::vector<int>{1}), options,
             [](const int& i) { return std::to_string(i); });
  CHECK_THROWS_WITH(ctx.execute(), Catch::Contains("cannot connect to Redis at 127.0.0.1:" +
                                                   std::to_string(port) + " within 300 ms"));
}

TEST_CASE("a malformed host and an unreadable CA file are configuration errors", "[redis]") {
  ExecutionContext ctx("redis-config-host");
  writeRedis(ctx.fromCollection(std::vector<int>{1}), RedisSinkOptions{.host = "localhost:63x"},
             [](const int& i) { return std::to_string(i); });
  CHECK_THROWS_WITH(ctx.execute(), Catch::Contains("'localhost:63x' has no valid port"));
  ExecutionContext ctx2("redis-config-ca");
  RedisSinkOptions options{.host = "localhost", .tls = true};
  options.tls_ca_file = "/nonexistent/ca.pem";
  writeRedis(ctx2.fromCollection(std::vector<int>{1}), options,
             [](const int& i) { return std::to_string(i); });
  CHECK_THROWS_WITH(ctx2.execute(),
                    Catch::Contains("cannot load the TLS CA certificates '/nonexistent/ca.pem'"));
}

TEST_CASE("over TLS the sink verifies the server's certificate and name, and writes",
          "[redis][integration][tls]") {
  RedisServer redis(RedisServer::Options{.password = "pw", .tls = true});
  ExecutionContext ctx("redis-tls");
  auto values = ctx.fromCollection(numbers(300));
  for (std::string host : {"127.0.0.1", "localhost"}) {
    RedisSinkOptions options{.host = host + ":" + std::to_string(redis.tlsPort()), .tls = true};
    options.tls_ca_file = redis.caFile();
    options.password = "pw";
    options.database = 2;
    writeRedis(values, options, [host](const int& i) { return host + ":" + std::to_string(i); });
  }
  ctx.execute();
  CHECK(redis.query({"DBSIZE"}, 2) == "600");
  CHECK(redis.query({"GET", "localhost:299"}, 2) == "299");
  CHECK(redis.query({"GET", "127.0.0.1:0"}, 2) == "0");
}

TEST_CASE("over TLS a certificate the sink cannot verify fails the job, unless told not to verify",
          "[redis][integration][tls]") {
  RedisServer redis(RedisServer::Options{.tls = true});
  RedisSinkOptions options{.host = "127.0.0.1:" + std::to_string(redis.tlsPort()), .tls = true};
  options.connect_timeout = Duration(300);  // the system's CAs do not know the test's CA
  ExecutionContext ctx("redis-tls-unknown-ca");
  writeRedis(ctx.fromCollection(std::vector<int>{1}), options,
             [](const int& i) { return std::to_string(i); });
  CHECK_THROWS_WITH(ctx.execute(),
                    Catch::Contains("TLS handshake failed: the server's certificate"));

  options.tls_verify = false;
  ExecutionContext trusting("redis-tls-no-verify");
  writeRedis(trusting.fromCollection(std::vector<int>{1}), options,
             [](const int&) { return "unverified"; });
  trusting.execute();
  CHECK(redis.query({"GET", "unverified"}) == "1");

  // A plain client on the TLS port: the handshake never answers, the connect times out.
  RedisSinkOptions plain{.host = "127.0.0.1:" + std::to_string(redis.tlsPort())};
  plain.connect_timeout = Duration(300);
  plain.io_timeout = Duration(200);
  ExecutionContext wrong("redis-plain-on-tls");
  writeRedis(wrong.fromCollection(std::vector<int>{1}), plain,
             [](const int& i) { return std::to_string(i); });
  CHECK_THROWS_WITH(wrong.execute(), Catch::Contains("cannot connect to Redis at 127.0.0.1:"));
}

TEST_CASE("the job survives a redis-server crash and restart, and every record arrives",
          "[redis][integration]") {
  RedisServer redis(RedisServer::Options{.durable = true});
  const int n = 4000;
  ExecutionContext ctx("redis-restart");
  auto numbers = ctx.generate([](std::uint64_t i) { return static_cast<std::int64_t>(i); },
                              GeneratorOptions{.count = n, .rate = 2000});
  writeRedis(numbers, at(redis), [](const std::int64_t& i) { return "k:" + std::to_string(i); });
  JobHandle job = ctx.start();
  waitForKeys(redis, 500);
  REQUIRE(job.status() == JobStatus::Running);  // the crash comes in the middle of the job
  redis.kill();  // acknowledged writes are in the fsynced append-only file
  std::this_thread::sleep_for(std::chrono::milliseconds(800));
  redis.start();
  job.wait();

  CHECK(redis.query({"DBSIZE"}) == std::to_string(n));
  std::vector<std::string> mget{"MGET"};
  std::string expected;
  for (int i = 0; i < n; ++i) {
    mget.push_back("k:" + std::to_string(i));
    expected += (i ? "\n" : "") + std::to_string(i);
  }
  CHECK(redis.query(mget) == expected);
}

TEST_CASE("a sink gives up when Redis stays down longer than reconnect_timeout",
          "[redis][integration]") {
  RedisServer redis;
  ExecutionContext ctx("redis-gone");
  auto numbers = ctx.generate([](std::uint64_t i) { return static_cast<std::int64_t>(i); },
                              GeneratorOptions{.count = 0, .rate = 1000});
  RedisSinkOptions options = at(redis);
  options.reconnect_timeout = Duration(1000);
  writeRedis(numbers, options, [](const std::int64_t& i) { return std::to_string(i); });
  JobHandle job = ctx.start();
  waitForKeys(redis, 100);
  redis.kill();
  CHECK_THROWS_WITH(job.wait(), Catch::Contains("to " + redis.address()) &&
                                    Catch::Contains("could not reconnect within 1000 ms"));
}
