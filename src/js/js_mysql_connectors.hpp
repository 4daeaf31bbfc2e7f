// The MySQL sink of JavaScript jobs: a graph's `mysql` sink (docs/js-graph.md, "Connectors") as
// lightflus::mysql's MysqlSink over Values.
//
// The parameters are computed in JavaScript, once per batch: the graph's `parametersExtractor`
// UDF maps an element to the array of its parameter values (the TS builder registers it as
// `x => [e1(x), e2(x), ...]` over the `setString`/`setNumber` extractors in placeholder order).
// JsGraphBuilder runs it as a map chain before the sink, which receives those arrays, checks
// them against the declared parameter types and binds them. Built only with the MySQL
// connector (LIGHTFLUS_JS_WITH_MYSQL).
#pragma once

#include <string>

#include "lightflus/changelog.hpp"
#include "lightflus/datastream.hpp"
#include "lightflus/value.hpp"

namespace lightflus::js {

/// The sink of a `mysql` sink operator, over the parameter arrays. `connector` is its graph
/// JSON, `where` names the operator in errors. Throws ConfigError for incomplete options.
SinkFactory<Value> mysqlSinkFactory(const Value& connector, const std::string& where);
/// The same applying changelog rows (`.changelog(deleteStatement)`): +I/+U run the statement,
/// -U is skipped, -D runs `deleteStatement` with the first parameters.
SinkFactory<Change<Value>> mysqlChangelogSinkFactory(const Value& connector,
                                                     const std::string& where);

}  // namespace lightflus::js
