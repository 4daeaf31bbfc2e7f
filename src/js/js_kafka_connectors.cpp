#include "js_kafka_connectors.hpp"

#include <memory>
#include <string_view>
#include <utility>

#include "js_operators.hpp"
#include "lightflus/connectors/kafka.hpp"
#include "lightflus/error.hpp"

namespace lightflus::js {

namespace {

/// A KafkaSource<X> whose elements become Values; timestamps, watermarks, idleness and dead
/// letters pass through unchanged (the record timestamp is the event time).
/// Records it cannot decode go to `job`'s dead-letter output when `job` is set (the source
/// then runs with MalformedPolicy::DeadLetter).
template <class X, class Convert>
class DecodingKafkaSource final : public Source<Value> {
 public:
  DecodingKafkaSource(KafkaSourceOptions options, Convert convert, std::shared_ptr<const JsJob> job,
                      std::string where)
      : inner_(std::move(options)),
        convert_(std::move(convert)),
        job_(std::move(job)),
        where_(std::move(where)) {}
  void open(const SourceContext& context) override { inner_.open(context); }
  SourceStatus poll(SourceOutput<Value>& out) override {
    batch_.clear();
    SourceOutput<X> inner_out(batch_, out.remaining());
    SourceStatus status = inner_.poll(inner_out);
    for (auto& e : batch_) out.collect(convert_(std::move(e.value)), e.timestamp);
    for (auto& d : inner_out.deadLetters()) {
      if (job_)
        job_->deadLetter(where_, d.value.origin + ": " + d.value.error, Value(d.value.record));
      else
        out.deadLetter(std::move(d.value));
    }
    if (Timestamp w = inner_out.takeWatermark(); w != kMinTimestamp) out.emitWatermark(w);
    if (inner_out.takeIdle()) out.markIdle();
    return status;
  }
  Duration blockedWait() const override { return inner_.blockedWait(); }
  void snapshot(StateWriter& w) override { inner_.snapshot(w); }
  void restore(StateReader& r) override { inner_.restore(r); }
  bool restoreRescaled(const std::vector<std::string>& previous) override {
    return inner_.restoreRescaled(previous);
  }
  void notifyCheckpointComplete(std::uint64_t id) override { inner_.notifyCheckpointComplete(id); }
  void close() override { inner_.close(); }

 private:
  KafkaSource<X> inner_;
  Convert convert_;
  std::shared_ptr<const JsJob> job_;
  std::string where_;
  Batch<X> batch_;
};

template <class X, class Convert>
SourceFactory<Value> decoding(KafkaSourceOptions options, Convert convert,
                              std::shared_ptr<const JsJob> dead_letters, std::string where) {
  return [options, convert, dead_letters, where] {
    return std::make_unique<DecodingKafkaSource<X, Convert>>(options, convert, dead_letters, where);
  };
}

std::string brokersOf(const Value& c, const std::string& where) {
  std::string brokers;
  if (c["brokers"].isArray())
    for (const Value& b : c["brokers"].asArray())
      if (b.isString()) brokers += (brokers.empty() ? "" : ",") + std::string(b.asString());
  if (brokers.empty()) throw ConfigError(where + ": the Kafka connector has no brokers");
  return brokers;
}

std::string topicOf(const Value& c, const std::string& where) {
  if (!c["topic"].isString() || c["topic"].asString().empty())
    throw ConfigError(where + ": the Kafka connector has no topic");
  return std::string(c["topic"].asString());
}

std::map<std::string, std::string> propertiesOf(const Value& c) {
  std::map<std::string, std::string> properties;
  if (c["properties"].isObject())
    for (const auto& [key, value] : c["properties"].asObject())
      if (value.isString()) properties[std::string(key)] = std::string(value.asString());
  return properties;
}

/// Strings as they are, other values as JSON (valueFormat "string"); everything as JSON
/// ("json").
struct ValueFormat {
  bool json = false;
  void operator()(std::string& out, const Value& v) const {
    if (v.isString() && !json)
      out += v.asString();
    else
      v.appendJson(out);
  }
};

ValueFormat valueFormatOf(const Value& c, const std::string& where) {
  if (c["valueFormat"].isNull()) return {};
  std::string_view format = c["valueFormat"].isString() ? c["valueFormat"].asString() : "";
  if (format != "string" && format != "json")
    throw ConfigError(where + ": the Kafka sink's valueFormat must be \"string\" or \"json\"");
  return ValueFormat{format == "json"};
}

/// `delivery` "idempotent" (or absent) is the sink's default; "exactly-once" writes in
/// transactions with the transactional ids `<transactionalId>-<subtask>`, the prefix defaulting
/// to `default_transactional_id`.
KafkaSinkOptions sinkOptionsOf(const Value& c, const std::string& where,
                               const std::string& default_transactional_id) {
  KafkaSinkOptions options;
  options.brokers = brokersOf(c, where);
  options.topic = topicOf(c, where);
  options.properties = propertiesOf(c);
  if (c["delivery"].isNull()) return options;
  std::string_view delivery = c["delivery"].isString() ? c["delivery"].asString() : "";
  if (delivery == "exactly-once") {
    options.delivery = KafkaDelivery::ExactlyOnce;
    if (c["transactionalId"].isNull())
      options.transactional_id = default_transactional_id;
    else if (c["transactionalId"].isString() && !c["transactionalId"].asString().empty())
      options.transactional_id = std::string(c["transactionalId"].asString());
    else
      throw ConfigError(where + ": the Kafka sink's transactionalId must be a non-empty string");
  } else if (delivery != "idempotent") {
    throw ConfigError(
        where + ": the Kafka sink's delivery must be \"idempotent\" or \"exactly-once\", got " +
        c["delivery"].toJson());
  }
  return options;
}

/// The key of a (key, value) pair as message key: strings as they are, other keys as JSON.
struct PairKey {
  std::string operator()(const KeyedValue& e) const {
    if (e.first.isString()) return std::string(e.first.asString());
    std::string key;
    e.first.appendJson(key);
    return key;
  }
};

struct PairValue {
  ValueFormat format;
  void operator()(std::string& out, const KeyedValue& e) const { format(out, e.second); }
};

}  // namespace

SourceFactory<Value> kafkaSourceFactory(const Value& c, const std::string& job_name,
                                        const std::string& where,
                                        std::shared_ptr<const JsJob> job) {
  KafkaSourceOptions options;
  options.brokers = brokersOf(c, where);
  options.topics = {topicOf(c, where)};
  options.group_id = c["group"].isString() ? std::string(c["group"].asString()) : job_name;
  options.bounded = c["bounded"].isBool() && c["bounded"].asBool();
  options.properties = propertiesOf(c);
  if (!c["partition"].isNull()) {
    const Value& p = c["partition"];
    if (!p.isNumber() || p.asDouble() < 0 ||
        p.asDouble() != static_cast<std::int32_t>(p.asDouble()))
      throw ConfigError(where + ": the Kafka source's partition must be an integer >= 0, got " +
                        p.toJson());
    options.partitions = {static_cast<std::int32_t>(p.asDouble())};
  }
  std::shared_ptr<const JsJob> dead_letters;
  if (job && job->options().on_error == ErrorPolicy::kDeadLetter) {
    options.on_malformed = MalformedPolicy::DeadLetter;
    dead_letters = std::move(job);
  }
  const std::string type =
      c["valueType"].isString() ? std::string(c["valueType"].asString()) : std::string("string");
  if (type == "string")
    return decoding<std::string>(
        options, [](std::string&& s) { return Value(s); }, dead_letters, where);
  if (type == "number")
    return decoding<double>(
        options, [](double d) { return Value(d); }, dead_letters, where);
  if (type == "object") {
    options.value_format = KafkaValueFormat::Json;
    return decoding<Value>(
        options, [](Value&& v) { return std::move(v); }, dead_letters, where);
  }
  if (type == "bytes")
    return decoding<std::string>(
        options,
        [](std::string&& s) {
          Value::Array bytes;
          bytes.reserve(s.size());
          for (unsigned char b : s) bytes.emplace_back(static_cast<std::int64_t>(b));
          return Value(std::move(bytes));
        },
        dead_letters, where);
  throw ConfigError(where + ": the Kafka source cannot decode valueType '" + type +
                    "' yet (string, number, object and bytes are supported)");
}

SinkFactory<Value> kafkaSinkFactory(const Value& c, const std::string& where,
                                    const std::string& default_transactional_id) {
  KafkaSinkOptions options = sinkOptionsOf(c, where, default_transactional_id);
  ValueFormat format = valueFormatOf(c, where);
  return [options, format] {
    return std::make_unique<KafkaSink<Value, detail::KafkaNoKey, ValueFormat>>(
        options, detail::KafkaNoKey{}, format);
  };
}

SinkFactory<KeyedValue> kafkaKeyedSinkFactory(const Value& c, const std::string& where,
                                              const std::string& default_transactional_id) {
  KafkaSinkOptions options = sinkOptionsOf(c, where, default_transactional_id);
  PairValue format{valueFormatOf(c, where)};
  return [options, format] {
    return std::make_unique<KafkaSink<KeyedValue, PairKey, PairValue>>(options, PairKey{}, format);
  };
}

}  // namespace lightflus::js
