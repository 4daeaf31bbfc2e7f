// What checkpoints cost, and how fast a killed job is back (issue #12's benchmark).
//
// The job: generator (i -> key hash(i) % keys, 1) -> keyBy -> reduce (a running count per key)
// -> a sink that discards (forEach). Three measurements, each in this one run:
//
//   throughput   the job over --records records without checkpoints and with a checkpoint
//                every --interval-ms to a temp folder, alternated --runs times; medians, and
//                the ratio with/without (target: at most 10% slower, ratio >= 0.90)
//   checkpoint   duration and size of the checkpoints of the run with checkpoints, whose
//                state holds --keys keys
//   recovery     a child process runs the job endlessly with checkpoints until one holds all
//                --keys keys, and is killed with SIGKILL; a second child restores from the
//                newest checkpoint. Recovery is from the kill to the second child's first
//                output record (process start, checkpoint read and checked, state restored,
//                first batch through). Target: under 2 s for 1M keys.
//
//     build/bin/checkpoint_bench [--records 50000000] [--keys 1000000] [--interval-ms 1000]
//                                [--runs 3] [--parallelism 1]
//
// Exit code 1 when a run's counts are wrong (the sum of the final counts must equal the
// records) or the recovery did not resume. See bench/README.md for figures.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "lightflus/lightflus.hpp"

using namespace lightflus;
namespace fs = std::filesystem;

namespace {

using KV = std::pair<std::int64_t, std::int64_t>;
using Clock = std::chrono::steady_clock;

struct Options {
  std::uint64_t records = 50'000'000;
  std::int64_t keys = 1'000'000;
  int interval_ms = 1000;
  int runs = 3;
  int parallelism = 1;
};

std::int64_t keyOf(std::uint64_t i, std::int64_t keys) {
  // splitmix64's finalizer: keys in a scattered order, every key hit once per `keys` records
  // on average.
  std::uint64_t z = i + 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  z ^= z >> 31;
  return static_cast<std::int64_t>(z % static_cast<std::uint64_t>(keys));
}

// Builds the job; `on_output` sees every rolling count (the discarding sink).
template <class F>
void buildJob(ExecutionContext& ctx, const Options& o, std::uint64_t count, F on_output) {
  std::int64_t keys = o.keys;
  ctx.generate(
         [keys](std::uint64_t i) {
           return KV{keyOf(i, keys), 1};
         },
         GeneratorOptions{.count = count})
      .parallelism(o.parallelism)
      .uid("events")
      .keyBy([](const KV& kv) { return kv.first; })
      .reduce([](const KV& a, const KV& b) {
        return KV{a.first, a.second + b.second};
      })
      .parallelism(o.parallelism)
      .uid("counts")
      .forEach(on_output, "discard");
}

struct RunResult {
  double seconds = 0;
  CheckpointStats stats;
  std::vector<double> durations_ms;
};

// One run over o.records; with checkpoints when `dir` is not empty.
RunResult runOnce(const Options& o, const std::string& dir) {
  ExecutionContext ctx("checkpoint-bench");
  // Each rolling count is the key's latest; the sum of the increments seen equals the records.
  std::atomic<std::uint64_t> outputs{0};
  buildJob(ctx, o, o.records, [&](const KV&) { outputs.fetch_add(1, std::memory_order_relaxed); });
  ExecutionOptions options;
  if (!dir.empty()) {
    options.checkpoints = {.directory = dir, .interval = Duration(o.interval_ms), .retain = 2};
  }
  auto start = Clock::now();
  auto handle = ctx.start(options);
  RunResult r;
  std::uint64_t seen = 0;
  while (handle.status() == JobStatus::Running) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    auto s = handle.checkpointStats();
    if (s.completed > seen) {
      seen = s.completed;
      r.durations_ms.push_back(s.last_duration_ms);
      r.stats = s;
    }
  }
  handle.wait();
  r.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  if (handle.status() != JobStatus::Finished || outputs.load() != o.records) {
    std::cerr << fmt::format("checkpoint_bench: the job ended {} with {} outputs of {} records\n",
                             toString(handle.status()), outputs.load(), o.records);
    std::exit(1);
  }
  return r;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

std::int64_t nowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
      .count();
}

// Child 1: the job without end, checkpointing into `dir`; prints nothing.
int childRun(const Options& o, const std::string& dir) {
  ExecutionContext ctx("checkpoint-bench");
  buildJob(ctx, o, 0, [](const KV&) {});
  ExecutionOptions options;
  options.checkpoints = {.directory = dir, .interval = Duration(o.interval_ms), .retain = 2};
  ctx.start(options).wait();
  return 0;
}

// Child 2: restores from the newest checkpoint in `dir`, prints the monotonic time of its first
// output record and the restored checkpoint, and exits.
int childResume(const Options& o, const std::string& dir) {
  auto found = CheckpointStore(dir).latest();
  if (!found.snapshot) {
    std::cerr << "checkpoint_bench: no intact checkpoint in " << dir << "\n";
    return 1;
  }
  ExecutionContext ctx("checkpoint-bench");
  std::atomic<bool> first{true};
  buildJob(ctx, o, 0, [&](const KV&) {
    if (first.exchange(false)) {
      std::cout << nowNs() << " " << found.snapshot->checkpoint_id << std::endl;
      std::_Exit(0);
    }
  });
  ExecutionOptions options;
  options.restore = found.snapshot;
  options.restore_source = found.path;
  ctx.start(options).wait();
  return 1;
}

pid_t spawn(const std::vector<std::string>& args, int stdout_fd) {
  pid_t pid = fork();
  if (pid == 0) {
    if (stdout_fd >= 0) dup2(stdout_fd, 1);
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv("/proc/self/exe", argv.data());
    _exit(127);
  }
  return pid;
}

std::vector<std::string> childArgs(const Options& o, const std::string& mode,
                                   const std::string& dir) {
  return {"checkpoint_bench",
          "--keys",
          std::to_string(o.keys),
          "--interval-ms",
          std::to_string(o.interval_ms),
          "--parallelism",
          std::to_string(o.parallelism),
          "--child",
          mode,
          dir};
}

struct Recovery {
  double kill_to_output_ms = 0;
  std::uint64_t checkpoint_id = 0;
  std::uintmax_t checkpoint_bytes = 0;
};

// Runs child 1 until a checkpoint was completed after every key had been seen, kills it, and
// times child 2.
Recovery measureRecovery(const Options& o, const std::string& dir) {
  fs::create_directories(dir);
  pid_t job = spawn(childArgs(o, "run", dir), -1);
  // Every key is in the state once the generator passed ~keys * ln(keys) records; rather than
  // estimate that, wait for the checkpoint files to stop growing (two in a row, same size).
  std::uintmax_t last_size = 0;
  int steady = 0;
  std::string last_file;
  auto deadline = Clock::now() + std::chrono::minutes(5);
  while (steady < 2 && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    std::string newest;
    for (const auto& e : fs::directory_iterator(dir)) {
      std::string name = e.path().filename().string();
      if (name.ends_with(".lfsnap") && name > newest) newest = name;
    }
    if (newest.empty() || newest == last_file) continue;
    last_file = newest;
    std::error_code ec;
    auto size = fs::file_size(fs::path(dir) / newest, ec);
    if (ec) continue;
    steady = size == last_size ? steady + 1 : 0;
    last_size = size;
  }
  // Kill somewhere between two checkpoints.
  std::this_thread::sleep_for(std::chrono::milliseconds(o.interval_ms / 2));
  std::int64_t killed_at = nowNs();
  kill(job, SIGKILL);
  waitpid(job, nullptr, 0);

  int fds[2];
  if (pipe(fds) != 0) std::exit(1);
  pid_t resume = spawn(childArgs(o, "resume", dir), fds[1]);
  close(fds[1]);
  std::string out;
  char buf[256];
  ssize_t n;
  while ((n = read(fds[0], buf, sizeof buf)) > 0) out.append(buf, static_cast<std::size_t>(n));
  close(fds[0]);
  int status = 0;
  waitpid(resume, &status, 0);
  std::int64_t first_output = 0;
  Recovery r;
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 ||
      std::sscanf(out.c_str(), "%ld %lu", &first_output, &r.checkpoint_id) != 2) {
    std::cerr << "checkpoint_bench: the restored job did not resume (" << out << ")\n";
    std::exit(1);
  }
  r.kill_to_output_ms = static_cast<double>(first_output - killed_at) / 1e6;
  r.checkpoint_bytes = last_size;
  return r;
}

Options parse(int argc, char** argv, std::string& child_mode, std::string& child_dir) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::cerr << "checkpoint_bench: " << a << " needs a value\n";
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--records") {
      o.records = std::stoull(next());
    } else if (a == "--keys") {
      o.keys = std::stoll(next());
    } else if (a == "--interval-ms") {
      o.interval_ms = std::stoi(next());
    } else if (a == "--runs") {
      o.runs = std::stoi(next());
    } else if (a == "--parallelism") {
      o.parallelism = std::stoi(next());
    } else if (a == "--child") {
      child_mode = next();
      child_dir = next();
    } else {
      std::cerr << "usage: checkpoint_bench [--records N] [--keys N] [--interval-ms MS] "
                   "[--runs N] [--parallelism P]\n";
      std::exit(2);
    }
  }
  if (o.keys < 1 || o.interval_ms < 1 || o.runs < 1 || o.parallelism < 1) {
    std::cerr << "checkpoint_bench: --keys, --interval-ms, --runs and --parallelism must be >= 1\n";
    std::exit(2);
  }
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  std::string child_mode, child_dir;
  Options o = parse(argc, argv, child_mode, child_dir);
  if (child_mode == "run") return childRun(o, child_dir);
  if (child_mode == "resume") return childResume(o, child_dir);

  std::string tmp = fs::temp_directory_path() / fmt::format("checkpoint-bench-{}", getpid());
  fs::create_directories(tmp);
  std::cout << fmt::format(
      "checkpoint_bench: {} records over {} keys, parallelism {}, a checkpoint every {} ms\n",
      o.records, o.keys, o.parallelism, o.interval_ms);

  std::vector<double> plain, checkpointed, durations;
  std::vector<double> sizes;
  std::uint64_t checkpoints = 0;
  for (int run = 0; run < o.runs; ++run) {
    plain.push_back(runOnce(o, "").seconds);
    std::string dir = fmt::format("{}/run-{}", tmp, run);
    RunResult r = runOnce(o, dir);
    checkpointed.push_back(r.seconds);
    durations.insert(durations.end(), r.durations_ms.begin(), r.durations_ms.end());
    checkpoints += r.stats.completed;
    if (r.stats.last_size_bytes) sizes.push_back(static_cast<double>(r.stats.last_size_bytes));
    fs::remove_all(dir);
    std::cout << fmt::format("  run {}: without {:.2f} s, with {:.2f} s ({} checkpoints)\n",
                             run + 1, plain.back(), checkpointed.back(), r.stats.completed);
  }
  double without = median(plain), with = median(checkpointed);
  std::cout << fmt::format("throughput without checkpoints  {:.2f} M records/s\n",
                           o.records / without / 1e6);
  std::cout << fmt::format("throughput with checkpoints     {:.2f} M records/s  ratio {:.3f}x\n",
                           o.records / with / 1e6, without / with);
  std::cout << fmt::format(
      "checkpoint duration             median {:.1f} ms, max {:.1f} ms over {} checkpoints\n",
      median(durations),
      durations.empty() ? 0.0 : *std::max_element(durations.begin(), durations.end()), checkpoints);
  std::cout << fmt::format("checkpoint size                 {:.1f} MB (last of each run, median)\n",
                           median(sizes) / 1e6);

  Recovery rec = measureRecovery(o, tmp + "/recovery");
  std::cout << fmt::format(
      "recovery (kill -9 -> first output) {:.0f} ms from checkpoint {} of {:.1f} MB ({} keys)\n",
      rec.kill_to_output_ms, rec.checkpoint_id, static_cast<double>(rec.checkpoint_bytes) / 1e6,
      o.keys);
  fs::remove_all(tmp);
  return 0;
}
