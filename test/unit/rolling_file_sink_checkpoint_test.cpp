// The rolling JSON-lines sink with checkpoints (exactly-once, docs/files.md): rolled parts stay
// hidden until the checkpoint after their roll completes; a restore cuts the in-progress part
// back to its checkpointed length, commits the parts the checkpoint holds (again, if a
// completed checkpoint committed them already) and removes the parts written after it; a
// cancel commits nothing. The job-level tests crash a job at parallelism 2 after a checkpoint
// and restore it (test/support/crash_restore.hpp). Expected records come from plain loops.
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "../support/crash_restore.hpp"
#include "lightflus/connectors/file.hpp"
#include "lightflus/lightflus.hpp"

using namespace lightflus;
namespace fs = std::filesystem;

namespace {

struct TempDir {
  fs::path path;
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "lightflus-rolling-ck-XXXXXX").string();
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

std::vector<std::string> names(const fs::path& dir) {
  std::vector<std::string> all;
  for (const auto& e : fs::directory_iterator(dir)) all.push_back(e.path().filename().string());
  std::sort(all.begin(), all.end());
  return all;
}

std::vector<std::string> hidden(const fs::path& dir) {
  auto all = names(dir);
  all.erase(std::remove_if(all.begin(), all.end(), [](const auto& n) { return n[0] != '.'; }),
            all.end());
  return all;
}

// The visible files' lines, file by file in name (= sequence) order.
std::vector<std::string> visibleLines(const fs::path& dir) {
  std::vector<std::string> lines;
  for (const auto& name : names(dir)) {
    if (name[0] == '.') continue;
    std::istringstream in(readAll(dir / name));
    for (std::string line; std::getline(in, line);) lines.push_back(line);
  }
  return lines;
}

std::string line(int n) {
  return "{\"n\":" + std::to_string(n) + "}\n";
}

// "{"n":0}" ... for n in [from, to).
std::vector<std::string> expectedLines(int from, int to) {
  std::vector<std::string> all;
  for (int n = from; n < to; ++n) all.push_back("{\"n\":" + std::to_string(n) + "}");
  return all;
}

// Through the bytes of a checkpoint and back, as a restore reads it.
detail::RollingFileState throughBytes(const detail::RollingFileState& state) {
  std::string bytes;
  StateWriter w(bytes, 7);
  state.write(w);
  return detail::RollingFileState::read(bytes);
}

// Every line of "{n}" is 8 bytes: two lines per part.
RollingFileOptions twoLinesPerPart(const TempDir& dir) {
  return RollingFileOptions{.directory = dir.path.string(), .max_bytes = 16};
}

}  // namespace

TEST_CASE("a rolled part becomes visible when the checkpoint after its roll completes",
          "[file][rolling][checkpoint]") {
  TempDir dir;
  detail::RollingFileWriter writer(twoLinesPerPart(dir), 0);
  for (int n = 0; n < 4; ++n) writer.writeLine(line(n));  // part 0 rolled, part 1 in progress
  writer.flush();
  auto state = writer.snapshot(1);
  REQUIRE(state.in_progress == "part-0-000001.jsonl");
  REQUIRE(state.in_progress_bytes == 16);
  REQUIRE(state.pending.size() == 1);
  REQUIRE(state.pending[0].checkpoint_id == 1);
  REQUIRE(state.pending[0].name == "part-0-000000.jsonl");
  for (int n = 4; n < 6; ++n) writer.writeLine(line(n));  // part 1 rolled after checkpoint 1
  REQUIRE(visibleLines(dir.path).empty());

  writer.commit(1);
  REQUIRE(visibleLines(dir.path) == expectedLines(0, 2));
  REQUIRE(hidden(dir.path) == std::vector<std::string>{".part-0-000001.jsonl.inprogress",
                                                       ".part-0-000002.jsonl.inprogress"});
  writer.commit(1);  // a repeated notification changes nothing
  REQUIRE(visibleLines(dir.path) == expectedLines(0, 2));

  writer.flush();
  writer.snapshot(2);
  writer.commit(2);
  REQUIRE(visibleLines(dir.path) == expectedLines(0, 4));
  REQUIRE(hidden(dir.path) == std::vector<std::string>{".part-0-000002.jsonl.inprogress"});
  writer.finish();  // the end of the input commits the rest
  REQUIRE(visibleLines(dir.path) == expectedLines(0, 6));
  REQUIRE(hidden(dir.path).empty());
}

TEST_CASE(
    "a restore cuts the in-progress part back, commits the checkpoint's parts and removes the "
    "parts written after it",
    "[file][rolling][checkpoint]") {
  TempDir dir;
  detail::RollingFileState state;
  {
    detail::RollingFileWriter crashed(twoLinesPerPart(dir), 0);
    for (int n = 0; n < 3; ++n) crashed.writeLine(line(n));
    crashed.flush();
    state = throughBytes(crashed.snapshot(1));
    for (int n = 3; n < 7; ++n) crashed.writeLine(line(n));  // rolls parts 1 and 2
    crashed.flush();
  }  // a crash before checkpoint 1 was notified: nothing committed
  REQUIRE(visibleLines(dir.path).empty());
  REQUIRE(hidden(dir.path).size() == 4);

  detail::RollingFileWriter restored(twoLinesPerPart(dir), 0);
  restored.restore({state}, 1);
  // Part 0 was pending in the checkpoint, part 1 held one line at it.
  REQUIRE(names(dir.path) ==
          std::vector<std::string>{"part-0-000000.jsonl", "part-0-000001.jsonl"});
  REQUIRE(readAll(dir.path / "part-0-000001.jsonl") == line(2));
  for (int n = 3; n < 7; ++n) restored.writeLine(line(n));
  restored.finish();
  REQUIRE(visibleLines(dir.path) == expectedLines(0, 7));
  REQUIRE(hidden(dir.path).empty());
  // Numbers of removed parts are not reused.
  REQUIRE(names(dir.path).back() == "part-0-000005.jsonl");
}

TEST_CASE("restoring the same checkpoint again keeps what it committed and drops the rest",
          "[file][rolling][checkpoint]") {
  TempDir dir;
  detail::RollingFileState state;
  {
    detail::RollingFileWriter first(twoLinesPerPart(dir), 0);
    for (int n = 0; n < 3; ++n) first.writeLine(line(n));
    first.flush();
    state = throughBytes(first.snapshot(1));
    first.commit(1);  // the checkpoint completed before the crash
    first.writeLine(line(3));
    first.flush();
  }
  {
    detail::RollingFileWriter second(twoLinesPerPart(dir), 0);
    second.restore({state}, 1);
    for (int n = 3; n < 6; ++n) second.writeLine(line(n));
    second.flush();
  }  // crashed again before its first checkpoint
  REQUIRE(visibleLines(dir.path) == expectedLines(0, 3));

  detail::RollingFileWriter third(twoLinesPerPart(dir), 0);
  third.restore({state}, 1);
  REQUIRE(visibleLines(dir.path) == expectedLines(0, 3));
  REQUIRE(hidden(dir.path).empty());
  for (int n = 3; n < 6; ++n) third.writeLine(line(n));
  third.finish();
  REQUIRE(visibleLines(dir.path) == expectedLines(0, 6));
}

TEST_CASE(
    "a restored subtask removes the hidden files of the series it restores, even with no state",
    "[file][rolling][checkpoint]") {
  TempDir dir;
  // Left by a run at parallelism 4 that crashed before its first checkpoint.
  for (int series = 0; series < 4; ++series)
    std::ofstream(dir.path / (".part-" + std::to_string(series) + "-000000.jsonl.inprogress"))
        << line(series);
  std::ofstream(dir.path / ".other-1-000000.jsonl.inprogress") << line(9);  // another prefix
  detail::RollingFileWriter writer(twoLinesPerPart(dir), 1);
  writer.restore({}, 2);  // restored at parallelism 2 from a checkpoint without subtask 1
  REQUIRE(hidden(dir.path) == std::vector<std::string>{".other-1-000000.jsonl.inprogress",
                                                       ".part-0-000000.jsonl.inprogress",
                                                       ".part-2-000000.jsonl.inprogress"});
  writer.writeLine(line(5));
  writer.finish();
  REQUIRE(readAll(dir.path / "part-1-000001.jsonl") == line(5));  // numbered after the removed
}

TEST_CASE("a restore after the input ended and everything was committed changes nothing",
          "[file][rolling][checkpoint]") {
  TempDir dir;
  detail::RollingFileState state;
  {
    detail::RollingFileWriter writer(twoLinesPerPart(dir), 0);
    for (int n = 0; n < 3; ++n) writer.writeLine(line(n));
    writer.flush();
    state = writer.snapshot(1);  // the final checkpoint, then close()
    writer.commit(1);
    writer.finish();
    writer.finish();  // harmless twice
  }
  auto before = names(dir.path);
  detail::RollingFileWriter again(twoLinesPerPart(dir), 0);
  again.restore({state}, 1);
  again.finish();
  REQUIRE(names(dir.path) == before);
  REQUIRE(visibleLines(dir.path) == expectedLines(0, 3));
}

TEST_CASE("a restore fails when a part the checkpoint holds is gone or shorter",
          "[file][rolling][checkpoint]") {
  TempDir dir;
  detail::RollingFileState state;
  {
    detail::RollingFileWriter writer(twoLinesPerPart(dir), 0);
    for (int n = 0; n < 3; ++n) writer.writeLine(line(n));
    writer.flush();
    state = writer.snapshot(1);
  }
  std::ofstream(dir.path / ".part-0-000001.jsonl.inprogress", std::ios::trunc) << "{\"n\"";
  detail::RollingFileWriter shorter(twoLinesPerPart(dir), 0);
  REQUIRE_THROWS_WITH(shorter.restore({state}, 1),
                      Catch::Contains("is shorter (4 bytes) than at the checkpoint being restored "
                                      "(8 bytes)"));
  fs::remove(dir.path / ".part-0-000001.jsonl.inprogress");
  detail::RollingFileWriter gone(twoLinesPerPart(dir), 0);
  REQUIRE_THROWS_WITH(gone.restore({state}, 1),
                      Catch::Contains("the part 'part-0-000001.jsonl' that the checkpoint holds "
                                      "is missing"));
}

TEST_CASE("a cancelled sink commits nothing and leaves its parts hidden",
          "[file][rolling][checkpoint]") {
  TempDir dir;
  using Sink = RollingFileSink<Value, AppendValueJson>;
  std::string checkpoint;
  {
    Sink sink(twoLinesPerPart(dir), {});
    sink.open(SinkContext{.subtask = 0, .parallelism = 1, .checkpointing = true});
    Batch<Value> batch;
    for (int n = 0; n < 3; ++n) batch.push_back(Element<Value>{Value::parseJson(line(n)), 0});
    sink.write(batch);
    sink.flush();
    StateWriter w(checkpoint, 1);
    sink.snapshot(w);
    sink.cancel();  // the job was stopped before checkpoint 1 completed
    REQUIRE(visibleLines(dir.path).empty());
    REQUIRE(hidden(dir.path).size() == 2);
  }
  // The restore decides: checkpoint 1 is complete, so its parts are committed.
  Sink restored(twoLinesPerPart(dir), {});
  restored.restore({checkpoint});
  restored.open(SinkContext{.subtask = 0, .parallelism = 1, .checkpointing = true});
  restored.close();
  REQUIRE(visibleLines(dir.path) == expectedLines(0, 3));
  REQUIRE(hidden(dir.path).empty());
}

namespace {

using test::KeyCount;

void appendKeyCount(std::string& out, const KeyCount& r) {
  out += "{\"k\":" + std::to_string(r.first) + ",\"c\":" + std::to_string(r.second) + "}";
}

// Lines in every file of the directory, hidden ones included: what the sinks wrote so far.
std::int64_t linesWritten(const fs::path& dir) {
  std::int64_t n = 0;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    std::string data = readAll(e.path());
    n += std::count(data.begin(), data.end(), '\n');
  }
  return n;
}

// Per subtask's file series ("part-<subtask>-"), per key, the counts in the visible files in
// file order.
std::map<int, std::map<std::string, std::vector<std::int64_t>>> visibleCounts(const fs::path& dir) {
  std::map<int, std::map<std::string, std::vector<std::int64_t>>> counts;
  for (const auto& name : names(dir)) {
    if (name[0] == '.') continue;
    int subtask = std::stoi(name.substr(5));  // "part-<subtask>-..."
    std::istringstream in(readAll(dir / name));
    for (std::string text; std::getline(in, text);) {
      Value v = Value::parseJson(text);
      counts[subtask][test::keyName(static_cast<int>(v["k"].asInt()))].push_back(v["c"].asInt());
    }
  }
  return counts;
}

// Every key's counts: each series in order (+1 steps), all series together exactly
// 1..expected. Returns what is wrong.
std::vector<std::string> exactlyOnce(const fs::path& dir,
                                     const std::map<std::string, std::int64_t>& expected) {
  std::vector<std::string> problems;
  std::map<std::string, std::vector<std::int64_t>> all;
  for (const auto& [subtask, keys] : visibleCounts(dir))
    for (const auto& [key, counts] : keys) {
      for (std::size_t i = 1; i < counts.size(); ++i)
        if (counts[i] != counts[i - 1] + 1)
          problems.push_back("series " + std::to_string(subtask) + ", key " + key + ": " +
                             std::to_string(counts[i]) + " after " + std::to_string(counts[i - 1]));
      all[key].insert(all[key].end(), counts.begin(), counts.end());
    }
  for (const auto& [key, final_count] : expected) {
    auto counts = all[key];
    std::sort(counts.begin(), counts.end());
    std::vector<std::int64_t> want;
    for (std::int64_t c = 1; c <= final_count; ++c) want.push_back(c);
    if (counts != want)
      problems.push_back("key " + key + ": " + std::to_string(counts.size()) +
                         " counts instead of exactly 1.." + std::to_string(final_count));
  }
  return problems;
}

void crashAndRestoreRollingFiles(int restored_parallelism) {
  TempDir dir;
  auto build = [&](ExecutionContext& ctx, int run) {
    writeRollingJsonLines(test::runningCounts(ctx),
                          RollingFileOptions{.directory = dir.path.string(), .max_bytes = 4096},
                          appendKeyCount)
        .parallelism(run == 1 ? 2 : restored_parallelism)
        .uid("files");
  };
  std::vector<std::string> at_crash_problems;
  std::size_t hidden_at_crash = 0;
  auto report = test::crashAndRestore(
      "rolling-restore", build, [&] { return linesWritten(dir.path); },
      [&] {
        // Visible: each key's counts up to the checkpoint at most, once and in order.
        for (const auto& [subtask, keys] : visibleCounts(dir.path))
          for (const auto& [key, counts] : keys)
            for (std::size_t i = 0; i < counts.size(); ++i)
              if (counts[i] != static_cast<std::int64_t>(i) + 1)
                at_crash_problems.push_back(key + " out of order at the crash");
        hidden_at_crash = hidden(dir.path).size();
      });
  REQUIRE(report.crashed_mid_input);
  CHECK(at_crash_problems.empty());
  CHECK(hidden_at_crash > 0);  // parts written after the checkpoint, never committed
  INFO("restored from " << report.restored_from);
  for (const auto& problem : exactlyOnce(dir.path, test::expectedCounts())) FAIL_CHECK(problem);
  CHECK(hidden(dir.path).empty());
}

}  // namespace

TEST_CASE(
    "after a crash and a restore from a checkpoint, the visible files of two subtasks hold "
    "every record once and in order",
    "[file][rolling][checkpoint]") {
  crashAndRestoreRollingFiles(2);
}

TEST_CASE(
    "restored at parallelism 1, one subtask takes over both file series and every record is "
    "there once",
    "[file][rolling][checkpoint]") {
  crashAndRestoreRollingFiles(1);
}
