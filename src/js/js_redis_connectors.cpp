#include "js_redis_connectors.hpp"

#include <memory>
#include <utility>

#include "js_operators.hpp"
#include "lightflus/connectors/redis.hpp"
#include "lightflus/error.hpp"

namespace lightflus::js {

namespace {

struct PairKey {
  const Value& operator()(const KeyedValue& e) const { return e.first; }
};

struct PairValue {
  const Value& operator()(const KeyedValue& e) const { return e.second; }
};

std::string optionalString(const Value& c, std::string_view field, const std::string& where) {
  const Value& v = c[field];
  if (v.isNull()) return {};
  if (!v.isString())
    throw ConfigError(where + ": the Redis sink's " + std::string(field) + " must be a string");
  return std::string(v.asString());
}

std::int64_t optionalInt(const Value& c, std::string_view field, std::int64_t fallback,
                         std::int64_t min, const std::string& where) {
  const Value& v = c[field];
  if (v.isNull()) return fallback;
  if (!v.isNumber() || v.asInt() < min)
    throw ConfigError(where + ": the Redis sink's " + std::string(field) +
                      " must be a number >= " + std::to_string(min));
  return v.asInt();
}

RedisSinkOptions optionsOf(const Value& c, const std::string& where) {
  RedisSinkOptions o;
  o.host = optionalString(c, "host", where);
  if (o.host.empty()) throw ConfigError(where + ": the Redis sink has no host");
  o.port = static_cast<int>(optionalInt(c, "port", 6379, 1, where));
  o.tls = c["tls"].isBool() && c["tls"].asBool();
  o.tls_ca_file = optionalString(c, "tlsCaFile", where);
  o.tls_verify = !(c["tlsVerify"].isBool() && !c["tlsVerify"].asBool());
  o.database = static_cast<int>(optionalInt(c, "database", 0, 0, where));
  o.username = optionalString(c, "username", where);
  o.password = optionalString(c, "password", where);
  const std::string command = optionalString(c, "command", where);
  if (command.empty() || command == "set")
    o.command = RedisCommand::Set;
  else if (command == "hset")
    o.command = RedisCommand::HSet;
  else if (command == "xadd")
    o.command = RedisCommand::XAdd;
  else
    throw ConfigError(where +
                      ": the Redis sink's command must be \"set\", \"hset\" or \"xadd\", not \"" +
                      command + "\"");
  o.hash_key = optionalString(c, "hashKey", where);
  if (!o.hash_key.empty() && o.command != RedisCommand::HSet)
    throw ConfigError(where + ": the Redis sink's hashKey needs the command \"hset\"");
  std::string stream_field = optionalString(c, "streamField", where);
  if (!stream_field.empty()) o.stream_field = stream_field;
  o.ttl = Duration(optionalInt(c, "ttlMs", 0, 0, where));
  o.batch_size = static_cast<std::size_t>(optionalInt(c, "batchSize", 1000, 1, where));
  o.reconnect_timeout = Duration(optionalInt(c, "reconnectTimeoutMs", 30'000, 0, where));
  return o;
}

}  // namespace

SinkFactory<KeyedValue> redisSinkFactory(const Value& c, const std::string& where) {
  RedisSinkOptions options = optionsOf(c, where);
  return [options] {
    return std::make_unique<RedisSink<KeyedValue, PairKey, detail::RedisNoField, PairValue>>(
        options, PairKey{}, detail::RedisNoField{}, PairValue{});
  };
}

SinkFactory<Change<KeyedValue>> redisChangelogSinkFactory(const Value& c,
                                                          const std::string& where) {
  RedisSinkOptions options = optionsOf(c, where);
  if (options.command == RedisCommand::XAdd)
    throw ConfigError(where +
                      ": a Redis changelog cannot be written with \"xadd\" (a stream only "
                      "appends)");
  return [options] {
    return std::make_unique<
        RedisSink<Change<KeyedValue>, PairKey, detail::RedisNoField, PairValue>>(
        options, PairKey{}, detail::RedisNoField{}, PairValue{});
  };
}

}  // namespace lightflus::js
