// Checkpoints on disk: checksums, the store (retention, fallback to an intact checkpoint),
// periodic checkpoints of a running job, strict restore, and the file sink's exactly-once
// restore.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <numeric>
#include <set>
#include <thread>

#include "lightflus/lightflus.hpp"

using namespace lightflus;
namespace fs = std::filesystem;

namespace {

struct TempDir {
  TempDir() {
    char tmpl[] = "/tmp/lightflus-checkpoint-XXXXXX";
    if (mkdtemp(tmpl) == nullptr) throw std::runtime_error("mkdtemp failed");
    path = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  std::string path;
};

Snapshot sampleSnapshot(std::uint64_t id) {
  Snapshot s;
  s.checkpoint_id = id;
  s.job_name = "sample";
  s.operators["a"] = {"count", "reduce", 2, {"state of subtask 0", std::string(300, 'x')}};
  s.operators["b"] = {"sink", "sink", 1, {"offset 42"}};
  s.operators["c"] = {"source", "source", 1, {""}};
  return s;
}

std::string readBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}
void writeBytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

using KV = std::pair<int, std::int64_t>;
constexpr std::uint64_t kCount = 40'000;

// A rate-limited generator -> keyed rolling sum -> collect, with fixed uids.
CollectResult<KV> buildSumJob(ExecutionContext& ctx, const std::string& sum_uid = "sum") {
  return ctx
      .generate(
          [](std::uint64_t i) {
            return KV{static_cast<int>(i % 7), 1};
          },
          GeneratorOptions{.count = kCount, .rate = 100'000})
      .parallelism(1)
      .uid("numbers")
      .keyBy([](const KV& kv) { return kv.first; })
      .reduce([](const KV& a, const KV& b) {
        return KV{a.first, a.second + b.second};
      })
      .uid(sum_uid)
      .collect("sums");
}

// The final count per key: the largest rolling sum seen for it.
std::map<int, std::int64_t> finalCounts(const CollectResult<KV>& sums) {
  std::map<int, std::int64_t> last;
  for (const auto& [k, v] : sums.values()) last[k] = std::max(last[k], v);
  return last;
}

template <class F>
bool eventually(F done) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

}  // namespace

TEST_CASE("crc32c matches the standard check value", "[checkpoint]") {
  CHECK(crc32c("123456789") == 0xE3069283u);
  CHECK(crc32c("") == 0u);
  // Incremental equals whole.
  CHECK(crc32c("6789", crc32c("12345")) == 0xE3069283u);
}

TEST_CASE("a flipped bit anywhere in a checkpoint is refused, naming the section", "[checkpoint]") {
  std::string bytes = sampleSnapshot(7).serialize();
  REQUIRE(Snapshot::deserialize(bytes).operators.size() == 3);
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    for (int bit : {0, 7}) {
      std::string damaged = bytes;
      damaged[i] = static_cast<char>(damaged[i] ^ (1 << bit));
      INFO("byte " << i << " bit " << bit);
      CHECK_THROWS_AS(Snapshot::deserialize(damaged), InputError);
    }
  }
  CHECK_THROWS_WITH(Snapshot::deserialize(bytes.substr(0, bytes.size() - 1)),
                    Catch::Contains("truncated"));
  std::string damaged = bytes;
  damaged[bytes.size() - 20] ^= 1;  // inside the last operator's section
  CHECK_THROWS_WITH(Snapshot::deserialize(damaged),
                    Catch::Contains("operator 3 of 3") && Catch::Contains("checksum mismatch"));
}

TEST_CASE("the store keeps the newest checkpoints and falls back past damaged ones",
          "[checkpoint]") {
  TempDir dir;
  CheckpointStore store(dir.path + "/ck", 2);
  CHECK_FALSE(store.latest().snapshot);
  for (std::uint64_t id : {1, 2, 3}) store.write(sampleSnapshot(id));
  auto files = store.list();
  REQUIRE(files.size() == 2);  // retain 2
  CHECK(files[0] == store.pathOf(3));
  CHECK(store.latest().snapshot->checkpoint_id == 3);

  // Damage the newest: the store reports it and returns the one before.
  std::string bytes = readBytes(files[0]);
  bytes[bytes.size() / 2] ^= 0x10;
  writeBytes(files[0], bytes);
  auto found = store.latest();
  REQUIRE(found.snapshot);
  CHECK(found.snapshot->checkpoint_id == 2);
  REQUIRE(found.rejected.size() == 1);
  CHECK_THAT(found.rejected[0], Catch::Contains("chk-00000000000000000003"));

  // Truncate the other too: nothing intact is left, and loadCheckpoint says why.
  writeBytes(files[1], readBytes(files[1]).substr(0, 30));
  CHECK_FALSE(store.latest().snapshot);
  CHECK_THROWS_WITH(loadCheckpoint(dir.path + "/ck"),
                    Catch::Contains("no intact checkpoint") && Catch::Contains("truncated"));
}

TEST_CASE("periodic checkpoints let a cancelled job resume with exactly its results",
          "[checkpoint]") {
  TempDir dir;
  std::string ck = dir.path + "/ck";

  ExecutionContext first_ctx("sums");
  auto first = buildSumJob(first_ctx);
  ExecutionOptions options;
  options.checkpoints = {.directory = ck, .interval = Duration(30)};
  auto handle = first_ctx.start(options);
  // Wait for a few checkpoints, then "crash" (cancel: nothing more is written).
  REQUIRE(eventually([&] { return handle.checkpointStats().completed >= 3; }));
  handle.cancel();
  handle.wait();
  auto stats = handle.checkpointStats();
  CHECK(stats.failed == 0);
  CHECK(stats.last_size_bytes > 0);

  auto found = CheckpointStore(ck).latest();
  REQUIRE(found.snapshot);
  CHECK(found.snapshot->checkpoint_id == stats.last_id);

  ExecutionContext second_ctx("sums");
  auto second = buildSumJob(second_ctx);
  ExecutionOptions resume;
  resume.restore = found.snapshot;
  resume.restore_source = found.path;
  resume.checkpoints = {.directory = ck, .interval = Duration(30)};
  auto second_handle = second_ctx.start(resume);
  second_handle.wait();
  // Checkpoint ids went on from the restored one, and the finished job removed its files.
  CHECK(second_handle.checkpointStats().restored_id == found.snapshot->checkpoint_id);
  if (second_handle.checkpointStats().completed > 0)
    CHECK(second_handle.checkpointStats().last_id > found.snapshot->checkpoint_id);
  CHECK(CheckpointStore(ck).list().empty());

  // Each key saw kCount / 7 elements once: nothing lost, nothing counted twice.
  for (const auto& [key, count] : finalCounts(second)) {
    INFO("key " << key);
    CHECK(count == static_cast<std::int64_t>(
                       kCount / 7 + (static_cast<std::uint64_t>(key) < kCount % 7 ? 1 : 0)));
  }
}

TEST_CASE("state of an operator the job no longer has fails the restore unless allowed",
          "[checkpoint]") {
  ExecutionContext first_ctx("renamed");
  buildSumJob(first_ctx, "sum");
  auto handle = first_ctx.start();
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  auto snapshot = std::make_shared<Snapshot>(handle.triggerCheckpoint());
  handle.cancel();
  handle.wait();

  ExecutionContext second_ctx("renamed");
  buildSumJob(second_ctx, "sum-v2");
  ExecutionOptions options;
  options.restore = snapshot;
  options.restore_source = "ck/chk-1";
  CHECK_THROWS_WITH(second_ctx.start(options), Catch::Contains("'sum'") &&
                                                   Catch::Contains("ck/chk-1") &&
                                                   Catch::Contains("--allow-non-restored-state"));

  ExecutionContext third_ctx("renamed");
  auto sums = buildSumJob(third_ctx, "sum-v2");
  options.allow_non_restored_state = true;
  third_ctx.execute(options);
  CHECK(sums.size() > 0);
}

TEST_CASE("the JSON-lines file sink cuts back to its checkpointed length on restore",
          "[checkpoint]") {
  TempDir dir;
  std::string out = dir.path + "/out.jsonl";
  auto build = [&](ExecutionContext& ctx) {
    auto numbers = ctx.generate([](std::uint64_t i) { return Value(static_cast<std::int64_t>(i)); },
                                GeneratorOptions{.count = 20'000, .rate = 100'000})
                       .parallelism(1)
                       .uid("numbers");
    writeJsonLines(numbers, out).uid("file");
  };
  ExecutionContext first_ctx("file-job");
  build(first_ctx);
  auto handle = first_ctx.start();
  std::this_thread::sleep_for(std::chrono::milliseconds(40));
  auto snapshot = std::make_shared<Snapshot>(handle.takeCheckpoint());
  std::this_thread::sleep_for(std::chrono::milliseconds(40));  // lines after the checkpoint
  handle.cancel();
  handle.wait();

  ExecutionContext second_ctx("file-job");
  build(second_ctx);
  ExecutionOptions options;
  options.restore = snapshot;
  second_ctx.execute(options);

  std::ifstream in(out);
  std::string line;
  std::int64_t expected = 0;
  while (std::getline(in, line)) {
    REQUIRE(line == std::to_string(expected));
    ++expected;
  }
  CHECK(expected == 20'000);

  // The same state given to a sink that writes another file (uids shifted when operators were
  // added or removed): refused, and the other file keeps every byte.
  std::string other = dir.path + "/other.jsonl";
  {
    std::ofstream o(other);
    o << "kept\n";
  }
  ExecutionContext third_ctx("file-job");
  auto numbers = third_ctx
                     .generate([](std::uint64_t i) { return Value(static_cast<std::int64_t>(i)); },
                               GeneratorOptions{.count = 10})
                     .parallelism(1)
                     .uid("numbers");
  writeJsonLines(numbers, other).uid("file");
  CHECK_THROWS_WITH(third_ctx.start(options),
                    Catch::Contains("belongs to a file sink that wrote '" + out + "'") &&
                        Catch::Contains("not '" + other + "'"));
  std::ifstream kept(other);
  std::string all((std::istreambuf_iterator<char>(kept)), std::istreambuf_iterator<char>());
  CHECK(all == "kept\n");
}

TEST_CASE("two stateful operators with one uid are refused before the job runs", "[checkpoint]") {
  ExecutionContext ctx("twins");
  auto numbers = ctx.generate([](std::uint64_t i) { return static_cast<std::int64_t>(i % 5); },
                              GeneratorOptions{.count = 100})
                     .uid("numbers");
  auto sum = [](std::int64_t a, std::int64_t b) { return a + b; };
  auto key = [](std::int64_t v) { return v; };
  (void)numbers.keyBy(key).reduce(sum).name("first").uid("same").collect();
  (void)numbers.keyBy(key).reduce(sum).name("second").uid("same").collect();
  CHECK_THROWS_WITH(ctx.execute(), Catch::Contains("'first'") && Catch::Contains("'second'") &&
                                       Catch::Contains("uid 'same'"));
}

namespace {

// What a two-phase-commit sink made visible: committed records, and how they got there.
struct Ledger {
  std::mutex mutex;
  std::vector<std::int64_t> committed;
  std::set<std::uint64_t> committed_epochs;  // checkpoint ids whose records are committed
  int commits_at_notify = 0;
  int commits_at_close = 0;
  int commits_at_restore = 0;

  std::vector<std::int64_t> sorted() {
    std::lock_guard lock(mutex);
    auto out = committed;
    std::sort(out.begin(), out.end());
    return out;
  }
  std::size_t size() {
    std::lock_guard lock(mutex);
    return committed.size();
  }
};

// A sink with Kafka's exactly-once shape, in memory: records of an epoch are held until the
// checkpoint that closed the epoch completes; the snapshot keeps the closed epochs, and a
// restore commits those that did not commit. Parallelism 1 (one ledger of epoch ids).
class LedgerSink final : public Sink<std::int64_t> {
 public:
  explicit LedgerSink(std::shared_ptr<Ledger> ledger) : ledger_(std::move(ledger)) {}
  void write(Batch<std::int64_t>& batch) override {
    for (const auto& e : batch) open_.push_back(e.value);
  }
  void snapshot(StateWriter& w) override {
    closed_[w.checkpointId()] = std::move(open_);
    open_.clear();
    w.write(closed_);
  }
  void restore(const std::vector<std::string>& previous) override {
    for (const auto& bytes : previous) {
      StateReader r(bytes);
      auto epochs = r.read<std::map<std::uint64_t, std::vector<std::int64_t>>>();
      std::lock_guard lock(ledger_->mutex);
      for (auto& [id, records] : epochs)
        if (ledger_->committed_epochs.insert(id).second) {
          ledger_->committed.insert(ledger_->committed.end(), records.begin(), records.end());
          ++ledger_->commits_at_restore;
        }
    }
  }
  void notifyCheckpointComplete(std::uint64_t id) override {
    std::lock_guard lock(ledger_->mutex);
    for (auto it = closed_.begin(); it != closed_.end() && it->first <= id;) {
      if (ledger_->committed_epochs.insert(it->first).second) {
        ledger_->committed.insert(ledger_->committed.end(), it->second.begin(), it->second.end());
        ++ledger_->commits_at_notify;
      }
      it = closed_.erase(it);
    }
  }
  void close() override {
    std::lock_guard lock(ledger_->mutex);
    bool any = !open_.empty();
    for (auto& [id, records] : closed_) {
      any = true;
      if (ledger_->committed_epochs.insert(id).second)
        ledger_->committed.insert(ledger_->committed.end(), records.begin(), records.end());
    }
    ledger_->committed.insert(ledger_->committed.end(), open_.begin(), open_.end());
    if (any) ++ledger_->commits_at_close;
    closed_.clear();
    open_.clear();
  }

 private:
  std::shared_ptr<Ledger> ledger_;
  std::vector<std::int64_t> open_;
  std::map<std::uint64_t, std::vector<std::int64_t>> closed_;
};

void ledgerJob(ExecutionContext& ctx, std::shared_ptr<Ledger> ledger, GeneratorOptions generator,
               int source_parallelism = 1) {
  ctx.generate([](std::uint64_t i) { return static_cast<std::int64_t>(i); }, generator)
      .parallelism(source_parallelism)
      .uid("numbers")
      .map([](std::int64_t v) { return v; })
      .sink([ledger] { return std::make_unique<LedgerSink>(ledger); }, "ledger")
      .parallelism(1)
      .uid("ledger");
}

std::vector<std::int64_t> iota(std::int64_t n) {
  std::vector<std::int64_t> v(static_cast<std::size_t>(n));
  std::iota(v.begin(), v.end(), 0);
  return v;
}

}  // namespace

TEST_CASE("a bounded job's last records commit at a final checkpoint, before operators close",
          "[checkpoint]") {
  TempDir dir;
  const std::string ck = dir.path + "/ck";
  auto ledger = std::make_shared<Ledger>();
  ExecutionContext ctx("bounded");
  ledgerJob(ctx, ledger, {.count = 5000}, 2);
  ExecutionOptions options;
  // Periodic checkpoints far apart: the final one is what commits.
  options.checkpoints = {.directory = ck, .interval = Duration(60'000)};
  options.checkpoints.keep_final_checkpoint = true;
  auto handle = ctx.start(options);
  handle.wait();
  CHECK(ledger->sorted() == iota(5000));
  CHECK(ledger->commits_at_notify == 1);
  CHECK(ledger->commits_at_close == 0);  // nothing was left for close()
  auto stats = handle.checkpointStats();
  CHECK(stats.completed == 1);
  CHECK(stats.failed == 0);

  // Kept for a supervisor: the final checkpoint, flagged.
  auto found = CheckpointStore(ck).latest();
  REQUIRE(found.snapshot);
  CHECK(found.snapshot->final);
  CHECK(found.snapshot->checkpoint_id == stats.last_id);
  CHECK(Snapshot::deserialize(found.snapshot->serialize()).final);

  // A crash after the commit, before the finish was recorded: the restart restores the final
  // checkpoint, reads nothing and writes nothing twice.
  ExecutionContext again("bounded");
  ledgerJob(again, ledger, {.count = 5000}, 2);
  ExecutionOptions resume;
  resume.restore = found.snapshot;
  resume.checkpoints = {.directory = ck, .interval = Duration(60'000)};
  auto second = again.start(resume);
  second.wait();
  CHECK(second.status() == JobStatus::Finished);
  CHECK(ledger->sorted() == iota(5000));
  CHECK(ledger->commits_at_restore == 0);
  // Without keep_final_checkpoint a finished job leaves nothing.
  CHECK(CheckpointStore(ck).list().empty());
}

TEST_CASE("periodic checkpoints go on after one input of the job has ended", "[checkpoint]") {
  TempDir dir;
  const std::string ck = dir.path + "/ck";
  auto ledger = std::make_shared<Ledger>();
  auto build = [&](ExecutionContext& ctx) {
    auto bounded = ctx.generate([](std::uint64_t i) { return -1 - static_cast<std::int64_t>(i); },
                                GeneratorOptions{.count = 100}, "bounded")
                       .uid("bounded");
    ctx.generate([](std::uint64_t i) { return static_cast<std::int64_t>(i); },
                 GeneratorOptions{.rate = 2000}, "endless")
        .uid("endless")
        .unionWith(bounded)
        .sink([ledger] { return std::make_unique<LedgerSink>(ledger); }, "ledger")
        .parallelism(1)
        .uid("ledger");
  };
  ExecutionContext ctx("mixed");
  build(ctx);
  ExecutionOptions options;
  options.parallelism = 1;
  options.checkpoints = {.directory = ck, .interval = Duration(20)};
  auto handle = ctx.start(options);
  auto bounded_seen = [&] {
    auto all = ledger->sorted();
    return std::count_if(all.begin(), all.end(), [](std::int64_t v) { return v < 0; });
  };
  // The bounded input's records commit at checkpoints taken after it ended.
  REQUIRE(eventually([&] { return bounded_seen() == 100; }));
  auto completed = handle.checkpointStats().completed;
  INFO("last error: " << handle.checkpointStats().last_error);
  REQUIRE(eventually([&] { return handle.checkpointStats().completed >= completed + 3; }));
  CHECK(handle.checkpointStats().failed == 0);
  handle.cancel();
  handle.wait();

  // Restored: the ended input stays ended (nothing of it twice), the other goes on.
  auto found = CheckpointStore(ck).latest();
  REQUIRE(found.snapshot);
  CHECK_FALSE(found.snapshot->final);
  ExecutionContext again("mixed");
  build(again);
  ExecutionOptions resume = options;
  resume.restore = found.snapshot;
  auto second = again.start(resume);
  auto before = ledger->size();
  REQUIRE(eventually([&] { return ledger->size() > before + 50; }));
  second.cancel();
  second.wait();
  CHECK(bounded_seen() == 100);
  auto all = ledger->sorted();
  CHECK(std::adjacent_find(all.begin(), all.end()) == all.end());  // nothing twice
}

TEST_CASE("stop with savepoint: commits end at the savepoint, the restored job goes on exactly",
          "[checkpoint]") {
  TempDir dir;
  const std::string ck = dir.path + "/ck";
  const std::string savepoint = dir.path + "/sp.lfsnap";
  constexpr std::int64_t kTotal = 30'000;
  auto ledger = std::make_shared<Ledger>();
  ExecutionContext ctx("stopping");
  ledgerJob(ctx, ledger, {.count = kTotal, .rate = 40'000}, 2);
  ExecutionOptions options;
  options.checkpoints = {.directory = ck, .interval = Duration(20)};
  auto handle = ctx.start(options);
  REQUIRE(eventually([&] { return ledger->size() > 2000; }));
  std::uint64_t id = handle.stopWithSavepoint(savepoint);
  CHECK(handle.status() == JobStatus::Cancelled);
  const auto at_stop = ledger->sorted();
  CHECK(at_stop.size() < static_cast<std::size_t>(kTotal));
  // The savepoint is also the job's newest checkpoint (a crash before the stop was recorded
  // resumes from it, not from an older one whose records are committed already).
  auto newest = CheckpointStore(ck).latest();
  REQUIRE(newest.snapshot);
  CHECK(newest.snapshot->checkpoint_id == id);
  // Every record read before the savepoint is committed (the savepoint's epoch included), and
  // none after: each subtask of the source stopped exactly at its barrier.
  auto restored = std::make_shared<const Snapshot>(Snapshot::readFrom(savepoint));
  CHECK(restored->checkpoint_id == id);
  const auto& ledger_state = restored->operators.at("ledger").subtasks.at(0);
  StateReader r(ledger_state);
  CHECK(r.read<std::map<std::uint64_t, std::vector<std::int64_t>>>().count(id) == 1);

  ExecutionContext again("stopping");
  ledgerJob(again, ledger, {.count = kTotal, .rate = 0}, 2);
  ExecutionOptions resume;
  resume.restore = restored;
  auto second = again.start(resume);
  second.wait();
  CHECK(ledger->sorted() == iota(kTotal));  // every record exactly once
}

TEST_CASE("a suspending savepoint that fails lets the sources read on", "[checkpoint]") {
  auto ledger = std::make_shared<Ledger>();
  ExecutionContext ctx("unwritable");
  ledgerJob(ctx, ledger, {.rate = 20'000}, 1);
  auto handle = ctx.start();
  REQUIRE(eventually([&] { return handle.metrics().front().records_out > 100; }));
  CHECK_THROWS_AS(handle.suspendWithSavepoint("/nonexistent-dir/sp.lfsnap"), Error);
  auto out = handle.metrics().front().records_out;
  REQUIRE(eventually([&] { return handle.metrics().front().records_out > out + 100; }));
  handle.cancel();
  handle.wait();
}
