#include "job_registry.hpp"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <cstdio>
#include <random>
#include <set>

#include <fmt/format.h>

#include "atomic_file.hpp"
#include "ingest_log.hpp"
#include "job_process_command.hpp"

namespace lightflus::server {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

struct JobRegistry::Job {
  std::string id;
  JobSpec spec;
  std::string status = "created";
  std::string error;
  std::string graph_json;
  std::string plan;
  std::vector<std::string> http_sources;
  std::vector<OperatorMetrics> metrics;
  std::vector<PlanEdge> edges;
  std::map<std::string, std::uint64_t> dead_letters;
  CheckpointStats checkpoints;
  std::int64_t created_at_ms = 0;
  // When the current process began running the job; 0 while there is none running.
  std::int64_t started_at_ms = 0;
  int restarts = 0;
  // The job's process while it has one; a restart is due at `restart_at`.
  std::shared_ptr<JobProcess> process;
  std::optional<Clock::time_point> restart_at;
  // Being deleted, or the daemon is stopping: the process ends, the status stays as it was.
  bool stopping = false;
  // Being stopped for good (stop()): the process ends, the status becomes stopped.
  bool stop_requested = false;
  // Rates: the counters at the last sample (by operator id), and when it was taken.
  std::map<int, std::pair<std::uint64_t, std::uint64_t>> sampled;
  Clock::time_point sampled_at;
  std::map<int, JobInfo::Rate> rates;
  // The ingest logs of the job's HttpSources (opened on first use), and how far the job read
  // each (its last report).
  std::map<std::string, std::shared_ptr<IngestLog>> logs;
  std::map<std::string, std::uint64_t> ingest_next;
};

namespace {

// Records an HttpSource's log may hold beyond what the job has read before POSTs wait for it
// to catch up (backpressure).
constexpr std::uint64_t kIngestLag = 10'000;
// How long a submission waits for its job's process to load the job.
constexpr std::chrono::seconds kLoadTimeout{60};
// How long a stopping job's process may take before it is killed.
constexpr std::chrono::seconds kStopTimeout{5};
// How long a savepoint may take.
constexpr std::chrono::seconds kSavepointTimeout{60};

std::int64_t nowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string newJobId() {
  static thread_local std::mt19937_64 random{std::random_device{}()};
  return fmt::format("{:016x}", random());
}

std::string sourceFileName(const JobSpec& spec) {
  return spec.javascript ? "source.js" : "source.ts";
}

// The source map of a JavaScript job, beside its source.
constexpr const char* kSourceMapFileName = "source.js.map";
// The user's file a submitted bundle was made from (shown, never run); its name is in job.json.
constexpr const char* kOriginalFileName = "original.txt";

std::string jobJson(const std::string& id, const JobSpec& spec, std::int64_t created_at_ms) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> out(buffer);
  out.StartObject();
  out.Key("id");
  out.String(id.c_str());
  out.Key("name");
  out.String(spec.name.c_str());
  out.Key("parallelism");
  out.Int(spec.parallelism);
  out.Key("javascript");
  out.Bool(spec.javascript);
  out.Key("createdAt");
  out.Int64(created_at_ms);
  out.Key("from");
  out.String(spec.from.c_str());
  out.Key("allowNonRestoredState");
  out.Bool(spec.allow_non_restored_state);
  if (!spec.original_file.empty()) {
    out.Key("originalFile");
    out.String(spec.original_file.c_str());
  }
  out.Key("params");
  out.StartObject();
  for (const auto& [key, value] : spec.params) {
    out.Key(key.c_str());
    out.String(value.c_str());
  }
  out.EndObject();
  out.EndObject();
  return buffer.GetString();
}

rapidjson::Document parseJson(const fs::path& path) {
  rapidjson::Document doc;
  std::string text = readWholeFile(path);
  if (doc.Parse(text.c_str()).HasParseError() || !doc.IsObject())
    throw Error("'" + path.string() + "' is not a JSON object");
  return doc;
}

std::string stringMember(const rapidjson::Value& object, const char* key) {
  auto it = object.FindMember(key);
  return it != object.MemberEnd() && it->value.IsString() ? it->value.GetString() : "";
}

// What status.json holds besides the status and the error.
struct PersistedRun {
  int restarts = 0;
  const std::vector<OperatorMetrics>& metrics;
  const std::map<std::string, std::uint64_t>& dead_letters;
  const std::string& plan;
  const std::vector<PlanEdge>& edges;
  const std::string& graph;
  const std::vector<std::string>& http_sources;
};

std::string statusJson(const std::string& status, const std::string& error,
                       const PersistedRun& run) {
  std::string sources;
  for (const auto& name : run.http_sources)
    sources += (sources.empty() ? "" : ",") + jsonString(name);
  return fmt::format(
      R"({{"status":{},"error":{},"restarts":{},"operators":{},"deadLetters":{},"plan":{},"edges":{},"graph":{},"httpSources":[{}]}})",
      jsonString(status), jsonString(error), run.restarts, encodeMetrics(run.metrics),
      encodeCounts(run.dead_letters), jsonString(run.plan), encodePlanEdges(run.edges),
      jsonString(run.graph), sources);
}

// Reads a job's directory back; throws Error when it is damaged.
void readJobDir(const fs::path& dir, JobSpec& spec, std::string& status, std::string& error,
                std::int64_t& created_at_ms) {
  rapidjson::Document meta = parseJson(dir / "job.json");
  spec.name = stringMember(meta, "name");
  if (meta.HasMember("parallelism") && meta["parallelism"].IsInt())
    spec.parallelism = meta["parallelism"].GetInt();
  spec.javascript = meta.HasMember("javascript") && meta["javascript"].IsTrue();
  spec.from = stringMember(meta, "from");
  spec.allow_non_restored_state =
      meta.HasMember("allowNonRestoredState") && meta["allowNonRestoredState"].IsTrue();
  if (meta.HasMember("createdAt") && meta["createdAt"].IsInt64())
    created_at_ms = meta["createdAt"].GetInt64();
  if (meta.HasMember("params") && meta["params"].IsObject())
    for (const auto& param : meta["params"].GetObject())
      if (param.value.IsString()) spec.params[param.name.GetString()] = param.value.GetString();
  spec.source = readWholeFile(dir / sourceFileName(spec));
  if (spec.javascript && fs::exists(dir / kSourceMapFileName))
    spec.source_map = readWholeFile(dir / kSourceMapFileName);
  spec.original_file = stringMember(meta, "originalFile");
  if (!spec.original_file.empty() && fs::exists(dir / kOriginalFileName))
    spec.original_source = readWholeFile(dir / kOriginalFileName);
  else
    spec.original_file.clear();
  rapidjson::Document doc = parseJson(dir / "status.json");
  status = stringMember(doc, "status");
  error = stringMember(doc, "error");
  static const std::set<std::string> known = {"created", "running", "finished", "failed",
                                              "stopped"};
  if (!known.contains(status))
    throw Error("'" + (dir / "status.json").string() + "' holds no known status");
}

bool hasCheckpoints(const fs::path& dir) {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec))
    if (entry.path().extension() == ".lfsnap") return true;
  return false;
}

std::string formatSeconds(double seconds) {
  return fmt::format("{}", seconds);
}

}  // namespace

bool isValidJobName(std::string_view name) noexcept {
  if (name.empty() || name.size() > 64 || name == "." || name == "..") return false;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-';
    if (!ok) return false;
  }
  return true;
}

JobRegistry::JobRegistry(fs::path data_dir, std::size_t max_jobs, RunOptions defaults,
                         SupervisionOptions supervision)
    : data_dir_(std::move(data_dir)),
      jobs_dir_(data_dir_ / "jobs"),
      max_jobs_(max_jobs),
      defaults_(std::move(defaults)),
      supervision_(std::move(supervision)) {
  fs::create_directories(jobs_dir_);
  monitor_ = std::jthread([this](std::stop_token stop) { monitor(stop); });
}

JobRegistry::~JobRegistry() {
  shutdown();
}

std::vector<std::string> JobRegistry::allowedRoots() const {
  if (!supervision_.allow_paths.empty()) return supervision_.allow_paths;
  return {data_dir_.string()};
}

std::shared_ptr<JobProcess> JobRegistry::launch(const Job& job) {
  const fs::path dir = jobs_dir_ / job.id;
  const fs::path checkpoints = dir / "checkpoints";
  std::vector<std::string> args = {supervision_.executable,
                                   "job-process",
                                   "--control-fd",
                                   "3",
                                   "--job-dir",
                                   dir.string(),
                                   "--file-name",
                                   (job.spec.name.empty() ? std::string("job") : job.spec.name) +
                                       (job.spec.javascript ? ".js" : ".ts")};
  for (const auto& root : allowedRoots()) {
    args.push_back("--allow-path");
    args.push_back(root);
  }
  args.insert(args.end(), {"--checkpoint-dir", checkpoints.string(), "--heap-limit",
                           std::to_string(defaults_.heap_limit_mib), "--time-limit",
                           formatSeconds(defaults_.time_limit_seconds), "--on-error",
                           defaults_.on_error == js::ErrorPolicy::kFail ? "fail" : "dead-letter",
                           "--keep-checkpoints", std::to_string(defaults_.keep_checkpoints)});
  if (defaults_.checkpoint_interval.count() > 0) {
    args.push_back("--checkpoint-interval");
    args.push_back(fmt::format("{}ms", defaults_.checkpoint_interval.count()));
  }
  if (!job.spec.source_map.empty()) {
    args.push_back("--source-map");
    args.push_back((dir / kSourceMapFileName).string());
  }
  if (job.spec.parallelism > 0) {
    args.push_back("--parallelism");
    args.push_back(std::to_string(job.spec.parallelism));
  }
  for (const auto& [key, value] : job.spec.params) {
    args.push_back("--set");
    args.push_back(key + "=" + value);
  }
  // A savepoint to start from counts only until the job has checkpoints of its own.
  if (!job.spec.from.empty() && !hasCheckpoints(checkpoints)) {
    args.push_back("--from");
    args.push_back(job.spec.from);
    if (job.spec.allow_non_restored_state) args.push_back("--allow-non-restored-state");
  }
  args.push_back((dir / sourceFileName(job.spec)).string());
  std::string name = job.spec.name.empty() ? job.id : job.spec.name;
  return JobProcess::start(spawner_, args, supervision_.limits,
                           fmt::format("lightflusd: job {} ({}): ", name, job.id));
}

std::size_t JobRegistry::restore() {
  std::size_t restarted = 0;
  for (const auto& entry : fs::directory_iterator(jobs_dir_)) {
    if (!entry.is_directory()) continue;
    auto job = std::make_shared<Job>();
    job->id = entry.path().filename().string();
    try {
      readJobDir(entry.path(), job->spec, job->status, job->error, job->created_at_ms);
      rapidjson::Document status = parseJson(entry.path() / "status.json");
      if (status.HasMember("restarts") && status["restarts"].IsInt())
        job->restarts = status["restarts"].GetInt();
      if (status.HasMember("operators")) job->metrics = decodeMetrics(status["operators"]);
      if (status.HasMember("deadLetters")) job->dead_letters = decodeCounts(status["deadLetters"]);
      job->plan = stringMember(status, "plan");
      if (status.HasMember("edges")) job->edges = decodePlanEdges(status["edges"]);
      job->graph_json = stringMember(status, "graph");
      if (status.HasMember("httpSources") && status["httpSources"].IsArray())
        for (const auto& name : status["httpSources"].GetArray())
          if (name.IsString()) job->http_sources.emplace_back(name.GetString());
    } catch (const std::exception& e) {
      // Listed as failed, so that it does not vanish; DELETE removes it.
      job->status = "failed";
      job->error = std::string("the job's directory is damaged: ") + e.what();
      std::fprintf(stderr, "lightflusd: job %s: %s\n", job->id.c_str(), job->error.c_str());
      std::lock_guard lock(mutex_);
      jobs_[job->id] = job;
      continue;
    }
    if (job->status == "running" || job->status == "created") {
      try {
        // Cut off torn writes of the ingest logs before the job reads them.
        for (const auto& name : job->http_sources)
          job->logs[name] = std::make_shared<IngestLog>(ingestLogPath(entry.path(), name));
        job->status = "running";
        job->process = launch(*job);
        ++restarted;
      } catch (const std::exception& e) {
        job->status = "failed";
        job->error = e.what();
        persistStatus(*job);
      }
    }
    std::lock_guard lock(mutex_);
    jobs_[job->id] = job;
  }
  return restarted;
}

JobInfo JobRegistry::create(JobSpec spec) {
  if (!spec.name.empty() && !isValidJobName(spec.name))
    throw JobRegistryError(
        JobRegistryError::Reason::kInvalid,
        "a job name is 1 to 64 of A-Z a-z 0-9 _ . - (not . or ..), got '" + spec.name + "'");
  if (spec.parallelism < 0 || spec.parallelism > 1024)
    throw JobRegistryError(JobRegistryError::Reason::kInvalid,
                           "parallelism must be between 1 and 1024");
  if (!spec.from.empty()) {
    try {
      checkAllowedPath("the savepoint to start from,", spec.from, allowedRoots());
    } catch (const ConfigError& e) {
      throw JobRegistryError(JobRegistryError::Reason::kInvalid, e.what());
    }
    if (!fs::exists(spec.from))
      throw JobRegistryError(JobRegistryError::Reason::kInvalid,
                             "there is no savepoint or checkpoint at '" + spec.from + "'");
  }
  auto reserve = [this](const std::string& name) {
    std::lock_guard lock(mutex_);
    if (jobs_.size() + reserved_names_.size() >= max_jobs_)
      throw JobRegistryError(
          JobRegistryError::Reason::kTooManyJobs,
          fmt::format("the daemon holds its limit of {} jobs; delete one first", max_jobs_));
    bool taken = reserved_names_.contains(name);
    for (const auto& [id, job] : jobs_) taken = taken || job->spec.name == name;
    if (taken)
      throw JobRegistryError(JobRegistryError::Reason::kNameTaken,
                             "a job named '" + name + "' exists; delete it or pick another name");
    reserved_names_.insert(name);
  };
  auto release = [this](const std::string& name) {
    std::lock_guard lock(mutex_);
    reserved_names_.erase(name);
  };
  {
    // Refused before the (slow) load when the daemon is full.
    std::lock_guard lock(mutex_);
    if (jobs_.size() + reserved_names_.size() >= max_jobs_)
      throw JobRegistryError(
          JobRegistryError::Reason::kTooManyJobs,
          fmt::format("the daemon holds its limit of {} jobs; delete one first", max_jobs_));
  }
  // A named job reserves its name before the slow load; an unnamed one once its name is known.
  std::string reserved = spec.name;
  if (!reserved.empty()) reserve(reserved);
  auto job = std::make_shared<Job>();
  job->id = newJobId();
  job->spec = std::move(spec);
  const fs::path dir = jobs_dir_ / job->id;
  try {
    fs::create_directories(dir);
    writeFileAtomically(dir / sourceFileName(job->spec), job->spec.source);
    if (!job->spec.source_map.empty())
      writeFileAtomically(dir / kSourceMapFileName, job->spec.source_map);
    if (!job->spec.original_file.empty())
      writeFileAtomically(dir / kOriginalFileName, job->spec.original_source);
    job->process = launch(*job);
    job->process->waitStarted(kLoadTimeout);
    JobProcess::State state = job->process->state();
    if (!state.started) {
      std::string why = !state.load_error.empty() ? state.load_error
                        : state.exited
                            ? JobProcess::failureReason(state)
                            : fmt::format("the job did not load within {} s", kLoadTimeout.count());
      throw JobRegistryError(JobRegistryError::Reason::kInvalid, why);
    }
    if (job->spec.name.empty()) {
      job->spec.name = state.name;
      if (!isValidJobName(job->spec.name))
        throw JobRegistryError(JobRegistryError::Reason::kInvalid,
                               "the job's name '" + job->spec.name + "' is not valid; pass ?name=");
      reserve(job->spec.name);
      reserved = job->spec.name;
    }
    job->status = "running";
    job->graph_json = state.graph_json;
    job->plan = state.plan;
    job->edges = state.edges;
    job->http_sources = state.http_sources;
    job->checkpoints.restored_from = state.restored_from;
    job->checkpoints.restored_id = state.restored_id;
    job->created_at_ms = nowMs();
    job->started_at_ms = job->created_at_ms;
    writeFileAtomically(dir / "job.json", jobJson(job->id, job->spec, job->created_at_ms));
    persistStatus(*job);
  } catch (...) {
    if (job->process) {
      job->process->kill();
      job->process->waitExit(kStopTimeout);
    }
    std::error_code ec;
    fs::remove_all(dir, ec);
    if (!reserved.empty()) release(reserved);
    throw;
  }
  std::lock_guard lock(mutex_);
  reserved_names_.erase(reserved);
  jobs_[job->id] = job;
  return infoOf(*job);
}

JobInfo JobRegistry::infoOf(const Job& job) const {
  JobInfo info;
  info.id = job.id;
  info.name = job.spec.name;
  info.status = job.status;
  info.error = job.error;
  info.parallelism = job.spec.parallelism;
  info.params = job.spec.params;
  info.javascript = job.spec.javascript;
  info.source_file = job.spec.original_file;
  info.plan = job.plan;
  info.graph_json = job.graph_json;
  info.created_at_ms = job.created_at_ms;
  info.started_at_ms = job.process ? job.started_at_ms : 0;
  info.rates = job.rates;
  info.metrics = job.metrics;
  info.edges = job.edges;
  info.dead_letters = job.dead_letters;
  info.checkpoints = job.checkpoints;
  info.restarts = job.restarts;
  // Without a requested parallelism, report the one the job runs with.
  if (info.parallelism == 0)
    for (const auto& m : info.metrics) info.parallelism = std::max(info.parallelism, m.parallelism);
  return info;
}

std::vector<JobInfo> JobRegistry::list() const {
  std::lock_guard lock(mutex_);
  std::vector<JobInfo> infos;
  for (const auto& [id, job] : jobs_) infos.push_back(infoOf(*job));
  return infos;
}

std::optional<JobInfo> JobRegistry::get(const std::string& id) const {
  std::lock_guard lock(mutex_);
  auto it = jobs_.find(id);
  if (it == jobs_.end()) return std::nullopt;
  return infoOf(*it->second);
}

void JobRegistry::ingest(const std::string& id, const std::string& source,
                         std::vector<Value>&& records, std::chrono::milliseconds timeout) {
  std::shared_ptr<Job> job;
  std::shared_ptr<IngestLog> log;
  std::string name;
  {
    std::lock_guard lock(mutex_);
    auto it = jobs_.find(id);
    if (it == jobs_.end())
      throw JobRegistryError(JobRegistryError::Reason::kNotFound, "no job with id '" + id + "'");
    job = it->second;
    const auto& sources = job->http_sources;
    if (sources.empty())
      throw JobRegistryError(JobRegistryError::Reason::kNotFound,
                             "job '" + job->spec.name + "' has no HttpSource to post events to");
    if (source.empty() && sources.size() > 1) {
      std::string names;
      for (const auto& n : sources) names += (names.empty() ? "" : ", ") + n;
      throw JobRegistryError(JobRegistryError::Reason::kInvalid,
                             "job '" + job->spec.name + "' has several HttpSources (" + names +
                                 "): pick one with ?source=NAME");
    }
    name = source.empty() ? sources.front() : source;
    if (std::find(sources.begin(), sources.end(), name) == sources.end())
      throw JobRegistryError(
          JobRegistryError::Reason::kNotFound,
          "job '" + job->spec.name + "' has no HttpSource named '" + source + "'");
    if (job->status != "running" || job->stopping || job->stop_requested)
      throw JobRegistryError(JobRegistryError::Reason::kNotRunning,
                             "job '" + job->spec.name + "' is " + job->status +
                                 ", not running: it takes no more events");
    auto& slot = job->logs[name];
    if (!slot) slot = std::make_shared<IngestLog>(ingestLogPath(jobs_dir_ / job->id, name));
    log = slot;
  }
  // Backpressure: wait while the job lags too far behind its log.
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    std::uint64_t next = 0;
    {
      std::lock_guard lock(mutex_);
      if (job->status != "running" || job->stopping || job->stop_requested)
        throw JobRegistryError(JobRegistryError::Reason::kNotRunning,
                               "job " + id + " stopped; it takes no more events");
      if (job->process) {
        auto reported = job->process->ingestNext(name);
        if (reported) job->ingest_next[name] = *reported;
      }
      next = job->ingest_next[name];
    }
    const std::uint64_t lag = log->records() > next ? log->records() - next : 0;
    if (lag == 0 || lag + records.size() <= kIngestLag) break;
    if (Clock::now() >= deadline)
      throw JobRegistryError(JobRegistryError::Reason::kBusy,
                             fmt::format("job {} has {} records of its HttpSource '{}' to read and "
                                         "did not catch up within {} ms; nothing was taken, "
                                         "retry later",
                                         id, lag, name, timeout.count()));
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  log->append(records);
  std::shared_ptr<JobProcess> process;
  {
    std::lock_guard lock(mutex_);
    process = job->process;
  }
  if (process) process->wake(name);
}

std::string JobRegistry::savepoint(const std::string& id, bool suspend) {
  std::shared_ptr<JobProcess> process;
  {
    std::lock_guard lock(mutex_);
    auto it = jobs_.find(id);
    if (it == jobs_.end())
      throw JobRegistryError(JobRegistryError::Reason::kNotFound, "no job with id '" + id + "'");
    const Job& job = *it->second;
    if (job.status != "running" || !job.process || job.stopping || job.stop_requested)
      throw JobRegistryError(JobRegistryError::Reason::kNotRunning,
                             "job '" + job.spec.name + "' is " + job.status +
                                 (job.restart_at ? " (restarting)" : "") +
                                 ", not running: there is nothing to take a savepoint of");
    process = job.process;
  }
  fs::path path = data_dir_ / "savepoints" / fmt::format("savepoint-{}-{}.lfsnap", id, nowMs());
  return process->savepoint(fs::absolute(path).string(), kSavepointTimeout, suspend);
}

JobInfo JobRegistry::stop(const std::string& id, std::string* savepoint_path) {
  // The sources stop at the savepoint, so the sinks commit nothing after it; if it fails, the
  // job runs on.
  if (savepoint_path) *savepoint_path = savepoint(id, /*suspend=*/true);
  std::shared_ptr<Job> job;
  std::shared_ptr<JobProcess> process;
  {
    std::lock_guard lock(mutex_);
    auto it = jobs_.find(id);
    if (it == jobs_.end())
      throw JobRegistryError(JobRegistryError::Reason::kNotFound, "no job with id '" + id + "'");
    job = it->second;
    if (job->status != "running" || job->stopping || job->stop_requested)
      throw JobRegistryError(JobRegistryError::Reason::kNotRunning,
                             "job '" + job->spec.name + "' is " +
                                 (job->status == "running" ? "stopping" : job->status) +
                                 ", not running: there is nothing to stop");
    job->stop_requested = true;
    process = job->process;
    if (!process) {  // waiting for a restart after a crash: it just does not happen
      job->restart_at.reset();
      job->status = "stopped";
      job->error.clear();
    }
  }
  if (process) {
    process->stop();
    if (!process->waitExit(kStopTimeout)) {
      std::fprintf(stderr, "lightflusd: job %s did not stop within %lld s; killing it\n",
                   id.c_str(), static_cast<long long>(kStopTimeout.count()));
      process->kill();
      process->waitExit(kStopTimeout);
    }
  }
  JobInfo info;
  bool persist = false;
  {
    std::lock_guard lock(mutex_);
    // The monitor may have taken the process's end already; if not, take it here.
    if (job->process) supervise(*job, Clock::now());
    info = infoOf(*job);
    persist = !job->stopping;  // not deleted meanwhile
  }
  if (persist) {
    try {
      persistStatus(*job);
    } catch (const Error& e) {
      std::fprintf(stderr, "lightflusd: job %s: %s\n", job->id.c_str(), e.what());
    }
  }
  return info;
}

std::optional<JobRegistry::Source> JobRegistry::source(const std::string& id, bool original) const {
  std::lock_guard lock(mutex_);
  auto it = jobs_.find(id);
  if (it == jobs_.end()) return std::nullopt;
  const JobSpec& spec = it->second->spec;
  if (original && !spec.original_file.empty())
    return Source{spec.original_file, spec.original_source};
  return Source{sourceFileName(spec), spec.source};
}

bool JobRegistry::remove(const std::string& id) {
  std::shared_ptr<Job> job;
  {
    std::lock_guard lock(mutex_);
    auto it = jobs_.find(id);
    if (it == jobs_.end()) return false;
    job = it->second;
    jobs_.erase(it);
    job->stopping = true;
  }
  if (job->process) {
    job->process->stop();
    if (!job->process->waitExit(kStopTimeout)) job->process->kill();
    job->process.reset();
  }
  job->logs.clear();
  std::error_code ec;
  fs::remove_all(jobs_dir_ / job->id, ec);
  if (ec)  // the job is gone from the daemon; its leftover directory is only reported
    std::fprintf(stderr, "lightflusd: cannot remove the directory of job %s: %s\n", job->id.c_str(),
                 ec.message().c_str());
  return true;
}

void JobRegistry::shutdown() {
  monitor_.request_stop();
  wake_.notify_all();
  if (monitor_.joinable()) monitor_.join();
  std::map<std::string, std::shared_ptr<Job>> jobs;
  {
    std::lock_guard lock(mutex_);
    jobs.swap(jobs_);
  }
  for (auto& [id, job] : jobs) {
    job->stopping = true;
    if (job->process) job->process->stop();
  }
  for (auto& [id, job] : jobs) {
    if (!job->process) continue;
    if (!job->process->waitExit(kStopTimeout)) {
      std::fprintf(stderr, "lightflusd: job %s did not stop within %lld s; killing it\n",
                   id.c_str(), static_cast<long long>(kStopTimeout.count()));
      job->process->kill();
    }
    job->process.reset();
  }
}

void JobRegistry::persistStatus(const Job& job) const {
  writeFileAtomically(jobs_dir_ / job.id / "status.json",
                      statusJson(job.status, job.error,
                                 PersistedRun{job.restarts, job.metrics, job.dead_letters, job.plan,
                                              job.edges, job.graph_json, job.http_sources}));
  if (job.status == "finished") {
    // The finish is on disk now: the final checkpoint the job's process kept (so that a crash
    // before this point restarted from it, writing nothing twice) is no longer needed.
    std::error_code ec;
    fs::remove_all(jobs_dir_ / job.id / "checkpoints", ec);
  }
}

void JobRegistry::sampleRates(Job& job, Clock::time_point now) {
  const double seconds = std::chrono::duration<double>(now - job.sampled_at).count();
  if (!job.sampled.empty() && seconds < 1.0) return;
  std::map<int, std::pair<std::uint64_t, std::uint64_t>> counts;
  for (const auto& m : job.metrics) counts[m.id] = {m.records_in, m.records_out};
  if (!job.sampled.empty()) {
    job.rates.clear();
    for (const auto& [op, count] : counts) {
      auto before = job.sampled.find(op);
      if (before == job.sampled.end() || count.first < before->second.first ||
          count.second < before->second.second)
        continue;
      job.rates[op] = {static_cast<double>(count.first - before->second.first) / seconds,
                       static_cast<double>(count.second - before->second.second) / seconds};
    }
  }
  job.sampled = std::move(counts);
  job.sampled_at = now;
}

bool JobRegistry::supervise(Job& job, Clock::time_point now) {
  if (!job.process || job.stopping) return false;
  JobProcess::State state = job.process->state();
  bool changed = false;
  if (state.started && (job.plan != state.plan || job.edges.size() != state.edges.size())) {
    job.plan = state.plan;
    job.edges = state.edges;
    job.graph_json = state.graph_json;
    job.http_sources = state.http_sources;
    changed = true;
  }
  if (state.started && job.started_at_ms == 0) job.started_at_ms = nowMs();
  if (state.started && !state.report) {
    job.checkpoints = {};
    job.checkpoints.restored_from = state.restored_from;
    job.checkpoints.restored_id = state.restored_id;
  }
  if (state.report) {
    job.metrics = state.report->operators;
    job.dead_letters = state.report->dead_letters;
    job.checkpoints = state.report->checkpoints;
    for (const auto& [name, next] : state.report->ingest_next) job.ingest_next[name] = next;
    sampleRates(job, now);
  }
  if (!state.exited) return changed;
  job.process.reset();
  job.started_at_ms = 0;
  job.rates.clear();
  job.sampled.clear();
  if (job.stop_requested) {
    // Stopped on request (stop()): however its process ended, unless the job had finished.
    const bool finished = state.ended_cleanly && state.report->status == "finished";
    job.status = finished ? "finished" : "stopped";
    job.error.clear();
  } else if (!state.load_error.empty()) {
    // A job that loaded once but no longer does (its savepoint is gone, ...): restarting
    // would not help.
    job.status = "failed";
    job.error = state.load_error;
  } else if (state.ended_cleanly) {
    job.status = state.report->status;
    job.error = state.report->error;
  } else if (job.restarts < supervision_.max_restarts) {
    ++job.restarts;
    auto delay = supervision_.restart_backoff * (1 << std::min(job.restarts - 1, 10));
    job.restart_at = now + delay;
    job.error =
        fmt::format("restarting in {} ms (restart {} of {}) after {}", delay.count(), job.restarts,
                    supervision_.max_restarts, JobProcess::failureReason(state));
    std::fprintf(stderr, "lightflusd: job %s: %s\n", job.id.c_str(), job.error.c_str());
  } else {
    job.status = "failed";
    job.error = JobProcess::failureReason(state) +
                (job.restarts > 0 ? fmt::format(" (after {} restarts)", job.restarts) : "");
    std::fprintf(stderr, "lightflusd: job %s failed: %s\n", job.id.c_str(), job.error.c_str());
  }
  return true;
}

void JobRegistry::monitor(std::stop_token stop) {
  while (!stop.stop_requested()) {
    std::vector<std::shared_ptr<Job>> changed, due;
    {
      std::unique_lock lock(mutex_);
      wake_.wait_for(lock, stop, std::chrono::milliseconds(200), [] { return false; });
      if (stop.stop_requested()) break;
      const auto now = Clock::now();
      for (auto& [id, job] : jobs_) {
        if (supervise(*job, now)) changed.push_back(job);
        if (job->restart_at && *job->restart_at <= now && !job->process) {
          job->restart_at.reset();
          due.push_back(job);
        }
      }
    }
    // Written and started outside the lock: an fsync or a fork must not hold up the API.
    for (const auto& job : changed) {
      try {
        persistStatus(*job);
      } catch (const Error& e) {
        std::fprintf(stderr, "lightflusd: job %s: %s\n", job->id.c_str(), e.what());
      }
    }
    for (const auto& job : due) {
      std::shared_ptr<JobProcess> process;
      std::string error;
      try {
        process = launch(*job);
      } catch (const std::exception& e) {
        error = e.what();
      }
      std::lock_guard lock(mutex_);
      // Deleted or stopped meanwhile: the process dies with `process`.
      if (job->stopping || job->stop_requested) continue;
      if (process) {
        job->process = std::move(process);
      } else {
        job->status = "failed";
        job->error = error;
      }
    }
  }
}

}  // namespace lightflus::server
