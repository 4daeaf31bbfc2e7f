// kafka_exactly_once_job: the job of sequence_job.hpp as a process of its own, for the kill -9
// test (kafka_kill_test.cpp). It restores from the newest intact checkpoint in the checkpoint
// directory (starting fresh when there is none), checkpoints every 200 ms, and runs until it
// is killed or its job fails (exit 1, the error on stderr).
//
//   kafka_exactly_once_job BROKERS INPUT OUTPUT TRANSACTIONAL_ID CHECKPOINT_DIR PARALLELISM
//                          [CRASH_AFTER [PAUSE_EVERY]]
//
// With CRASH_AFTER = n > 0 the job takes its checkpoints itself (takeCheckpoint, write,
// notifyCheckpointComplete) and kills itself with SIGKILL after writing the n-th and before
// notifying it: the moment between a checkpoint becoming durable and the sinks' commit.
// PAUSE_EVERY = n > 0 slows the job down (1 ms of sleep every n records per subtask), so that
// a kill finds it in the middle of its input.
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <thread>

#include "sequence_job.hpp"

using namespace lightflus;

int main(int argc, char** argv) {
  if (argc < 7) {
    std::cerr << "usage: kafka_exactly_once_job BROKERS INPUT OUTPUT TRANSACTIONAL_ID "
                 "CHECKPOINT_DIR PARALLELISM [CRASH_AFTER [PAUSE_EVERY]]\n";
    return 2;
  }
  std::string dir = argv[5];
  int parallelism = std::atoi(argv[6]);
  int crash_after = argc > 7 ? std::atoi(argv[7]) : 0;
  long pause_every = argc > 8 ? std::atol(argv[8]) : 0;
  try {
    ExecutionContext ctx("kafka-exactly-once-job");
    test::buildSequenceJob(ctx, {.brokers = argv[1],
                                 .input = argv[2],
                                 .output = argv[3],
                                 .transactional_id = argv[4],
                                 .pause_every = pause_every});
    // Small batches: less data in flight ahead of a barrier, so that checkpoints of the slowed
    // job complete within the test's runs.
    ExecutionOptions options{.parallelism = parallelism, .batch_size = 256};
    CheckpointStore store(dir);
    auto found = store.latest();
    for (const auto& why : found.rejected) std::cerr << "refused: " << why << "\n";
    if (found.snapshot) {
      std::cerr << "restoring from " << found.path << " at parallelism " << parallelism << "\n";
      options.restore = found.snapshot;
      options.restore_source = found.path;
    } else {
      std::cerr << "starting fresh at parallelism " << parallelism << "\n";
    }
    if (crash_after == 0)
      options.checkpoints = {.directory = dir,
                             .interval = Duration(200),
                             .log = [](const std::string& line) { std::cerr << line << "\n"; }};
    auto begin = std::chrono::steady_clock::now();
    auto job = ctx.start(std::move(options));
    std::cerr << "running after "
              << std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - begin)
                     .count()
              << " ms (restore and recovery included)\n";
    for (int taken = 0; crash_after > 0 && !job.waitFor(Duration(200));) {
      Snapshot snapshot = job.takeCheckpoint();
      store.write(snapshot);
      if (++taken == crash_after) {
        std::cerr << "killing myself after checkpoint " << snapshot.checkpoint_id
                  << " is durable, before its commit\n";
        std::raise(SIGKILL);
      }
      job.notifyCheckpointComplete(snapshot.checkpoint_id);
    }
    job.wait();
    std::cerr << "the job ended\n";
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "kafka_exactly_once_job: " << e.what() << "\n";
    return 1;
  }
}
