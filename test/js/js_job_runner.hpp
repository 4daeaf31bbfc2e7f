// Running TypeScript jobs in tests: the whole job to its end, or from a snapshot taken midway
// at another parallelism, with the sinks' elements collected (js_job_test.cpp,
// js_join_test.cpp).
#pragma once

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "js_graph_builder.hpp"
#include "js_job.hpp"
#include "lightflus/lightflus.hpp"

namespace lightflus::test {

using js::ErrorPolicy;
using js::JsGraphBuilder;
using js::JsGraphOptions;
using js::JsJob;
using js::JsJobOptions;

// Runs a job and returns what its sinks received (all sinks, in no particular order); the
// operators' metrics go to `metrics` when given.
inline std::vector<Value> run(std::string_view source, const std::string& file_name,
                              int parallelism = 1, JsJobOptions options = {},
                              ExecutionOptions execution = {},
                              std::vector<OperatorMetrics>* metrics = nullptr) {
  options.file_name = file_name;
  auto job = JsJob::load(source, options);
  std::vector<CollectResult<Value>> results;  // one per sink
  JsGraphOptions graph_options;
  graph_options.sink_override = [&results](const Value&) -> SinkFactory<Value> {
    auto state = results.emplace_back().state_;
    return [state] { return std::make_unique<CollectSink<Value>>(state); };
  };
  graph_options.parallelism = parallelism;
  ExecutionContext ctx = JsGraphBuilder(job, graph_options).build();
  execution.parallelism = parallelism;
  JobHandle handle = ctx.start(std::move(execution));
  handle.wait();
  if (metrics) *metrics = handle.metrics();
  std::vector<Value> all;
  for (const auto& result : results)
    for (auto& v : result.values()) all.push_back(std::move(v));
  return all;
}

// Runs `job` at parallelism `first` until a checkpoint taken about 400 ms in, cancels it, then
// runs it to its end from that checkpoint at parallelism `second`, and returns what the second
// run's sinks received, as strings. With `plan_parallelism` the graph builder is told each
// run's parallelism (JsGraphOptions::parallelism: what runs at 1 may then fuse).
inline std::vector<std::string> runRestored(const std::shared_ptr<JsJob>& job, int first,
                                            int second, bool plan_parallelism = false) {
  auto build = [&](std::vector<CollectResult<Value>>& results, int parallelism) {
    JsGraphOptions options;
    if (plan_parallelism) options.parallelism = parallelism;
    options.sink_override = [&results](const Value&) -> SinkFactory<Value> {
      auto state = results.emplace_back().state_;
      return [state] { return std::make_unique<CollectSink<Value>>(state); };
    };
    return JsGraphBuilder(job, options).build();
  };
  std::vector<CollectResult<Value>> first_results;
  ExecutionContext first_run = build(first_results, first);
  ExecutionOptions options;
  options.parallelism = first;
  JobHandle running = first_run.start(options);
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  auto snapshot = std::make_shared<Snapshot>(running.triggerCheckpoint());
  running.cancel();
  running.wait();
  REQUIRE(snapshot->operators.size() > 0);

  std::vector<CollectResult<Value>> results;
  ExecutionContext second_run = build(results, second);
  options.parallelism = second;
  options.restore = snapshot;
  second_run.execute(options);
  std::vector<std::string> lines;
  for (const auto& r : results)
    for (const auto& v : r.values()) lines.emplace_back(v.asString());
  return lines;
}

inline std::vector<std::string> sortedStrings(const std::vector<Value>& values) {
  std::vector<std::string> lines;
  for (const auto& v : values)
    lines.push_back(v.isString() ? std::string(v.asString()) : v.toJson());
  std::sort(lines.begin(), lines.end());
  return lines;
}

// The dead letters of a job run with the dead-letter policy (written from the job's threads;
// read them once the run is over).
struct DeadLetters {
  std::mutex mutex;
  std::vector<std::string> lines;
  JsJobOptions options() {
    JsJobOptions o;
    o.on_error = ErrorPolicy::kDeadLetter;
    o.dead_letters = [this](std::string_view line) {
      std::lock_guard lock(mutex);
      lines.emplace_back(line);
    };
    return o;
  }
};

}  // namespace lightflus::test
