#include "run_command.hpp"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <charconv>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "atomic_file.hpp"
#include "dead_letters.hpp"
#include "js_graph_builder.hpp"
#include "lightflus/checkpoint.hpp"
#include "lightflus/error.hpp"

namespace lightflus::server {

namespace fs = std::filesystem;

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
T parseNumber(std::string_view flag, std::string_view text, T min, T max) {
  T value{};
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  // `!(value >= min)` also refuses NaN.
  if (error != std::errc() || end != text.data() + text.size() || !(value >= min) || value > max)
    throw ConfigError(
        fmt::format("{} expects a number from {} to {}, got '{}'", flag, min, max, text));
  return value;
}

// --time-limit: 0 (no limit) or 1 ms to a day. A tinier value would round to "no limit" and a
// huge one overflow the watchdog's clock arithmetic, so both are refused.
double parseTimeLimit(std::string_view flag, std::string_view text) {
  double seconds = parseNumber<double>(flag, text, 0, 86400);
  if (seconds != 0 && seconds < 0.001)
    throw ConfigError(
        fmt::format("{} expects 0 (no limit) or 0.001 to 86400 seconds, got '{}'", flag, text));
  return seconds;
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

std::string plural(std::uint64_t n, std::string_view one, std::string_view many) {
  return fmt::format("{} {}", n, n == 1 ? one : many);
}

// What the job dropped, one line per operator that dropped anything: its late elements (no
// late-data side output) and dead letters, with its records in and out. Nothing when nothing
// was dropped.
std::vector<std::string> dropReport(const std::vector<OperatorMetrics>& metrics,
                                    std::map<std::string, std::uint64_t> dead_letters) {
  std::vector<std::string> lines;
  for (const auto& m : metrics) {
    std::uint64_t letters = 0;
    for (auto it = dead_letters.begin(); it != dead_letters.end();) {
      if (writerOf(metrics, it->first) == &m) {
        letters += it->second;
        it = dead_letters.erase(it);
      } else {
        ++it;
      }
    }
    if (m.late_dropped == 0 && letters == 0) continue;
    std::vector<std::string> what;
    if (m.late_dropped > 0)
      what.push_back(plural(m.late_dropped, "late element dropped", "late elements dropped"));
    if (letters > 0) what.push_back(plural(letters, "dead letter", "dead letters"));
    lines.push_back(fmt::format("operator {} '{}' ({}): {}; {} in, {} out", m.id, m.name, m.kind,
                                fmt::join(what, ", "), plural(m.records_in, "record", "records"),
                                m.records_out));
  }
  for (const auto& [writer, n] : dead_letters)
    lines.push_back(fmt::format(
        "{}: {}", writer.starts_with("operator ") ? writer : fmt::format("operator '{}'", writer),
        plural(n, "dead letter", "dead letters")));
  return lines;
}

// A finished job's checkpoint directory: first the finished marker, durably, then no
// checkpoints. Killed before the marker, a rerun restores the final checkpoint (which writes
// nothing again); after it, a rerun sees the marker and does nothing.
void finishRun(const std::string& checkpoint_dir, const std::string& job_name) {
  const auto now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm utc{};
  gmtime_r(&now, &utc);
  writeFileAtomically(fs::path(checkpoint_dir) / kFinishedMarker,
                      fmt::format("job '{}' finished at {:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC\n",
                                  job_name, utc.tm_year + 1900, utc.tm_mon + 1, utc.tm_mday,
                                  utc.tm_hour, utc.tm_min, utc.tm_sec));
  CheckpointStore(checkpoint_dir).clear();
}

// Removes a finished marker; false when there was none.
bool removeMarker(const fs::path& marker) {
  std::error_code ec;
  const bool removed = fs::remove(marker, ec);
  if (ec)
    throw ConnectorError(fmt::format("cannot remove '{}': {}", marker.string(), ec.message()));
  return removed;
}

}  // namespace

const char* runUsage() noexcept {
  return "usage: lightflusd run JOB.ts|JOB.js [--parallelism N] [--set name=value ...]\n"
         "                      [--heap-limit MiB] [--time-limit SECONDS]\n"
         "                      [--on-error fail|dead-letter]\n"
         "                      [--checkpoint-dir DIR] [--checkpoint-interval 5s]\n"
         "                      [--keep-checkpoints N] [--from CHECKPOINT|DIR]\n"
         "                      [--allow-non-restored-state] [--fresh]\n"
         "                      [--source-map JOB.js.map]\n";
}

std::chrono::milliseconds parseDuration(std::string_view flag, std::string_view text) {
  // A number with a unit: ms, s, m, h (a bare number is seconds).
  std::size_t unit_at = text.find_first_not_of("0123456789.");
  std::string_view number = text.substr(0, unit_at);
  std::string_view unit = unit_at == std::string_view::npos ? "s" : text.substr(unit_at);
  double factor = unit == "ms"  ? 1
                  : unit == "s" ? 1e3
                  : unit == "m" ? 60e3
                  : unit == "h" ? 3600e3
                                : 0;
  double value = 0;
  auto [end, error] = std::from_chars(number.data(), number.data() + number.size(), value);
  double ms = value * factor;
  if (number.empty() || error != std::errc() || end != number.data() + number.size() ||
      factor == 0 || !(ms >= 1) || ms > 24 * 3600e3)
    throw ConfigError(fmt::format(
        "{} expects a duration from 1ms to 24h such as 500ms, 5s or 2m, got '{}'", flag, text));
  return std::chrono::milliseconds(static_cast<std::int64_t>(ms));
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
      options.parallelism = parseNumber<int>(arg, value(), 1, 1024);
    } else if (arg == "--set") {
      std::string_view pair = value();
      auto eq = pair.find('=');
      if (eq == std::string_view::npos || eq == 0)
        throw ConfigError(fmt::format("--set expects name=value, got '{}'", pair));
      options.params[std::string(pair.substr(0, eq))] = std::string(pair.substr(eq + 1));
    } else if (arg == "--heap-limit") {
      options.heap_limit_mib = parseNumber<std::size_t>(arg, value(), 16, 65536);
    } else if (arg == "--time-limit") {
      options.time_limit_seconds = parseTimeLimit(arg, value());
    } else if (arg == "--checkpoint-dir") {
      options.checkpoint_dir = value();
      if (options.checkpoint_dir.empty()) throw ConfigError("--checkpoint-dir expects a directory");
    } else if (arg == "--checkpoint-interval") {
      options.checkpoint_interval = parseDuration(arg, value());
    } else if (arg == "--keep-checkpoints") {
      options.keep_checkpoints = parseNumber<int>(arg, value(), 1, 1000);
    } else if (arg == "--from") {
      options.from = value();
      if (options.from.empty()) throw ConfigError("--from expects a checkpoint file or directory");
    } else if (arg == "--allow-non-restored-state") {
      options.allow_non_restored_state = true;
    } else if (arg == "--fresh") {
      options.fresh = true;
    } else if (arg == "--source-map") {
      options.source_map = value();
      if (options.source_map.empty()) throw ConfigError("--source-map expects a file");
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
  if (options.fresh && options.checkpoint_dir.empty())
    throw ConfigError("--fresh starts over in a --checkpoint-dir: give one");
  if (options.fresh && !options.from.empty())
    throw ConfigError("--fresh starts from the beginning, --from from a checkpoint: give one");
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
  if (!options.source_map.empty()) {
    std::ifstream in(options.source_map, std::ios::binary);
    if (!in) throw ConfigError("cannot read the source map '" + options.source_map + "'");
    std::ostringstream text;
    text << in.rdbuf();
    job_options.source_map = text.str();
  }
  return job_options;
}

std::shared_ptr<js::JsJob> loadJob(std::string_view source, js::JsJobOptions options) {
  return js::JsJob::load(source, std::move(options));
}

StartedJob startJob(std::shared_ptr<js::JsJob> job, int parallelism) {
  return startJob(std::move(job), parallelism, js::JsGraphOptions{});
}

StartedJob startJob(std::shared_ptr<js::JsJob> job, int parallelism,
                    const js::JsGraphOptions& graph_options, ExecutionOptions execution) {
  js::JsGraphOptions options = graph_options;
  options.parallelism = parallelism;
  ExecutionContext ctx = js::JsGraphBuilder(job, options).build();
  execution.parallelism = parallelism;
  JobHandle handle = ctx.start(execution);
  return StartedJob{std::move(job), ctx.jobName(), std::move(handle)};
}

std::chrono::milliseconds jobCheckpointInterval(const js::JsJob& job) {
  const Value& interval = job.graph()["job"]["checkpointInterval"];
  if (!interval.isNumber()) return std::chrono::milliseconds(0);
  return std::chrono::milliseconds(static_cast<std::int64_t>(interval.asDouble()));
}

// The name of the job's first Kafka sink with `.exactlyOnce()`, "" when it has none.
std::string exactlyOnceKafkaSink(const js::JsJob& job) {
  const Value& operators = job.graph()["operators"];
  if (!operators.isArray()) return "";
  for (const Value& op : operators.asArray()) {
    const Value& c = op["connector"];
    if (op["kind"].isString() && op["kind"].asString() == "sink" && c["type"].isString() &&
        c["type"].asString() == "kafka" && c["delivery"].isString() &&
        c["delivery"].asString() == "exactly-once")
      return op["name"].isString() ? std::string(op["name"].asString()) : "kafka";
  }
  return "";
}

CheckpointSetup checkpointSetup(const RunOptions& options, const js::JsJob& job,
                                const std::string& job_name,
                                std::function<void(const std::string&)> log) {
  CheckpointSetup setup;
  auto& execution = setup.execution;
  execution.allow_non_restored_state = options.allow_non_restored_state;
  std::chrono::milliseconds interval = options.checkpoint_interval;
  if (interval.count() == 0) interval = jobCheckpointInterval(job);
  if (!options.checkpoint_dir.empty()) {
    execution.checkpoints.directory = options.checkpoint_dir;
    execution.checkpoints.interval = interval.count() > 0 ? interval : std::chrono::seconds(5);
    execution.checkpoints.retain = options.keep_checkpoints;
    execution.checkpoints.log = log;
  } else if (std::string sink = exactlyOnceKafkaSink(job); !sink.empty()) {
    // Its transactions commit when a checkpoint completes: without checkpoints an unbounded
    // job would never make its output visible, and a crash would lose what it held.
    throw ConfigError(fmt::format(
        "job '{}': the Kafka sink '{}' is exactly-once, which needs checkpoints: pass "
        "--checkpoint-dir DIR (or drop .exactlyOnce() for the idempotent, at-least-once sink)",
        job_name, sink));
  } else if (interval.count() > 0) {
    log(
        fmt::format("the job asks for a checkpoint every {} ms, but there is nowhere to keep "
                    "them: pass --checkpoint-dir DIR",
                    interval.count()));
  }
  if (!options.checkpoint_dir.empty()) {
    const fs::path marker = fs::path(options.checkpoint_dir) / kFinishedMarker;
    if (options.fresh) {
      CheckpointStore store(options.checkpoint_dir);
      const std::size_t removed = store.list().size();
      store.clear();
      const bool had_marker = removeMarker(marker);
      if (removed > 0 || had_marker)
        log(fmt::format("--fresh: removed {} checkpoint{}{} in {}; starting from the beginning",
                        removed, removed == 1 ? "" : "s",
                        had_marker ? " and the finished marker" : "", options.checkpoint_dir));
    } else if (options.from.empty()) {
      std::error_code ec;
      if (fs::exists(marker, ec)) {
        std::string said = readWholeFile(marker);
        while (!said.empty() && (said.back() == '\n' || said.back() == '\r')) said.pop_back();
        setup.already_finished = said.empty() ? "finished" : said;
        return setup;
      }
      if (ec)
        throw ConnectorError(
            fmt::format("cannot look for '{}': {}", marker.string(), ec.message()));
    } else {
      // --from starts a new run in this directory: a crash must resume it, not skip it.
      removeMarker(marker);
    }
  }
  FoundCheckpoint found;
  if (!options.from.empty()) {
    found = loadCheckpoint(options.from);
  } else if (!options.checkpoint_dir.empty()) {
    found = CheckpointStore(options.checkpoint_dir).latest();
  }
  for (const auto& why : found.rejected) log("skipping a damaged checkpoint: " + why);
  if (found.snapshot) {
    if (found.snapshot->job_name != job_name)
      log(fmt::format("note: '{}' was taken of job '{}', restoring it into job '{}'", found.path,
                      found.snapshot->job_name, job_name));
    execution.restore = found.snapshot;
    execution.restore_source = found.path;
    setup.restored_from = found.path;
    setup.restored_id = found.snapshot->checkpoint_id;
    setup.restored_final = found.snapshot->final;
  }
  return setup;
}

std::string CheckpointSetup::resumeMessage() const {
  if (restored_id == 0) return {};
  std::string line = fmt::format("resuming from checkpoint {} ({})", restored_id, restored_from);
  if (restored_final)
    line +=
        ", taken after the job's input had ended: it finishes without reading or writing again "
        "(to run the job from the start, remove the checkpoints or use another --checkpoint-dir)";
  return line;
}

int runJob(const RunOptions& options) {
  installSignalHandlers();
  std::shared_ptr<js::JsJob> job =
      loadJob(readFile(options.job_path), jsJobOptions(options, options.job_path));
  if (int signal = stop_signal.load()) return exitStatusOf(signal);
  std::string job_name = job->graph()["job"]["name"].isString()
                             ? std::string(job->graph()["job"]["name"].asString())
                             : options.job_path;
  auto log = [job_name](const std::string& line) {
    std::fprintf(stderr, "lightflusd run: job '%s': %s\n", job_name.c_str(), line.c_str());
  };
  CheckpointSetup setup = checkpointSetup(options, *job, job_name, log);
  if (!setup.already_finished.empty()) {
    log(fmt::format(
        "already finished in {} ({}): nothing to do; to run it again from the beginning, pass "
        "--fresh (or remove the directory)",
        options.checkpoint_dir, setup.already_finished));
    return 0;
  }
  if (setup.restored_id != 0) log(setup.resumeMessage());
  // The final checkpoint stays until the finished marker is durable (finishRun): killed in
  // between, a rerun restores it and finishes without writing again.
  if (!options.checkpoint_dir.empty()) setup.execution.checkpoints.keep_final_checkpoint = true;
  StartedJob started =
      startJob(job, options.parallelism, js::JsGraphOptions{}, std::move(setup.execution));
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
  // At exit, also when the job failed: what it dropped (late elements, dead letters).
  auto report = [&] {
    for (const auto& line : dropReport(handle.metrics(), job->deadLetterCounts())) log(line);
  };
  try {
    handle.wait();  // throws JobFailedError when the job failed
  } catch (...) {
    report();
    throw;
  }
  report();
  if (handle.status() == JobStatus::Finished && !options.checkpoint_dir.empty())
    finishRun(options.checkpoint_dir, job_name);
  if (signal == 0) signal = stop_signal.load();
  return signal != 0 && handle.status() == JobStatus::Cancelled ? exitStatusOf(signal) : 0;
}

}  // namespace lightflus::server
