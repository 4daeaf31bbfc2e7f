// The Kafka connectors of JavaScript jobs: a graph's `kafka` source and sink (docs/js-graph.md,
// "Connectors") as lightflus::kafka's KafkaSource and KafkaSink over Values.
//
// The source decodes by the graph's `valueType` ("string", "number", "object" as JSON, "bytes"
// as an array of byte values) and keeps the record timestamps and per-partition watermarks of
// KafkaSource. The sink writes strings as they are and other values as JSON (`valueFormat`
// "string") or everything as JSON ("json"); keyed by the key extractor, when the graph has one
// (JsGraphBuilder computes the key upstream with a keyBy operator); `delivery` "exactly-once"
// (`.exactlyOnce()`) makes it KafkaDelivery::ExactlyOnce. `partition` (`.partition(p)`)
// pins the source to one partition. Built only with the Kafka
// connector (LIGHTFLUS_JS_WITH_KAFKA).
#pragma once

#include <memory>
#include <string>
#include <utility>

#include "js_job.hpp"
#include "lightflus/datastream.hpp"
#include "lightflus/value.hpp"

namespace lightflus::js {

/// The source of a `kafka` source operator. `connector` is its graph JSON, `job_name` the
/// consumer group when the graph has none, `where` names the operator in errors. With `job`
/// and its ErrorPolicy::kDeadLetter, records that cannot be decoded (malformed JSON for
/// valueType "object", not a number for "number") go to the job's dead-letter output
/// (JsJob::deadLetter, with topic/partition@offset in the error); otherwise they fail the job.
SourceFactory<Value> kafkaSourceFactory(const Value& connector, const std::string& job_name,
                                        const std::string& where,
                                        std::shared_ptr<const JsJob> job = nullptr);

/// The sink of a `kafka` sink operator without a key extractor. With `delivery`
/// "exactly-once" it is a KafkaDelivery::ExactlyOnce sink whose transactional ids are
/// `<transactionalId>-<subtask>`; a null `transactionalId` uses `default_transactional_id`.
SinkFactory<Value> kafkaSinkFactory(const Value& connector, const std::string& where,
                                    const std::string& default_transactional_id);

/// The sink of a `kafka` sink operator with a key extractor: (key, value) pairs (KeyedValue).
SinkFactory<std::pair<Value, Value>> kafkaKeyedSinkFactory(
    const Value& connector, const std::string& where, const std::string& default_transactional_id);

}  // namespace lightflus::js
