// The rolling JSON-lines sink (RollingFileSink / RollingFileWriter in connectors/file.hpp):
// files roll by size and time, appear under their final names only when complete, and parallel
// subtasks write separate series. Its checkpoints and restores (exactly-once) are tested in
// rolling_file_sink_checkpoint_test.cpp. Expected records come from plain loops.
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>

#include "lightflus/connectors/file.hpp"
#include "lightflus/lightflus.hpp"

using namespace lightflus;
namespace fs = std::filesystem;

namespace {

// A fresh directory, removed with everything in it at the end of the test.
struct TempDir {
  fs::path path;
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "lightflus-rolling-XXXXXX").string();
    REQUIRE(::mkdtemp(pattern.data()) != nullptr);
    path = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

std::string readAll(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// File names in the directory, sorted.
std::vector<std::string> names(const fs::path& dir) {
  std::vector<std::string> all;
  for (const auto& e : fs::directory_iterator(dir)) all.push_back(e.path().filename().string());
  std::sort(all.begin(), all.end());
  return all;
}

// The "n" of every line of the files of `prefix`, file by file in sequence order.
std::vector<std::int64_t> numbersIn(const fs::path& dir, const std::string& prefix) {
  std::vector<std::int64_t> numbers;
  for (const auto& name : names(dir)) {
    if (name.rfind(prefix, 0) != 0) continue;
    std::istringstream lines(readAll(dir / name));
    for (std::string line; std::getline(lines, line);)
      numbers.push_back(Value::parseJson(line)["n"].asInt());
  }
  return numbers;
}

std::vector<Value> records(int count) {
  std::vector<Value> all;
  for (int n = 0; n < count; ++n) {
    Value v = Value::object();
    v["n"] = n;
    v["text"] = "record number " + std::to_string(n);
    all.push_back(v);
  }
  return all;
}

std::vector<std::int64_t> upTo(int count) {
  std::vector<std::int64_t> all;
  for (int n = 0; n < count; ++n) all.push_back(n);
  return all;
}

}  // namespace

TEST_CASE("rolling by size gives several files with every record once and in order",
          "[file][rolling]") {
  TempDir dir;
  ExecutionContext ctx("rolling-size");
  writeRollingJsonLines(ctx.fromCollection(records(1000)),
                        RollingFileOptions{.directory = dir.path.string(), .max_bytes = 2'000})
      .parallelism(1);
  ctx.execute();
  auto files = names(dir.path);
  REQUIRE(files.size() > 10);
  for (const auto& name : files) {
    REQUIRE(name.rfind("part-0-", 0) == 0);  // no in-progress file is left
    REQUIRE(name.size() == std::string("part-0-000000.jsonl").size());
    REQUIRE(fs::file_size(dir.path / name) <= 2'000);
  }
  REQUIRE(files.front() == "part-0-000000.jsonl");
  REQUIRE(numbersIn(dir.path, "part-0-") == upTo(1000));
}

TEST_CASE("a file older than roll_interval is rolled at the next write", "[file][rolling]") {
  TempDir dir;
  detail::RollingFileWriter writer(
      RollingFileOptions{.directory = dir.path.string(), .roll_interval = Duration(1)}, 0);
  writer.writeLine("{\"n\":0}\n");
  writer.writeLine("{\"n\":1}\n");
  std::this_thread::sleep_for(std::chrono::milliseconds(20));  // > roll_interval
  writer.writeLine("{\"n\":2}\n");
  // The rolled part is pending: hidden until a checkpoint after it completes, or the end.
  REQUIRE(names(dir.path) == std::vector<std::string>{".part-0-000000.jsonl.inprogress",
                                                      ".part-0-000001.jsonl.inprogress"});
  REQUIRE(readAll(dir.path / ".part-0-000000.jsonl.inprogress") == "{\"n\":0}\n{\"n\":1}\n");
  writer.finish();
  REQUIRE(names(dir.path) ==
          std::vector<std::string>{"part-0-000000.jsonl", "part-0-000001.jsonl"});
  REQUIRE(numbersIn(dir.path, "part-") == upTo(3));
  REQUIRE(writer.committedFiles().size() == 2);
}

TEST_CASE("a checkpoint flush keeps the file in progress and roll_on_checkpoint rolls it",
          "[file][rolling]") {
  TempDir dir;
  {
    detail::RollingFileWriter writer(RollingFileOptions{.directory = dir.path.string()}, 0);
    writer.writeLine("{\"n\":0}\n");
    writer.flush();
    REQUIRE(names(dir.path) == std::vector<std::string>{".part-0-000000.jsonl.inprogress"});
    REQUIRE(readAll(dir.path / ".part-0-000000.jsonl.inprogress") == "{\"n\":0}\n");
    writer.finish();
  }
  TempDir other;
  detail::RollingFileWriter writer(
      RollingFileOptions{.directory = other.path.string(), .roll_on_checkpoint = true}, 0);
  writer.writeLine("{\"n\":0}\n");
  writer.flush();
  writer.snapshot(1);
  writer.writeLine("{\"n\":1}\n");
  writer.flush();
  writer.snapshot(2);
  writer.commit(2);
  REQUIRE(names(other.path) ==
          std::vector<std::string>{"part-0-000000.jsonl", "part-0-000001.jsonl"});
}

TEST_CASE("a fresh start leaves hidden files of an earlier run alone and continues after them",
          "[file][rolling]") {
  TempDir dir;
  std::ofstream(dir.path / "part-0-000000.jsonl") << "{\"n\":0}\n";
  std::ofstream(dir.path / ".part-0-000001.jsonl.inprogress") << "{\"n\":1}\n{\"n\"";
  std::ofstream(dir.path / "part-1-000007.jsonl") << "{\"n\":100}\n";  // another subtask
  detail::RollingFileWriter writer(RollingFileOptions{.directory = dir.path.string()}, 0);
  writer.writeLine("{\"n\":3}\n");
  writer.finish();
  REQUIRE(names(dir.path) == std::vector<std::string>{".part-0-000001.jsonl.inprogress",
                                                      "part-0-000000.jsonl", "part-0-000002.jsonl",
                                                      "part-1-000007.jsonl"});
  REQUIRE(readAll(dir.path / ".part-0-000001.jsonl.inprogress") == "{\"n\":1}\n{\"n\"");
  REQUIRE(readAll(dir.path / "part-0-000002.jsonl") == "{\"n\":3}\n");
}

TEST_CASE("parallel subtasks write separate file series", "[file][rolling]") {
  TempDir dir;
  ExecutionContext ctx("rolling-parallel");
  writeRollingJsonLines(
      ctx.fromCollection(records(3000)),
      RollingFileOptions{.directory = dir.path.string(), .prefix = "events", .max_bytes = 4'000})
      .parallelism(3);
  ctx.execute();
  std::vector<std::int64_t> all;
  for (int subtask = 0; subtask < 3; ++subtask) {
    auto numbers = numbersIn(dir.path, "events-" + std::to_string(subtask) + "-");
    REQUIRE(std::is_sorted(numbers.begin(), numbers.end()));  // in order within a subtask
    all.insert(all.end(), numbers.begin(), numbers.end());
  }
  std::sort(all.begin(), all.end());
  REQUIRE(all == upTo(3000));
  for (const auto& name : names(dir.path)) REQUIRE(name.rfind("events-", 0) == 0);
}

namespace {

// Emits records slowly while watching the directory: remembers the content of every file the
// moment it first appears under a final name.
class WatchingSource final : public Source<Value> {
 public:
  using Seen = std::map<std::string, std::string>;
  WatchingSource(fs::path dir, std::shared_ptr<Seen> seen) : dir_(std::move(dir)), seen_(seen) {}
  SourceStatus poll(SourceOutput<Value>& out) override {
    for (const auto& name : names(dir_))
      if (name[0] != '.' && !seen_->count(name)) (*seen_)[name] = readAll(dir_ / name);
    if (next_ == 2000) return SourceStatus::Finished;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));  // a few checkpoints per file
    for (int i = 0; i < 20; ++i) out.collect(Value(next_++), 0);
    return SourceStatus::HaveMoreOutput;
  }

 private:
  fs::path dir_;
  std::shared_ptr<Seen> seen_;
  int next_ = 0;
};

}  // namespace

TEST_CASE("a file under its final name is complete and never changes", "[file][rolling]") {
  TempDir dir, checkpoints;
  auto seen = std::make_shared<WatchingSource::Seen>();
  ExecutionContext ctx("rolling-atomic");
  auto input = ctx.fromSource<Value>(
                      [&dir, seen] { return std::make_unique<WatchingSource>(dir.path, seen); },
                      "watching", SourceOptions{.single = true})
                   .map([](const Value& n) {
                     Value v = Value::object();
                     v["n"] = n;
                     return v;
                   });
  writeRollingJsonLines(input, RollingFileOptions{.directory = dir.path.string(), .max_bytes = 500})
      .parallelism(1);
  // With checkpoints, rolled files are committed when a checkpoint completes; without, as soon
  // as they roll. Either way they appear while the job runs.
  const bool with_checkpoints = GENERATE(true, false);
  INFO("with checkpoints: " << with_checkpoints);
  ExecutionOptions options;
  if (with_checkpoints) {
    options.checkpoints.directory = checkpoints.path.string();
    options.checkpoints.interval = Duration(10);
  }
  ctx.execute(options);
  REQUIRE(numbersIn(dir.path, "part-0-") == upTo(2000));
  REQUIRE_FALSE(seen->empty());  // the watcher saw files appear while the job ran
  for (const auto& [name, content] : *seen) {
    INFO(name);
    REQUIRE(content == readAll(dir.path / name));
    REQUIRE(content.back() == '\n');
  }
}
