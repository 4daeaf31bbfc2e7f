// The exactly-once Kafka sink across crashes, on a real broker: a job (Kafka -> keyed sequence
// check -> ExactlyOnce sink, sequence_job.hpp) is "crashed" in process by cancelling it at the
// moments that matter, and a new job is restored from its snapshot. A read_committed reader must
// then see every record exactly once, each key's sequence stepping by +1.
//
// takeCheckpoint() without notifyCheckpointComplete() is a checkpoint that became durable
// while the process died before the commit; cancel() ends the job without committing (the
// open transaction stays open, as after kill -9, until a restore fences it).
#include <chrono>
#include <thread>

#include <catch2/catch.hpp>

#include "kafka_broker.hpp"
#include "sequence_job.hpp"
#include "test_helpers.hpp"

using namespace lightflus;
using namespace lightflus::test;

namespace {

constexpr long kRecords = 20'000;
constexpr int kKeys = 50;

KafkaBroker& broker() {
  static KafkaBroker instance;
  return instance;
}

/// Topics and a transactional id of their own for each run of the test case (its sections).
struct Run {
  std::string input, output, transactional_id;
  std::shared_ptr<std::atomic<long>> processed = std::make_shared<std::atomic<long>>(0);

  explicit Run(const std::string& name)
      : input("eo-in-" + name), output("eo-out-" + name), transactional_id("eo-" + name) {
    createTopic(broker().bootstrapServers(), input, 4);
    createTopic(broker().bootstrapServers(), output, 4);
    kcatProduce(broker().bootstrapServers(), input, sequenceInput(0, kRecords, kKeys), -1, true);
  }

  SequenceJobOptions job(bool bounded) const {
    return {.brokers = broker().bootstrapServers(),
            .input = input,
            .output = output,
            .transactional_id = transactional_id,
            .bounded = bounded,
            .processed = processed,
            // The first run reads ~10 records/ms, so the test acts in the middle of the input.
            .pause_every = bounded ? 0 : 10};
  }

  /// Waits until the running job has checked `n` records.
  void waitForProcessed(JobHandle& handle, long n) const {
    bool reached = eventually([&] { return *processed >= n; });
    INFO("job " << toString(handle.status()) << " " << handle.error() << ", processed "
                << *processed);
    REQUIRE(reached);
  }

  std::vector<std::string> readCommitted() const {
    return kcatConsume(broker().bootstrapServers(), output, false,
                       "-X isolation.level=read_committed");
  }

  /// Runs the job restored from `snapshot` (fresh when null) at `parallelism` to the end of
  /// the input, then checks the output.
  void finishAndCheck(const Snapshot* snapshot, int parallelism) const {
    ExecutionContext ctx("eo-restored");
    buildSequenceJob(ctx, job(true));
    ExecutionOptions options{.parallelism = parallelism};
    if (snapshot) options.restore = std::make_shared<const Snapshot>(*snapshot);
    ctx.execute(std::move(options));
    CHECK(checkSequences(readCommitted(), kRecords, kKeys) == "");
  }
};

}  // namespace

TEST_CASE("an exactly-once Kafka job restored after a crash writes every record once",
          "[kafka-broker][integration]") {
  SECTION("crash after the checkpoint is durable, before its transaction commits") {
    Run run("before-commit");
    Snapshot snapshot;
    {
      ExecutionContext ctx("eo-crashing");
      buildSequenceJob(ctx, run.job(false));
      auto handle = ctx.start({.parallelism = 2});
      run.waitForProcessed(handle, kRecords / 4);
      snapshot = handle.takeCheckpoint();
      run.waitForProcessed(handle, kRecords / 2);
      handle.cancel();
      handle.wait();
    }
    CHECK(run.readCommitted().empty());  // nothing committed: the restore must produce it
    run.finishAndCheck(&snapshot, 2);
  }

  SECTION("crash after the transaction committed") {
    Run run("after-commit");
    Snapshot snapshot;
    std::size_t committed = 0;
    {
      ExecutionContext ctx("eo-crashing");
      buildSequenceJob(ctx, run.job(false));
      auto handle = ctx.start({.parallelism = 2});
      run.waitForProcessed(handle, kRecords / 4);
      snapshot = handle.takeCheckpoint();
      handle.notifyCheckpointComplete(snapshot.checkpoint_id);
      // Each subtask commits its own transaction: wait until both have (the count stops
      // growing; no later checkpoint completes, so nothing else can commit).
      REQUIRE(eventually([&] { return (committed = run.readCommitted().size()) > 0; }));
      for (std::size_t again = 0; again != committed;) {
        std::this_thread::sleep_for(std::chrono::milliseconds(500));
        again = committed;
        committed = run.readCommitted().size();
      }
      run.waitForProcessed(handle, kRecords / 2);
      handle.cancel();
      handle.wait();
    }
    CHECK(committed >= kRecords / 4);
    CHECK(run.readCommitted().size() == committed);  // later records were never committed
    run.finishAndCheck(&snapshot, 2);  // the committed epoch must not be written again
  }

  SECTION("crash before any checkpoint") {
    Run run("no-checkpoint");
    {
      ExecutionContext ctx("eo-crashing");
      buildSequenceJob(ctx, run.job(false));
      auto handle = ctx.start({.parallelism = 2});
      run.waitForProcessed(handle, kRecords / 3);
      handle.cancel();
      handle.wait();
    }
    run.finishAndCheck(nullptr, 2);
  }

  SECTION("restore at parallelism 1 from 2: the old subtask 1's epochs and transaction") {
    Run run("two-to-one");
    Snapshot snapshot;
    {
      ExecutionContext ctx("eo-crashing");
      buildSequenceJob(ctx, run.job(false));
      auto handle = ctx.start({.parallelism = 2});
      run.waitForProcessed(handle, kRecords / 5);
      auto first = handle.takeCheckpoint();
      handle.notifyCheckpointComplete(first.checkpoint_id);
      run.waitForProcessed(handle, 2 * kRecords / 5);
      snapshot = handle.takeCheckpoint();  // durable, never committed
      run.waitForProcessed(handle, 3 * kRecords / 5);
      handle.cancel();
      handle.wait();
    }
    run.finishAndCheck(&snapshot, 1);
  }

  SECTION("restore at parallelism 2 from 1") {
    Run run("one-to-two");
    Snapshot snapshot;
    {
      ExecutionContext ctx("eo-crashing");
      buildSequenceJob(ctx, run.job(false));
      auto handle = ctx.start({.parallelism = 1});
      run.waitForProcessed(handle, kRecords / 4);
      snapshot = handle.takeCheckpoint();
      run.waitForProcessed(handle, kRecords / 2);
      handle.cancel();
      handle.wait();
    }
    run.finishAndCheck(&snapshot, 2);
  }

  SECTION("two checkpoints taken before the first completes commit in order") {
    Run run("overlapping");
    Snapshot second;
    {
      ExecutionContext ctx("eo-crashing");
      buildSequenceJob(ctx, run.job(false));
      auto handle = ctx.start({.parallelism = 2});
      run.waitForProcessed(handle, kRecords / 5);
      auto first = handle.takeCheckpoint();
      run.waitForProcessed(handle, 2 * kRecords / 5);
      second = handle.takeCheckpoint();
      handle.notifyCheckpointComplete(first.checkpoint_id);  // commits the first epoch only
      std::size_t committed = 0;
      // Each subtask commits its own transaction: wait until both have (the count stops
      // growing; no later checkpoint completes, so nothing else can commit).
      REQUIRE(eventually([&] { return (committed = run.readCommitted().size()) > 0; }));
      for (std::size_t again = 0; again != committed;) {
        std::this_thread::sleep_for(std::chrono::milliseconds(500));
        again = committed;
        committed = run.readCommitted().size();
      }
      CHECK(committed < static_cast<std::size_t>(*run.processed));
      run.waitForProcessed(handle, 3 * kRecords / 5);
      handle.cancel();
      handle.wait();
    }
    run.finishAndCheck(&second, 2);
  }
}
