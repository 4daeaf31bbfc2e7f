#include "job_process_command.hpp"

#include <rapidjson/document.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <thread>

#include <fmt/format.h>

#include "ingest_log.hpp"
#include "job_protocol.hpp"
#include "js_graph_builder.hpp"
#include "lightflus/error.hpp"

namespace lightflus::server {

namespace fs = std::filesystem;

namespace {

// How often the job's process reports its counters.
constexpr std::chrono::milliseconds kReportInterval{250};

std::string readSource(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError("cannot read the job's source '" + path + "'");
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

fs::path normalPath(const std::string& path) {
  std::error_code ec;
  fs::path absolute = fs::absolute(path, ec);
  if (ec) absolute = path;
  fs::path normal = fs::weakly_canonical(absolute, ec);
  return ec ? absolute.lexically_normal() : normal;
}

bool isUnder(const fs::path& path, const fs::path& root) {
  auto [root_end, path_end] = std::mismatch(root.begin(), root.end(), path.begin(), path.end());
  // A trailing empty component ("dir/") matches too.
  return root_end == root.end() || (std::next(root_end) == root.end() && root_end->empty());
}

// The files a connector of the graph reads or writes: (where, path).
std::vector<std::pair<std::string, std::string>> connectorPaths(const Value& graph) {
  std::vector<std::pair<std::string, std::string>> paths;
  const Value& operators = graph["operators"];
  if (!operators.isArray()) return paths;
  for (const Value& op : operators.asArray()) {
    const Value& connector = op["connector"];
    if (!connector.isObject()) continue;
    std::string name =
        op["name"].isString()
            ? std::string(op["name"].asString())
            : std::string(op["kind"].isString() ? op["kind"].asString() : "operator");
    if (connector["type"].isString() && connector["type"].asString() == "file" &&
        connector["path"].isString())
      paths.emplace_back(name, std::string(connector["path"].asString()));
    if (connector["caFile"].isString())
      paths.emplace_back(name, std::string(connector["caFile"].asString()));
  }
  return paths;
}

// The ids of the HttpSources' progress, by name, shared with the report loop.
using IngestSources = std::map<std::string, std::shared_ptr<IngestProgress>>;

JobReport reportOf(const JobHandle& handle, const js::JsJob& js, const IngestSources& sources) {
  JobReport report;
  JobStatus status = handle.status();
  report.status = status == JobStatus::Cancelled ? "stopped" : toString(status);
  report.error = handle.error();
  report.operators = handle.metrics();
  report.checkpoints = handle.checkpointStats();
  for (const auto& [name, progress] : sources) report.ingest_next[name] = progress->next_record;
  report.dead_letters = js.deadLetterCounts();
  return report;
}

std::string startedMessage(const StartedJob& started, const std::string& graph,
                           const JobHandle& handle, const IngestSources& sources,
                           const CheckpointSetup& setup) {
  std::string names;
  for (const auto& [name, progress] : sources)
    names += (names.empty() ? "" : ",") + jsonString(name);
  return fmt::format(
      R"({{"type":"started","name":{},"graph":{},"plan":{},"edges":{},"httpSources":[{}],"restoredFrom":{},"restoredId":{}}})",
      jsonString(started.name), jsonString(graph), jsonString(handle.describePlan()),
      encodePlanEdges(handle.planEdges()), names, jsonString(setup.restored_from),
      setup.restored_id);
}

// Serves the daemon's requests until it hangs up or the job ends.
void serveRequests(LineChannel& control, JobHandle& handle, js::JsJob& js,
                   const IngestSources& sources, std::atomic<bool>& done) {
  std::vector<std::jthread> savepoints;
  while (!done) {
    bool eof = false;
    auto line = control.receiveFor(std::chrono::milliseconds(100), eof);
    if (eof) {  // the daemon is gone: stop (the checkpoints stay)
      handle.cancel();
      js.terminate();
      return;
    }
    if (!line) continue;
    rapidjson::Document message;
    if (message.Parse(line->c_str()).HasParseError() || !message.IsObject() ||
        !message.HasMember("type") || !message["type"].IsString())
      continue;
    std::string_view type = message["type"].GetString();
    if (type == "stop") {
      handle.cancel();
      js.terminate();
    } else if (type == "wake" && message.HasMember("source") && message["source"].IsString()) {
      auto it = sources.find(message["source"].GetString());
      if (it != sources.end()) it->second->wake();
    } else if (type == "savepoint" && message.HasMember("path") && message["path"].IsString()) {
      std::uint64_t request = message.HasMember("request") && message["request"].IsUint64()
                                  ? message["request"].GetUint64()
                                  : 0;
      std::string path = message["path"].GetString();
      // Stop with savepoint: the sources stop at it, the daemon's stop request follows.
      const bool suspend = message.HasMember("suspend") && message["suspend"].IsBool() &&
                           message["suspend"].GetBool();
      // A savepoint waits for the job's barriers: not on the thread that reads stop requests.
      savepoints.emplace_back([&control, &handle, request, path, suspend] {
        try {
          fs::create_directories(fs::path(path).parent_path());
          if (suspend)
            handle.suspendWithSavepoint(path);
          else
            handle.savepoint(path);
          control.send(fmt::format(R"({{"type":"reply","request":{},"path":{}}})", request,
                                   jsonString(path)));
        } catch (const std::exception& e) {
          control.send(fmt::format(R"({{"type":"reply","request":{},"error":{}}})", request,
                                   jsonString(e.what())));
        }
      });
    }
  }
}

}  // namespace

JobProcessOptions parseJobProcessOptions(std::span<char* const> args) {
  JobProcessOptions options;
  std::vector<char*> run_args;
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string_view arg = args[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= args.size()) throw ConfigError(fmt::format("{} expects a value", arg));
      return args[++i];
    };
    if (arg == "--control-fd")
      options.control_fd = std::stoi(value());
    else if (arg == "--job-dir")
      options.job_dir = value();
    else if (arg == "--file-name")
      options.file_name = value();
    else if (arg == "--allow-path")
      options.allow_paths.push_back(value());
    else
      run_args.push_back(args[i]);
  }
  if (options.job_dir.empty()) throw ConfigError("job-process expects --job-dir");
  options.run = parseRunOptions(run_args);
  return options;
}

void checkAllowedPath(const std::string& what, const std::string& path,
                      const std::vector<std::string>& roots) {
  if (roots.empty() || path == "/dev/null") return;  // harmless, where tests send what they ignore
  fs::path normal = normalPath(path);
  std::string list;
  for (const auto& root : roots) {
    fs::path normal_root = normalPath(root);
    if (isUnder(normal, normal_root)) return;
    list += (list.empty() ? "" : ", ") + normal_root.string();
  }
  throw ConfigError(fmt::format(
      "{} '{}' is outside the paths this daemon allows ({}); use a path under one of them or "
      "start lightflusd serve with --allow-path",
      what, path, list));
}

void checkAllowedPaths(const Value& graph, const std::vector<std::string>& roots) {
  for (const auto& [where, path] : connectorPaths(graph))
    checkAllowedPath("operator '" + where + "' would touch", path, roots);
}

int runJobProcess(const JobProcessOptions& options) {
  LineChannel control(options.control_fd);
  const std::string job_dir = options.job_dir;
  auto log = [](const std::string& line) { std::fprintf(stderr, "%s\n", line.c_str()); };
  std::shared_ptr<js::JsJob> js;
  IngestSources sources;
  std::optional<StartedJob> started;
  CheckpointSetup setup;
  try {
    js = loadJob(readSource(options.run.job_path), jsJobOptions(options.run, options.file_name));
    checkAllowedPaths(js->graph(), options.allow_paths);
    std::string job_name = js->graph()["job"]["name"].isString()
                               ? std::string(js->graph()["job"]["name"].asString())
                               : "job";
    setup = checkpointSetup(options.run, *js, job_name, log);
    if (setup.restored_id != 0) log(setup.resumeMessage());
    // The daemon deletes a finished job's checkpoints once it has recorded the finish: until
    // then a restart must find the final checkpoint, not an older one or none.
    setup.execution.checkpoints.keep_final_checkpoint = true;
    js::JsGraphOptions graph_options;
    graph_options.http_source = [&sources, job_dir](const Value& op) -> SourceFactory<Value> {
      std::string name = op["name"].isString() ? std::string(op["name"].asString()) : "http";
      if (sources.contains(name))
        throw ConfigError("the job has two HttpSources named '" + name +
                          "'; give them different names with .name()");
      auto progress = std::make_shared<IngestProgress>();
      sources[name] = progress;
      fs::path path = ingestLogPath(job_dir, name);
      return [path, progress] { return std::make_unique<IngestLogSource>(path, progress); };
    };
    started.emplace(
        startJob(js, options.run.parallelism, graph_options, std::move(setup.execution)));
  } catch (const std::exception& e) {
    control.send(fmt::format(R"({{"type":"loadError","error":{}}})", jsonString(e.what())));
    return 3;
  }
  JobHandle& handle = started->handle;
  control.send(startedMessage(*started, js->graphJson(), handle, sources, setup));

  std::atomic<bool> done{false};
  std::jthread requests([&] { serveRequests(control, handle, *js, sources, done); });
  while (!handle.waitFor(kReportInterval))
    control.send(encodeReport(reportOf(handle, *js, sources)));
  control.send(encodeReport(reportOf(handle, *js, sources)));
  done = true;
  return 0;
}

}  // namespace lightflus::server
