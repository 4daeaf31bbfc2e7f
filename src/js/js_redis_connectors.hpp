// The Redis sink of JavaScript jobs: a graph's `redis` sink (docs/js-graph.md, "Connectors") as
// lightflus::redis's RedisSink over (key, value) pairs.
//
// JsGraphBuilder computes the pairs upstream: a keyBy with the key extractor (its hash exchange
// keeps the writes of one key in order, on one connection) and a keyed map with the value
// extractor. Keys and values are written as strings as they are, numbers as decimal text and
// other values as JSON; for HSET without a fixed hash key and for XADD an object value becomes
// one field per member. Built only with the Redis connector (LIGHTFLUS_JS_WITH_REDIS).
#pragma once

#include <string>
#include <utility>

#include "lightflus/changelog.hpp"
#include "lightflus/datastream.hpp"
#include "lightflus/value.hpp"

namespace lightflus::js {

/// The sink of a `redis` sink operator: (key, value) pairs (KeyedValue). `connector` is its
/// graph JSON, `where` names the operator in errors.
SinkFactory<std::pair<Value, Value>> redisSinkFactory(const Value& connector,
                                                      const std::string& where);
/// The same sink applying changelog rows (`.changelog()`: +I/+U write, -U skipped, -D deletes).
SinkFactory<Change<std::pair<Value, Value>>> redisChangelogSinkFactory(const Value& connector,
                                                                       const std::string& where);

}  // namespace lightflus::js
