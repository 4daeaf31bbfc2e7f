// A two-input job for the kill -9 test (join_kill_test.sh): orders and payments from two
// generators at a steady rate, an interval join by order id (each order meets its payment
// 300 ms later, within 0..500 ms), then a keyed running count of the joined orders per
// id % 10, written as JSON lines `{"key":K,"count":C}` by the file sink (cut back to its
// checkpointed length on restore) and by the rolling file sink into ROLLING_DIR (parts committed
// at checkpoints). Read back, in the file and over the committed parts, every key's counts must be
// 1, 2, ..., N/10, each once: a lost join (buffered order or payment dropped by a restore) leaves a
// gap, a replayed one a duplicate.
//
//   join_kill_job OUT ROLLING_DIR CHECKPOINT_DIR PARALLELISM COUNT RATE
//
// Checkpoints every 100 ms into CHECKPOINT_DIR; a run resumes from the newest intact one there
// (the join and the count at PARALLELISM, which may differ from the last run's; the generators
// run at parallelism 1).
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <string>

#include "lightflus/connectors/file.hpp"
#include "lightflus/lightflus.hpp"

using namespace lightflus;

namespace {

struct Joined {
  std::int64_t key = 0;
  std::int64_t count = 0;
};

struct JoinedJson {
  void operator()(std::string& out, const Joined& j) const {
    out += "{\"key\":" + std::to_string(j.key) + ",\"count\":" + std::to_string(j.count) + "}";
  }
};

}  // namespace

template <>
struct lightflus::Serializer<Joined> {
  static void write(StateWriter& w, const Joined& j) {
    w.write(j.key);
    w.write(j.count);
  }
  static Joined read(StateReader& r) {
    Joined j;
    j.key = r.read<std::int64_t>();
    j.count = r.read<std::int64_t>();
    return j;
  }
};

int main(int argc, char** argv) {
  if (argc != 7) {
    std::cerr << "usage: join_kill_job OUT ROLLING_DIR CHECKPOINT_DIR PARALLELISM COUNT RATE\n";
    return 2;
  }
  const std::string out = argv[1], rolling = argv[2], dir = argv[3];
  const int parallelism = std::atoi(argv[4]);
  const auto count = static_cast<std::uint64_t>(std::atoll(argv[5]));
  const double rate = std::atof(argv[6]);
  try {
    ExecutionContext ctx("join-kill");
    auto id = [](std::uint64_t i) { return static_cast<std::int64_t>(i); };
    auto orders = ctx.generate(id, GeneratorOptions{.count = count, .rate = rate}, "orders")
                      .parallelism(1)
                      .uid("orders")
                      .assignTimestamps([](std::int64_t o) { return o * 10; },
                                        WatermarkStrategy::forMonotonousTimestamps())
                      .parallelism(1);
    auto payments = ctx.generate(id, GeneratorOptions{.count = count, .rate = rate}, "payments")
                        .parallelism(1)
                        .uid("payments")
                        .assignTimestamps([](std::int64_t p) { return p * 10 + 300; },
                                          WatermarkStrategy::forMonotonousTimestamps())
                        .parallelism(1);
    auto byId = [](std::int64_t v) { return v; };
    auto joined = orders.keyBy(byId)
                      .intervalJoin(payments.keyBy(byId))
                      .between(Time::milliseconds(0), Time::milliseconds(500))
                      .process<Joined>([](std::int64_t o, std::int64_t p, Collector<Joined>& c) {
                        if (o != p)
                          throw std::runtime_error("order " + std::to_string(o) +
                                                   " joined payment " + std::to_string(p));
                        c.collect(Joined{o % 10, 1});
                      })
                      .name("join")
                      .uid("join");
    auto counts = joined.keyBy([](const Joined& j) { return j.key; })
                      .reduce([](const Joined& a, const Joined& b) {
                        return Joined{a.key, a.count + b.count};
                      })
                      .name("count")
                      .uid("count");
    writeJsonLines(counts, out, JoinedJson{}).uid("out");
    writeRollingJsonLines(counts, {.directory = rolling, .max_bytes = 32 * 1024}, JoinedJson{})
        .uid("rolling");

    ExecutionOptions options{.parallelism = parallelism};
    auto found = CheckpointStore(dir).latest();
    for (const auto& why : found.rejected) std::cerr << "refused: " << why << "\n";
    if (found.snapshot) {
      std::cerr << "join_kill_job: resuming from " << found.path << " at parallelism "
                << parallelism << "\n";
      options.restore = found.snapshot;
      options.restore_source = found.path;
    }
    options.checkpoints = {.directory = dir, .interval = Duration(100)};
    ctx.execute(std::move(options));
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "join_kill_job: " << e.what() << "\n";
    return 1;
  }
}
