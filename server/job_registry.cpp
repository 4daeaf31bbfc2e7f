#include "job_registry.hpp"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <cstdio>
#include <random>

#include <fmt/format.h>

#include "atomic_file.hpp"
#include "js_graph_builder.hpp"
#include "lightflus/connectors/ingest.hpp"

namespace lightflus::server {

namespace fs = std::filesystem;

struct JobRegistry::Job {
  std::string id;
  JobSpec spec;
  std::string status = "created";
  std::string error;
  std::string graph_json;
  std::string plan;
  std::shared_ptr<js::JsJob> js;
  std::optional<JobHandle> handle;
  std::string persisted_status;
  std::int64_t created_at_ms = 0;
  // Rates: the counters at the last sample (by operator id), and when it was taken.
  std::map<int, std::pair<std::uint64_t, std::uint64_t>> sampled;
  std::chrono::steady_clock::time_point sampled_at;
  std::map<int, JobInfo::Rate> rates;
  /// The queues of the job's HttpSources, by operator name.
  std::map<std::string, std::shared_ptr<IngestQueue<Value>>> ingest;
};

namespace {

// Records an HttpSource holds before POSTs wait for the job to catch up.
constexpr std::size_t kIngestQueueCapacity = 10'000;

// The engine's status names, but "stopped" for a cancelled job (the REST API's word).
const char* statusOf(JobStatus status) {
  return status == JobStatus::Cancelled ? "stopped" : toString(status);
}

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

std::string statusJson(const std::string& status, const std::string& error) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> out(buffer);
  out.StartObject();
  out.Key("status");
  out.String(status.c_str());
  out.Key("error");
  out.String(error.c_str());
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

JobRegistry::JobRegistry(fs::path data_dir, std::size_t max_jobs, RunOptions defaults)
    : jobs_dir_(std::move(data_dir) / "jobs"), max_jobs_(max_jobs), defaults_(std::move(defaults)) {
  fs::create_directories(jobs_dir_);
  monitor_ = std::jthread([this](std::stop_token stop) { monitor(stop); });
}

JobRegistry::~JobRegistry() {
  shutdown();
}

std::shared_ptr<JobRegistry::Job> JobRegistry::startLoaded(JobSpec spec, std::string id) {
  RunOptions options = defaults_;
  options.params = spec.params;
  std::string file_name =
      (spec.name.empty() ? std::string("job") : spec.name) + (spec.javascript ? ".js" : ".ts");
  auto js = loadJob(spec.source, jsJobOptions(options, file_name));
  auto job = std::make_shared<Job>();
  job->id = std::move(id);
  job->graph_json = js->graphJson();
  if (spec.name.empty()) {
    const Value& name = js->graph()["job"]["name"];
    spec.name = name.isString() ? std::string(name.asString()) : "job";
  }
  job->spec = std::move(spec);
  js::JsGraphOptions graph_options;
  graph_options.http_source = [job](const Value& op) -> SourceFactory<Value> {
    std::string name = op["name"].isString() ? std::string(op["name"].asString()) : "http";
    if (job->ingest.contains(name))
      throw ConfigError("the job has two HttpSources named '" + name +
                        "'; give them different names with .name()");
    auto queue = std::make_shared<IngestQueue<Value>>(kIngestQueueCapacity);
    job->ingest[name] = queue;
    return [queue] { return std::make_unique<IngestSource<Value>>(queue); };
  };
  StartedJob started = startJob(js, job->spec.parallelism, std::move(graph_options));
  job->js = std::move(started.js);
  job->plan = started.handle.describePlan();
  job->handle.emplace(std::move(started.handle));
  job->status = "running";
  return job;
}

std::size_t JobRegistry::restore() {
  std::size_t restarted = 0;
  for (const auto& entry : fs::directory_iterator(jobs_dir_)) {
    if (!entry.is_directory()) continue;
    auto job = std::make_shared<Job>();
    try {
      rapidjson::Document meta = parseJson(entry.path() / "job.json");
      rapidjson::Document status = parseJson(entry.path() / "status.json");
      job->id = entry.path().filename().string();
      job->spec.name = stringMember(meta, "name");
      if (meta.HasMember("parallelism") && meta["parallelism"].IsInt())
        job->spec.parallelism = meta["parallelism"].GetInt();
      job->spec.javascript = meta.HasMember("javascript") && meta["javascript"].IsTrue();
      if (meta.HasMember("createdAt") && meta["createdAt"].IsInt64())
        job->created_at_ms = meta["createdAt"].GetInt64();
      if (meta.HasMember("params") && meta["params"].IsObject())
        for (const auto& param : meta["params"].GetObject())
          if (param.value.IsString())
            job->spec.params[param.name.GetString()] = param.value.GetString();
      job->spec.source = readWholeFile(entry.path() / sourceFileName(job->spec));
      job->status = stringMember(status, "status");
      job->error = stringMember(status, "error");
    } catch (const Error& e) {
      std::fprintf(stderr, "lightflusd: skipping job directory: %s\n", e.what());
      continue;
    }
    job->persisted_status = job->status;
    if (job->status == "running") {
      try {
        auto started = startLoaded(job->spec, job->id);
        started->persisted_status = "running";
        started->created_at_ms = job->created_at_ms;
        job = started;
        ++restarted;
      } catch (const std::exception& e) {
        job->status = "failed";
        job->error = e.what();
        persistStatus(*job);
        job->persisted_status = job->status;
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
  {
    // Refused before the (slow) load when the daemon is full.
    std::lock_guard lock(mutex_);
    if (jobs_.size() + reserved_names_.size() >= max_jobs_)
      throw JobRegistryError(
          JobRegistryError::Reason::kTooManyJobs,
          fmt::format("the daemon holds its limit of {} jobs; delete one first", max_jobs_));
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
  // A named job reserves its name before the slow load; an unnamed one once its name is known.
  std::string reserved = spec.name;
  if (!reserved.empty()) reserve(reserved);
  std::shared_ptr<Job> job;
  try {
    job = startLoaded(std::move(spec), newJobId());
    if (reserved.empty()) {
      reserved = job->spec.name;
      if (!isValidJobName(reserved))
        throw JobRegistryError(JobRegistryError::Reason::kInvalid,
                               "the job's name '" + reserved + "' is not valid; pass ?name=");
      reserve(reserved);
    }
    fs::path dir = jobs_dir_ / job->id;
    fs::create_directories(dir);
    writeFileAtomically(dir / sourceFileName(job->spec), job->spec.source);
    job->created_at_ms = nowMs();
    writeFileAtomically(dir / "job.json", jobJson(job->id, job->spec, job->created_at_ms));
    persistStatus(*job);
    job->persisted_status = job->status;
  } catch (...) {
    if (job && job->handle) {
      job->handle->cancel();
      job->js->terminate();
    }
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
  info.plan = job.plan;
  info.graph_json = job.graph_json;
  info.created_at_ms = job.created_at_ms;
  info.rates = job.rates;
  if (job.handle) {
    info.status = statusOf(job.handle->status());
    info.error = job.handle->error();
    info.metrics = job.handle->metrics();
  }
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
  std::shared_ptr<IngestQueue<Value>> queue;
  {
    std::lock_guard lock(mutex_);
    auto it = jobs_.find(id);
    if (it == jobs_.end())
      throw JobRegistryError(JobRegistryError::Reason::kNotFound, "no job with id '" + id + "'");
    const Job& job = *it->second;
    if (job.ingest.empty())
      throw JobRegistryError(JobRegistryError::Reason::kNotFound,
                             "job '" + job.spec.name + "' has no HttpSource to post events to");
    if (source.empty() && job.ingest.size() > 1) {
      std::string names;
      for (const auto& [name, q] : job.ingest) names += (names.empty() ? "" : ", ") + name;
      throw JobRegistryError(JobRegistryError::Reason::kInvalid,
                             "job '" + job.spec.name + "' has several HttpSources (" + names +
                                 "): pick one with ?source=NAME");
    }
    auto q = source.empty() ? job.ingest.begin() : job.ingest.find(source);
    if (q == job.ingest.end())
      throw JobRegistryError(
          JobRegistryError::Reason::kNotFound,
          "job '" + job.spec.name + "' has no HttpSource named '" + source + "'");
    if (!job.handle || job.handle->status() != JobStatus::Running)
      throw JobRegistryError(JobRegistryError::Reason::kNotRunning,
                             "job '" + job.spec.name + "' is " + infoOf(job).status +
                                 ", not running: it takes no more events");
    queue = q->second;
  }
  switch (queue->offer(std::move(records), timeout)) {
    case OfferResult::Accepted:
      return;
    case OfferResult::TimedOut:
      throw JobRegistryError(JobRegistryError::Reason::kBusy,
                             fmt::format("job {}'s HttpSource holds {} records and did not make "
                                         "room within {} ms; nothing was taken, retry later",
                                         id, queue->size(), timeout.count()));
    case OfferResult::Closed:
      throw JobRegistryError(JobRegistryError::Reason::kNotRunning,
                             "job " + id + " stopped; it takes no more events");
  }
}

bool JobRegistry::remove(const std::string& id) {
  std::shared_ptr<Job> job;
  {
    std::lock_guard lock(mutex_);
    auto it = jobs_.find(id);
    if (it == jobs_.end()) return false;
    job = it->second;
    jobs_.erase(it);
  }
  for (auto& [name, queue] : job->ingest) queue->close();
  if (job->handle) {
    job->handle->cancel();
    job->js->terminate();
    job->handle->waitFor(Duration(5000));
  }
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
    for (auto& [name, queue] : job->ingest) queue->close();
    if (!job->handle) continue;
    job->handle->cancel();
    job->js->terminate();
  }
  for (auto& [id, job] : jobs)
    if (job->handle) job->handle->waitFor(Duration(5000));
}

void JobRegistry::persistStatus(const Job& job) const {
  std::string status = job.status;
  std::string error = job.error;
  if (job.handle) {
    status = statusOf(job.handle->status());
    error = job.handle->error();
  }
  writeFileAtomically(jobs_dir_ / job.id / "status.json", statusJson(status, error));
}

void JobRegistry::sampleRates(Job& job, std::chrono::steady_clock::time_point now) {
  const double seconds = std::chrono::duration<double>(now - job.sampled_at).count();
  if (!job.sampled.empty() && seconds < 1.0) return;
  std::map<int, std::pair<std::uint64_t, std::uint64_t>> counts;
  for (const auto& m : job.handle->metrics()) counts[m.id] = {m.records_in, m.records_out};
  if (!job.sampled.empty()) {
    job.rates.clear();
    for (const auto& [op, count] : counts) {
      auto before = job.sampled.find(op);
      if (before == job.sampled.end()) continue;
      job.rates[op] = {static_cast<double>(count.first - before->second.first) / seconds,
                       static_cast<double>(count.second - before->second.second) / seconds};
    }
  }
  job.sampled = std::move(counts);
  job.sampled_at = now;
}

void JobRegistry::monitor(std::stop_token stop) {
  while (!stop.stop_requested()) {
    std::vector<std::shared_ptr<Job>> ended;
    {
      std::unique_lock lock(mutex_);
      wake_.wait_for(lock, stop, std::chrono::milliseconds(200), [] { return false; });
      if (stop.stop_requested()) break;
      const auto now = std::chrono::steady_clock::now();
      for (auto& [id, job] : jobs_) {
        if (!job->handle) continue;
        sampleRates(*job, now);
        std::string status = statusOf(job->handle->status());
        if (status != "running" && status != job->persisted_status) ended.push_back(job);
      }
    }
    // Written outside the lock: an fsync must not hold up the API.
    for (const auto& job : ended) {
      for (auto& [name, queue] : job->ingest) queue->close();  // wakes POSTs waiting for room
      try {
        persistStatus(*job);
        std::lock_guard lock(mutex_);
        job->persisted_status = statusOf(job->handle->status());
      } catch (const Error& e) {
        std::fprintf(stderr, "lightflusd: job %s: %s\n", job->id.c_str(), e.what());
      }
    }
  }
}

}  // namespace lightflus::server
