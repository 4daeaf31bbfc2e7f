// JsGraphBuilder: a JavaScript job's logical graph (docs/js-graph.md, section 6) as engine
// operators.
//
// Streams are DataStream<Value>; after keyBy, DataStream<KeyedValue> (key, value), which keyed
// map/flatMap/filter keep and keyed reduce, aggregate and windows consume through the engine's
// hash exchange. Consecutive map/flatMap/filter operators (each read only by the next) fuse
// into one JsChainOperator: one call into JavaScript per batch for the whole chain. Windows
// read by reduce or aggregate become the engine's WindowOperator (through the typed
// WindowedStream API) with a JsWindowFunction; read by anything else, a window releases its
// elements when it fires.
//
// Sources: file (lines, jsonLines; the path "-" reads stdin), generator, Kafka, http (fed by
// the host: JsGraphOptions::http_source). Sinks: stdout, file (one file, or rolling), Kafka,
// Redis, MySQL and Elasticsearch (js_<connector>_connectors.hpp; each when its connector is
// built, otherwise a ConfigError naming what the build lacks).
#pragma once

#include <functional>
#include <memory>
#include <optional>

#include "js_job.hpp"
#include "lightflus/datastream.hpp"
#include "lightflus/value.hpp"

namespace lightflus::js {

struct JsGraphOptions {
  /// Called for every sink operator of the graph (its JSON); a non-empty factory replaces the
  /// sink (tests collect results this way).
  std::function<SinkFactory<Value>(const Value& sink_operator)> sink_override;
  /// Called for every `http` source operator (TS HttpSource): the Source the host feeds (an
  /// IngestSource over a queue it owns). Without it, a job with an HttpSource cannot start.
  std::function<SourceFactory<Value>(const Value& source_operator)> http_source;
  /// The parallelism the job will run with (ExecutionOptions::parallelism; 0: the job's own
  /// default), if known. Known, it lets a chain, keyBy and window aggregate that all run with
  /// parallelism 1 fuse into one operator (JsChainWindowOperator).
  std::optional<int> parallelism;
  /// A keyBy over JSON texts hands its parsed batches to the process function or window
  /// chained after it (parallelism 1; js_keyed_reader.hpp) instead of key-group blocks, so
  /// each element is parsed once. False sends blocks, as across an exchange (tests compare).
  bool keyed_handoff = true;
};

/// Builds the engine graph of a loaded job.
///
///   auto job = JsJob::load(source, {.file_name = "wordCount.ts"});
///   ExecutionContext ctx = JsGraphBuilder(job).build();
///   ctx.execute({.parallelism = 2});
class JsGraphBuilder {
 public:
  explicit JsGraphBuilder(std::shared_ptr<JsJob> job, JsGraphOptions options = {})
      : job_(std::move(job)), options_(std::move(options)) {}

  /// A context with the job's operators, ready to execute. Throws ConfigError for a graph the
  /// engine cannot run (an unknown kind, a connector not available in this build).
  ExecutionContext build();

 private:
  std::shared_ptr<JsJob> job_;
  JsGraphOptions options_;
};

}  // namespace lightflus::js
