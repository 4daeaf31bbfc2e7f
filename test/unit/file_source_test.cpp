// File sources and sinks: text lines, JSON lines, CSV, malformed input, dead letters.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "lightflus/lightflus.hpp"

using namespace lightflus;

namespace {
struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/lightflus-files-XXXXXX";
    path = mkdtemp(tmpl);
  }
  ~TempDir() { std::system(("rm -rf '" + path + "'").c_str()); }
  std::string write(const std::string& name, const std::string& content) const {
    std::string p = path + "/" + name;
    std::ofstream(p) << content;
    return p;
  }
};
std::string readAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}
}  // namespace

TEST_CASE("text files are read line by line, with or without a final newline", "[file]") {
  TempDir dir;
  auto path = dir.write("a.txt", "one\r\ntwo\n\nthree");
  ExecutionContext ctx("text");
  auto out = readTextFile(ctx, path).collect();
  ctx.execute();
  CHECK(out.values() == std::vector<std::string>{"one", "two", "", "three"});
}

TEST_CASE("a missing file fails the job with the file name", "[file]") {
  ExecutionContext ctx("missing");
  readTextFile(ctx, "/nonexistent/lightflus.txt").collect();
  CHECK_THROWS_WITH(ctx.execute(), Catch::Contains("cannot open '/nonexistent/lightflus.txt'"));
}

TEST_CASE("JSON lines become Values and a malformed line names file and line", "[file]") {
  TempDir dir;
  auto path = dir.write("e.jsonl", "{\"a\": 1}\n\n{\"a\": 2}\n{\"a\": oops}\n{\"a\": 4}\n");
  ExecutionContext ctx("jsonl");
  auto out = readJsonLines(ctx, path).map([](const Value& v) { return v["a"].asInt(); }).collect();
  try {
    ctx.execute();
    FAIL("a malformed line must fail the job");
  } catch (const JobFailedError& e) {
    CHECK_THAT(e.what(), Catch::Contains(path + ":4: invalid JSON"));
  }
}

TEST_CASE("malformed JSON lines go to the dead-letter output when asked", "[file]") {
  TempDir dir;
  auto path = dir.write("e.jsonl", "{\"a\": 1}\nnot json\n{\"a\": 3}\n");
  ExecutionContext ctx("jsonl-dead-letters");
  auto events = readJsonLines(ctx, path, MalformedPolicy::DeadLetter);
  auto good = events.map([](const Value& v) { return v["a"].asInt(); }).collect();
  auto bad = events.deadLetters().collect();
  ctx.execute();
  CHECK(good.values() == std::vector<std::int64_t>{1, 3});
  auto letters = bad.values();
  REQUIRE(letters.size() == 1);
  CHECK(letters[0].origin == path + ":2");
  CHECK(letters[0].record == "not json");
  CHECK_THAT(letters[0].error, Catch::Contains("invalid JSON"));
}

TEST_CASE("CSV rows become objects keyed by the header, quotes and types handled", "[file]") {
  TempDir dir;
  auto path =
      dir.write("p.csv", "name,price,note\napple,1.5,\"red, sweet\"\npear,2,\"say \"\"hi\"\"\"\n");
  ExecutionContext ctx("csv");
  auto out = readCsv(ctx, path).collect();
  ctx.execute();
  auto rows = out.values();
  REQUIRE(rows.size() == 2);
  CHECK(rows[0].toJson() == R"({"name":"apple","price":1.5,"note":"red, sweet"})");
  CHECK(rows[1].toJson() == R"({"name":"pear","price":2,"note":"say \"hi\""})");
}

TEST_CASE("a CSV row with the wrong number of fields is malformed", "[file]") {
  TempDir dir;
  auto path = dir.write("p.csv", "a,b\n1,2\n3\n\"4,5\n");
  ExecutionContext ctx("csv-bad");
  auto events = readCsv(ctx, path, CsvOptions{.on_malformed = MalformedPolicy::DeadLetter});
  auto good = events.collect();
  auto bad = events.deadLetters().collect();
  ctx.execute();
  CHECK(good.size() == 1);
  auto letters = bad.values();
  REQUIRE(letters.size() == 2);
  CHECK(letters[0].origin == path + ":3");
  CHECK(letters[0].error == "expected 2 fields, got 1");
  CHECK(letters[1].error == "unterminated quoted field");
}

TEST_CASE("the JSON-lines sink writes one document per line", "[file]") {
  TempDir dir;
  std::string out_path = dir.path + "/out.jsonl";
  ExecutionContext ctx("jsonl-sink");
  auto values = ctx.fromCollection(std::vector<int>{1, 2}).map([](const int& x) {
    Value v = Value::object();
    v["x"] = x;
    return v;
  });
  writeJsonLines(values, out_path);
  ctx.execute();
  CHECK(readAll(out_path) == "{\"x\":1}\n{\"x\":2}\n");
}

TEST_CASE("a file source restored from a snapshot continues at the next line", "[file]") {
  TempDir dir;
  std::string content;
  for (int i = 0; i < 50'000; ++i) content += std::to_string(i) + "\n";
  auto path = dir.write("n.txt", content);
  auto build = [&](ExecutionContext& ctx) {
    return readTextFile(ctx, path)
        .uid("lines")
        .map([](const std::string& s) { return std::stoll(s); })
        .keyBy([](const long long&) { return 0; })
        .window(GlobalWindows::create())
        .aggregate(Count{})
        .uid("count")
        .collect();
  };
  ExecutionContext first("file-restore");
  build(first);
  auto job = first.start(ExecutionOptions{.batch_size = 16});
  Snapshot snapshot;
  try {
    snapshot = job.triggerCheckpoint();
  } catch (const Error&) {
    SUCCEED("the job finished before the snapshot; nothing to check");
    return;
  }
  job.cancel();
  job.wait();
  ExecutionContext second("file-restore");
  auto count = build(second);
  ExecutionOptions options;
  options.restore = std::make_shared<Snapshot>(snapshot);
  second.execute(options);
  CHECK(count.values() == std::vector<std::int64_t>{50'000});
}
