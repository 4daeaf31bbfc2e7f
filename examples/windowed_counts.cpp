// Windowed counts: counts synthetic click events per user in 10-second event-time tumbling
// windows and prints one "window_start user count" line per window and user (window_start in
// milliseconds since the Unix epoch). The generated events arrive up to 2 seconds out of order;
// the watermark allows for exactly that, so no event is late. A summary (events, windows, late
// events dropped) goes to stderr.
//
//     build/bin/windowed_counts [--events N] [--users N] [--parallelism N]
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <string>

#include "lightflus/lightflus.hpp"

using namespace lightflus;

namespace {

/// A user clicked at `timestamp` (ms).
struct Click {
  std::uint32_t user = 0;
  Timestamp timestamp = 0;
};

/// What a window emits: how many clicks `user` made in the window starting at `window_start`.
struct UserCount {
  Timestamp window_start = 0;
  std::uint32_t user = 0;
  std::int64_t count = 0;
};

constexpr Timestamp kStart = 1'700'000'000'000;  // 2023-11-14T22:13:20Z
constexpr Timestamp kMillisBetweenClicks = 50;
constexpr Timestamp kMaxDelay = 2'000;

/// A fixed mix of the event number (splitmix64), so that event i is the same in every run and
/// on every subtask that generates it.
std::uint64_t mix(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

/// Click i happens at kStart + i * 50 ms, minus a delay of up to 2 s (out of order).
Click makeClick(std::uint64_t i, std::uint32_t users) {
  std::uint64_t h = mix(i);
  auto delay = static_cast<Timestamp>(h % (kMaxDelay + 1));
  return Click{static_cast<std::uint32_t>((h >> 32) % users),
               kStart + static_cast<Timestamp>(i) * kMillisBetweenClicks - delay};
}

}  // namespace

int main(int argc, char** argv) {
  std::uint64_t events = 10'000;
  std::uint32_t users = 5;
  int parallelism = 1;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    bool has_value = i + 1 < argc;
    if (arg == "--events" && has_value) {
      events = std::strtoull(argv[++i], nullptr, 10);
    } else if (arg == "--users" && has_value) {
      users = static_cast<std::uint32_t>(std::strtoul(argv[++i], nullptr, 10));
    } else if ((arg == "--parallelism" || arg == "-p") && has_value) {
      parallelism = std::atoi(argv[++i]);
    } else if (arg == "--help" || arg == "-h") {
      std::cout << "usage: windowed_counts [--events N] [--users N] [--parallelism N]\n"
                   "Counts generated clicks per user in 10 s event-time windows and prints\n"
                   "'window_start user count' lines.\n";
      return 0;
    } else {
      std::cerr << "windowed_counts: unknown argument '" << arg << "' (see --help)\n";
      return 2;
    }
  }
  if (events == 0 || users == 0) {
    std::cerr << "windowed_counts: --events and --users must be at least 1\n";
    return 2;
  }
  try {
    ExecutionContext ctx("windowed-counts");
    ctx.parallelism(parallelism);
    GeneratorOptions generator;
    generator.count = events;
    ctx.generate([users](std::uint64_t i) { return makeClick(i, users); }, generator, "clicks")
        .assignTimestamps([](const Click& c) { return c.timestamp; },
                          WatermarkStrategy::boundedOutOfOrderness(Time::milliseconds(kMaxDelay)))
        .keyBy([](const Click& c) { return c.user; })
        .window(TumblingEventTimeWindows::of(Time::seconds(10)))
        .aggregate(Count{},
                   [](std::uint32_t user, const TimeWindow& w, std::int64_t n) {
                     return UserCount{w.start, user, n};
                   })
        .name("count")
        .print([](std::string& out, const UserCount& c) {
          out += std::to_string(c.window_start);
          out += ' ';
          out += std::to_string(c.user);
          out += ' ';
          out += std::to_string(c.count);
        })
        .parallelism(1);
    JobHandle job = ctx.start();
    job.wait();
    std::uint64_t windows = 0, late = 0;
    for (const auto& m : job.metrics()) {
      if (m.name == "count") {
        windows = m.records_out;
        late = m.late_dropped;
      }
    }
    std::cerr << "windowed_counts: " << events << " events, " << windows << " window results, "
              << late << " late events dropped\n";
  } catch (const Error& e) {
    std::cerr << "windowed_counts: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
