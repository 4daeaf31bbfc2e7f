// The Elasticsearch sink of JavaScript jobs: a graph's `elasticsearch` sink (docs/js-graph.md,
// "Connectors") as lightflus::elasticsearch's ElasticsearchSink over Values.
//
// Without an id extractor the sink reads Values; with one, JsGraphBuilder computes the ids
// upstream with a keyBy operator and the sink reads (id, document) pairs (KeyedValue). Values
// that are not objects are written as {"value": v}. A document Elasticsearch refuses fails the
// job, or, when the job's error policy is ErrorPolicy::kDeadLetter, goes to the job's dead-letter
// output (JsJob::deadLetter). Built only with the Elasticsearch connector
// (LIGHTFLUS_JS_WITH_ELASTICSEARCH).
#pragma once

#include <memory>
#include <string>
#include <utility>

#include "lightflus/changelog.hpp"
#include "lightflus/datastream.hpp"
#include "lightflus/value.hpp"

namespace lightflus::js {

class JsJob;

/// The sink of an `elasticsearch` sink operator without an id extractor (append only).
/// `connector` is its graph JSON, `where` names the operator in errors, `job` and
/// `operator_name` are where dead letters go.
SinkFactory<Value> elasticsearchSinkFactory(const Value& connector, const std::string& where,
                                            std::shared_ptr<JsJob> job,
                                            const std::string& operator_name);

/// The sink of an `elasticsearch` sink operator with an id extractor: (id, document) pairs.
SinkFactory<std::pair<Value, Value>> elasticsearchKeyedSinkFactory(
    const Value& connector, const std::string& where, std::shared_ptr<JsJob> job,
    const std::string& operator_name);
/// The same applying changelog rows (`.changelog()`): +I/+U index, -U skipped, -D deletes.
SinkFactory<Change<std::pair<Value, Value>>> elasticsearchChangelogSinkFactory(
    const Value& connector, const std::string& where, std::shared_ptr<JsJob> job,
    const std::string& operator_name);

}  // namespace lightflus::js
