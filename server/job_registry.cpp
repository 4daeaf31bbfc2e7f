#include "job_registry.hpp"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cstdio>
#include <random>

#include <fmt/format.h>

#include "atomic_file.hpp"

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
};

namespace {

const char* statusOf(JobStatus status) {
  switch (status) {
    case JobStatus::Running:
      return "running";
    case JobStatus::Finished:
      return "finished";
    case JobStatus::Failed:
      return "failed";
    case JobStatus::Cancelled:
      return "stopped";
  }
  return "failed";
}

std::string newJobId() {
  static thread_local std::mt19937_64 random{std::random_device{}()};
  return fmt::format("{:016x}", random());
}

std::string sourceFileName(const JobSpec& spec) {
  return spec.javascript ? "source.js" : "source.ts";
}

std::string jobJson(const std::string& id, const JobSpec& spec) {
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
  StartedJob started = startJob(js, job->spec.parallelism);
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
    writeFileAtomically(dir / "job.json", jobJson(job->id, job->spec));
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
  if (job.handle) {
    info.status = statusOf(job.handle->status());
    info.error = job.handle->error();
    info.metrics = job.handle->metrics();
  }
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

bool JobRegistry::remove(const std::string& id) {
  std::shared_ptr<Job> job;
  {
    std::lock_guard lock(mutex_);
    auto it = jobs_.find(id);
    if (it == jobs_.end()) return false;
    job = it->second;
    jobs_.erase(it);
  }
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

void JobRegistry::monitor(std::stop_token stop) {
  while (!stop.stop_requested()) {
    std::vector<std::shared_ptr<Job>> ended;
    {
      std::unique_lock lock(mutex_);
      wake_.wait_for(lock, stop, std::chrono::milliseconds(200), [] { return false; });
      if (stop.stop_requested()) break;
      for (auto& [id, job] : jobs_) {
        if (!job->handle) continue;
        std::string status = statusOf(job->handle->status());
        if (status != "running" && status != job->persisted_status) ended.push_back(job);
      }
    }
    // Written outside the lock: an fsync must not hold up the API.
    for (const auto& job : ended) {
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
