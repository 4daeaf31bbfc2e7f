#include "js_elasticsearch_connectors.hpp"

#include <fmt/format.h>

#include <memory>

#include "js_job.hpp"
#include "lightflus/connectors/elasticsearch.hpp"
#include "lightflus/error.hpp"

namespace lightflus::js {

namespace {

std::string stringOption(const Value& c, std::string_view field, const std::string& where,
                         bool required) {
  const Value& v = c[field];
  if (v.isString() && !v.asString().empty()) return std::string(v.asString());
  if (required || !v.isNull())
    throw ConfigError(where + ": the Elasticsearch sink's '" + std::string(field) +
                      "' must be a non-empty string");
  return "";
}

template <class T>
void numberOption(const Value& c, std::string_view field, const std::string& where, T& out) {
  const Value& v = c[field];
  if (v.isNull()) return;
  if (!v.isInt() || v.asInt() < 1)
    throw ConfigError(where + ": the Elasticsearch sink's '" + std::string(field) +
                      "' must be an integer >= 1");
  out = T(v.asInt());
}

ElasticsearchSinkOptions optionsOf(const Value& c, const std::string& where,
                                   const std::shared_ptr<JsJob>& job,
                                   const std::string& operator_name) {
  ElasticsearchSinkOptions options;
  options.host = stringOption(c, "host", where, true);
  options.index = stringOption(c, "index", where, true);
  std::string mode = stringOption(c, "sinkMode", where, false);
  if (mode == "upsert")
    options.mode = ElasticsearchMode::Upsert;
  else if (!mode.empty() && mode != "append")
    throw ConfigError(where +
                      ": the Elasticsearch sink's sinkMode must be \"append\" or \"upsert\"");
  numberOption(c, "maxActions", where, options.max_actions);
  numberOption(c, "maxBytes", where, options.max_bytes);
  numberOption(c, "flushIntervalMs", where, options.flush_interval);
  numberOption(c, "retryTimeoutMs", where, options.retry_timeout);
  options.username = stringOption(c, "username", where, false);
  if (c["password"].isString()) options.password = std::string(c["password"].asString());
  options.api_key = stringOption(c, "apiKey", where, false);
  options.ca_file = stringOption(c, "caFile", where, false);
  if (c["tlsVerify"].isBool()) options.tls_verify = c["tlsVerify"].asBool();
  if (job && job->options().on_error == ErrorPolicy::kDeadLetter)
    options.on_item_error = [job, operator_name](const ElasticsearchItemError& e) {
      Value record;
      try {
        record = Value::parseJson(e.document);
      } catch (const Error&) {
        record = Value(e.document);
      }
      job->deadLetter(operator_name,
                      fmt::format("Elasticsearch index '{}' refused the document at position {}{}: "
                                  "HTTP {} {}: {}",
                                  e.index, e.position, e.id ? " (id \"" + *e.id + "\")" : "",
                                  e.status, e.type, e.reason),
                      record);
    };
  return options;
}

struct PairId {
  const Value& operator()(const std::pair<Value, Value>& e) const { return e.first; }
};

struct PairDocument {
  void operator()(std::string& out, const std::pair<Value, Value>& e) const {
    detail::ElasticsearchDocument{}(out, e.second);
  }
};

}  // namespace

SinkFactory<Value> elasticsearchSinkFactory(const Value& c, const std::string& where,
                                            std::shared_ptr<JsJob> job,
                                            const std::string& operator_name) {
  ElasticsearchSinkOptions options = optionsOf(c, where, job, operator_name);
  if (options.mode == ElasticsearchMode::Upsert)
    throw ConfigError(where + ": an Elasticsearch upsert needs an idExtractor");
  return [options] {
    return std::make_unique<
        ElasticsearchSink<Value, detail::ElasticsearchNoId, detail::ElasticsearchDocument>>(
        options, detail::ElasticsearchNoId{}, detail::ElasticsearchDocument{});
  };
}

SinkFactory<std::pair<Value, Value>> elasticsearchKeyedSinkFactory(
    const Value& c, const std::string& where, std::shared_ptr<JsJob> job,
    const std::string& operator_name) {
  ElasticsearchSinkOptions options = optionsOf(c, where, job, operator_name);
  return [options] {
    return std::make_unique<ElasticsearchSink<std::pair<Value, Value>, PairId, PairDocument>>(
        options, PairId{}, PairDocument{});
  };
}

SinkFactory<Change<std::pair<Value, Value>>> elasticsearchChangelogSinkFactory(
    const Value& c, const std::string& where, std::shared_ptr<JsJob> job,
    const std::string& operator_name) {
  ElasticsearchSinkOptions options = optionsOf(c, where, job, operator_name);
  options.changelog = true;
  return [options] {
    return std::make_unique<
        ElasticsearchSink<Change<std::pair<Value, Value>>, PairId, PairDocument>>(options, PairId{},
                                                                                  PairDocument{});
  };
}

}  // namespace lightflus::js
