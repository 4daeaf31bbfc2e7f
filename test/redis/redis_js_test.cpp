// TypeScript jobs writing to a real redis-server: the original API's word count and the
// options the TS builder added. Expected counts come from a plain loop over the input file.
#include <catch2/catch.hpp>
#include <cctype>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "js_graph_builder.hpp"
#include "js_job.hpp"
#include "lightflus/lightflus.hpp"
#include "redis_server.hpp"
#include "test_helpers.hpp"

using namespace lightflus;
using namespace lightflus::js;
using namespace lightflus::test;

namespace {

void runJob(const std::string& source, const std::string& file_name,
            std::map<std::string, std::string> params, int parallelism) {
  auto job = JsJob::load(source, {.file_name = file_name, .params = std::move(params)});
  ExecutionContext ctx = JsGraphBuilder(job).build();
  ctx.execute({.parallelism = parallelism});
}

}  // namespace

TEST_CASE("a TypeScript word count with the original Redis API writes every word's total",
          "[redis][js][integration]") {
  RedisServer redis;
  const std::string input = sourcePath("examples/data/sample.txt");
  std::map<std::string, std::int64_t> expected;  // by a plain loop
  std::string word;
  for (char c : readFile(input) + "\n") {
    if (std::isalnum(static_cast<unsigned char>(c))) {
      word.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    } else if (!word.empty()) {
      ++expected[word];
      word.clear();
    }
  }
  REQUIRE(expected.size() > 10);

  for (int parallelism : {1, 2}) {
    INFO("parallelism " << parallelism);
    redis.query({"FLUSHALL"});
    runJob(readFile(sourcePath("test/redis/jobs/redisWordCount.ts")), "redisWordCount.ts",
           {{"redis", redis.address()}, {"input", input}}, parallelism);
    CHECK(redis.query({"DBSIZE"}) == std::to_string(expected.size()));
    std::vector<std::string> mget{"MGET"};
    std::string want;
    for (const auto& [w, n] : expected) {
      mget.push_back(w);
      want += (want.empty() ? "" : "\n") + std::to_string(n);
    }
    CHECK(redis.query(mget) == want);
  }
}

TEST_CASE("a TypeScript job writes hashes with a TTL and streams of objects",
          "[redis][js][integration]") {
  RedisServer redis(RedisServer::Options{.password = "pw"});
  const std::string source = R"(
    export default function (ctx: ExecutionContext) {
      const host = ctx.param("redis", "");
      const clicks = ctx.fromSource(Generator.values([
        { user: "ann", page: "home", n: 1 }, { user: "bob", page: "cart", n: 2 },
        { user: "ann", page: "cart", n: 3 }]));
      const hashes = Redis.new<any>().host(host).keyExtractor((c) => c.user)
        .valueExtractor((c) => ({ page: c.page, n: c.n })).command("hset").ttl(Time.minutes(5));
      hashes.password = "pw";
      clicks.sink(hashes);
      clicks.sink(Redis.new<any>().host(host).auth("pw").database(1).command("xadd")
        .keyExtractor((c) => "clicks").valueExtractor((c) => c));
      clicks.sink(Redis.new<any>().host(host).auth("pw").hashKey("pages")
        .keyExtractor((c) => c.page).valueExtractor((c) => c.n));
      ctx.execute();
    }
  )";
  // Parallelism 1: the source's order is the order of the writes (the word count runs at 2).
  runJob(source, "redisOptions.ts", {{"redis", redis.address()}}, 1);

  // The last write of a key wins: ann's last click (cart, 3).
  CHECK(redis.query({"HGETALL", "ann"}) == "page\ncart\nn\n3");
  CHECK(redis.query({"HGETALL", "bob"}) == "page\ncart\nn\n2");
  long ttl = std::stol(redis.query({"PTTL", "ann"}));
  CHECK(ttl > 0);
  CHECK(ttl <= 300'000);
  CHECK(redis.query({"XLEN", "clicks"}, 1) == "3");
  CHECK(redis.query({"EXISTS", "clicks"}, 0) == "0");
  CHECK(redis.query({"HGET", "pages", "home"}) == "1");
  CHECK(redis.query({"HGET", "pages", "cart"}) == "3");
}

TEST_CASE("a TypeScript job's changelog rows are written and deleted with changelog()",
          "[redis][js][integration][changelog]") {
  RedisServer redis;
  runJob(R"(
    import { ExecutionContext, Generator, Redis, type ChangelogRow } from "lightflus";
    type Avg = { id: string; final: number };
    const ctx = ExecutionContext.new("redis-changelog");
    const rows: ChangelogRow<Avg>[] = [
      { op: "+I", id: "a", final: 10 }, { op: "+I", id: "b", final: 20 },
      { op: "-U", id: "a", final: 10 }, { op: "+U", id: "a", final: 15 },
      { op: "-D", id: "b", final: 20 }, { id: "c", final: 7 },
    ];
    const stream = ctx.fromSource(Generator.values(rows));
    stream.sink(Redis.new<ChangelogRow<Avg>>().host(ctx.param("redis", ""))
      .keyExtractor((r) => "avg:" + r.id).valueExtractor((r) => r).changelog());
    stream.sink(Redis.new<ChangelogRow<Avg>>().host(ctx.param("redis", "")).hashKey("finals")
      .keyExtractor((r) => r.id).valueExtractor((r) => r.final).changelog());
    ctx.execute();
  )",
         "changelog.ts", {{"redis", redis.address()}}, 1);
  CHECK(redis.query({"GET", "avg:a"}) == R"({"id":"a","final":15})");
  CHECK(redis.query({"EXISTS", "avg:b"}) == "0");
  CHECK(redis.query({"GET", "avg:c"}) == R"({"id":"c","final":7})");
  CHECK(redis.query({"HGETALL", "finals"}) == "a\n15\nc\n7");
}

TEST_CASE("a TypeScript job's Redis error reply names the operator, command and key",
          "[redis][js][integration]") {
  RedisServer redis;
  redis.query({"SET", "clicks", "not a stream"});
  const std::string source = R"(
    export default function (ctx: ExecutionContext) {
      ctx.fromSource(Generator.values([1, 2])).sink(Redis.new<number>()
        .host(ctx.param("redis", "")).command("xadd").keyExtractor(() => "clicks")
        .valueExtractor((n) => n)).name("to redis");
      ctx.execute();
    }
  )";
  CHECK_THROWS_WITH(runJob(source, "redisError.ts", {{"redis", redis.address()}}, 1),
                    Catch::Contains("to redis") &&
                        Catch::Contains("the command XADD on key 'clicks' failed: WRONGTYPE"));
}

TEST_CASE("a TypeScript job writes over TLS with the CA file it names",
          "[redis][js][integration][tls]") {
  RedisServer redis(RedisServer::Options{.tls = true});
  const std::string source = R"(
    export default function (ctx: ExecutionContext) {
      ctx.fromSource(Generator.sequence(1, 50)).sink(Redis.new<number>()
        .host(ctx.param("redis", "")).tls(true, { caFile: ctx.param("ca", "") })
        .keyExtractor((n) => `n${n}`).valueExtractor((n) => n * n));
      ctx.execute();
    }
  )";
  runJob(source, "redisTls.ts",
         {{"redis", "localhost:" + std::to_string(redis.tlsPort())}, {"ca", redis.caFile()}}, 2);
  CHECK(redis.query({"DBSIZE"}) == "50");
  CHECK(redis.query({"GET", "n7"}) == "49");
}
