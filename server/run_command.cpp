#include "run_command.hpp"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <charconv>
#include <cstdio>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "js_graph_builder.hpp"
#include "lightflus/error.hpp"

namespace lightflus::server {

namespace {

// The signal that asked to stop (0: none). The only state the handler touches.
std::atomic<int> stop_signal{0};

extern "C" void onStopSignal(int signal) {
  stop_signal.store(signal);
}

void installSignalHandlers() {
  struct sigaction action {};
  action.sa_handler = onStopSignal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
}

int exitStatusOf(int signal) {
  return 128 + signal;
}  // 130 for SIGINT, 143 for SIGTERM

std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError("cannot read the job file '" + path + "'");
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

template <class T>
T parseNumber(std::string_view flag, std::string_view text, T min) {
  T value{};
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || value < min)
    throw ConfigError(fmt::format("{} expects a number of at least {}, got '{}'", flag, min, text));
  return value;
}

struct Totals {
  std::uint64_t in = 0;
  std::uint64_t out = 0;
};

// Records read by the sources and written by the sinks.
Totals totals(const JobHandle& handle) {
  Totals t;
  for (const auto& m : handle.metrics()) {
    if (m.kind == "source") t.in += m.records_out;
    if (m.kind == "sink") t.out += m.records_in;
  }
  return t;
}

// One line on stderr, rewritten in place once a second.
class Progress {
 public:
  explicit Progress(std::string job) : job_(std::move(job)), enabled_(::isatty(2) == 1) {}
  void update(const JobHandle& handle) {
    if (!enabled_) return;
    auto now = std::chrono::steady_clock::now();
    if (now - last_ < std::chrono::seconds(1)) return;
    Totals t = totals(handle);
    double seconds = std::chrono::duration<double>(now - last_).count();
    double rate = last_in_ == 0 && t.in == 0 ? 0 : static_cast<double>(t.in - last_in_) / seconds;
    std::fprintf(stderr, "\r\x1b[K[%s] %llu in, %llu out, %.0f records/s", job_.c_str(),
                 static_cast<unsigned long long>(t.in), static_cast<unsigned long long>(t.out),
                 rate);
    std::fflush(stderr);
    last_ = now;
    last_in_ = t.in;
    shown_ = true;
  }
  void clear() {
    if (shown_) std::fputs("\r\x1b[K", stderr);
    shown_ = false;
  }

 private:
  std::string job_;
  bool enabled_;
  bool shown_ = false;
  std::chrono::steady_clock::time_point last_ = std::chrono::steady_clock::now();
  std::uint64_t last_in_ = 0;
};

}  // namespace

const char* runUsage() noexcept {
  return "usage: lightflusd run JOB.ts|JOB.js [--parallelism N] [--set name=value ...]\n"
         "                      [--heap-limit MiB] [--time-limit SECONDS]\n"
         "                      [--on-error fail|dead-letter]\n";
}

RunOptions parseRunOptions(std::span<char* const> args) {
  RunOptions options;
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string_view arg = args[i];
    auto value = [&]() -> std::string_view {
      if (i + 1 >= args.size()) throw ConfigError(fmt::format("{} expects a value", arg));
      return args[++i];
    };
    if (arg == "--parallelism") {
      options.parallelism = parseNumber<int>(arg, value(), 1);
    } else if (arg == "--set") {
      std::string_view pair = value();
      auto eq = pair.find('=');
      if (eq == std::string_view::npos || eq == 0)
        throw ConfigError(fmt::format("--set expects name=value, got '{}'", pair));
      options.params[std::string(pair.substr(0, eq))] = std::string(pair.substr(eq + 1));
    } else if (arg == "--heap-limit") {
      options.heap_limit_mib = parseNumber<std::size_t>(arg, value(), 16);
    } else if (arg == "--time-limit") {
      options.time_limit_seconds = parseNumber<double>(arg, value(), 0);
    } else if (arg == "--on-error") {
      std::string_view policy = value();
      if (policy == "fail")
        options.on_error = js::ErrorPolicy::kFail;
      else if (policy == "dead-letter")
        options.on_error = js::ErrorPolicy::kDeadLetter;
      else
        throw ConfigError(fmt::format("--on-error expects fail or dead-letter, got '{}'", policy));
    } else if (arg.starts_with("--")) {
      throw ConfigError(fmt::format("unknown option '{}'", arg));
    } else if (options.job_path.empty()) {
      options.job_path = arg;
    } else {
      throw ConfigError(fmt::format("one job at a time: '{}' and '{}'", options.job_path, arg));
    }
  }
  if (options.job_path.empty()) throw ConfigError("which job? give the path of a .ts or .js file");
  return options;
}

js::JsJobOptions jsJobOptions(const RunOptions& options, std::string file_name) {
  js::JsJobOptions job_options;
  job_options.file_name = std::move(file_name);
  job_options.params = options.params;
  job_options.heap_limit = options.heap_limit_mib << 20;
  job_options.time_limit =
      std::chrono::milliseconds(static_cast<std::int64_t>(options.time_limit_seconds * 1000));
  job_options.on_error = options.on_error;
  return job_options;
}

std::shared_ptr<js::JsJob> loadJob(std::string_view source, js::JsJobOptions options) {
  return js::JsJob::load(source, std::move(options));
}

StartedJob startJob(std::shared_ptr<js::JsJob> job, int parallelism) {
  return startJob(std::move(job), parallelism, js::JsGraphOptions{});
}

StartedJob startJob(std::shared_ptr<js::JsJob> job, int parallelism,
                    const js::JsGraphOptions& graph_options) {
  js::JsGraphOptions options = graph_options;
  options.parallelism = parallelism;
  ExecutionContext ctx = js::JsGraphBuilder(job, options).build();
  ExecutionOptions execution;
  execution.parallelism = parallelism;
  JobHandle handle = ctx.start(execution);
  return StartedJob{std::move(job), ctx.jobName(), std::move(handle)};
}

int runJob(const RunOptions& options) {
  installSignalHandlers();
  std::shared_ptr<js::JsJob> job =
      loadJob(readFile(options.job_path), jsJobOptions(options, options.job_path));
  if (int signal = stop_signal.load()) return exitStatusOf(signal);
  StartedJob started = startJob(job, options.parallelism);
  JobHandle& handle = started.handle;

  Progress progress(started.name);
  int signal = 0;
  while (!handle.waitFor(Duration(100))) {
    if ((signal = stop_signal.load()) != 0) {
      handle.cancel();
      job->terminate();  // a UDF busy in JavaScript stops now, not at the time limit
      break;
    }
    progress.update(handle);
  }
  progress.clear();
  handle.wait();  // throws JobFailedError when the job failed
  if (signal == 0) signal = stop_signal.load();
  return signal != 0 && handle.status() == JobStatus::Cancelled ? exitStatusOf(signal) : 0;
}

}  // namespace lightflus::server
