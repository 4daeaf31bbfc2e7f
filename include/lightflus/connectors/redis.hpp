// Redis: a sink that writes each element as a Redis command (target lightflus::redis).
//
//     RedisSinkOptions out{.host = "127.0.0.1:6379"};
//     writeRedis(counts, out, [](const WordCount& c) { return c.word; },     // key
//                [](const WordCount& c) { return c.count; });                // value: "42"
//     writeRedis(events, {.host = "cache", .command = RedisCommand::XAdd},
//                [](const Value& e) { return e["user"].asString(); });       // the element
//     writeRedisHash(counts, {.host = "cache"}, key, field, value);           // HSET key field v
//
// Commands: SET key value (default), HSET and XADD, with an optional TTL (SET ... PX, or
// PEXPIRE after HSET/XADD). Values: strings as they are, numbers as decimal text, other
// Values (objects, arrays, booleans, null) as JSON; for HSET without a field and for XADD, an
// object Value becomes one field per member. Commands are pipelined: one round trip per
// batch (and per `batch_size` commands), and every reply is checked; an error reply fails the
// job with the command and the key. When the connection drops, the sink reconnects with
// backoff (AUTH and SELECT again) and resends every command not yet acknowledged, for up to
// `reconnect_timeout`, then fails the job naming host:port. The sink flushes when a checkpoint
// is taken and at the end: at-least-once (SET and HSET are idempotent, so a replay converges
// to the same data; XADD may add duplicates). TLS with OpenSSL. See docs/redis.md. No hiredis
// or OpenSSL header is included here.
#pragma once

#include <concepts>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "lightflus/changelog.hpp"
#include "lightflus/datastream.hpp"
#include "lightflus/value.hpp"

namespace lightflus {

/// The command a Redis sink writes each element with.
enum class RedisCommand {
  Set,   ///< SET key value [PX ttl]
  HSet,  ///< HSET key field value (or one field per member of an object value) [+ PEXPIRE]
  XAdd,  ///< XADD key * field value (or one field per member of an object value) [+ PEXPIRE]
};

/// Options of writeRedis().
struct RedisSinkOptions {
  /// The server: "host" or "host:port" (the port in `host` wins over `port`).
  std::string host = "127.0.0.1";
  int port = 6379;
  /// Connect with TLS (OpenSSL, TLS 1.2 or later), verifying the server's certificate and
  /// its name (or IP address) against `tls_ca_file`, or the system's CAs when it is empty.
  bool tls = false;
  std::string tls_ca_file;
  /// false: accept any server certificate (encrypted, but open to a man in the middle).
  bool tls_verify = true;
  /// SELECT this database after connecting (0: the default database, no SELECT).
  int database = 0;
  /// AUTH [username] password when `password` is not empty (username: Redis 6 ACL users).
  std::string username;
  std::string password;
  RedisCommand command = RedisCommand::Set;
  /// HSET: when set, every element is a field of this one hash, and the key extractor gives
  /// the field (HSET hash_key key value).
  std::string hash_key;
  /// XADD: the field name of a value that is not an object (XADD key * value <value>).
  std::string stream_field = "value";
  /// Time to live of the written keys (0: none): SET ... PX ttl, else PEXPIRE key ttl.
  Duration ttl{0};
  /// The elements are changelog rows (lightflus/changelog.hpp), Value objects with an "op"
  /// member: +I and +U are written without the "op" member, -U is skipped (the +U after it
  /// overwrites the key) and -D deletes (DEL key, or HDEL hash field when the field comes from
  /// a fixed hash key or a field extractor). A Change<T> stream is applied so whatever this
  /// says. XADD refuses changelogs (a stream only appends).
  bool changelog = false;
  /// At most this many commands per pipelined round trip.
  std::size_t batch_size = 1000;
  /// How long the sink tries to connect when the job starts before failing it.
  Duration connect_timeout{5'000};
  /// How long the sink tries to reconnect after the connection dropped before failing the job.
  Duration reconnect_timeout{30'000};
  /// How long one read or write on the socket may take before the connection counts as lost.
  Duration io_timeout{10'000};
};

namespace detail {

/// The connection behind RedisSink (compiled; one per sink subtask): pipelines commands,
/// checks replies, reconnects and resends.
class LIGHTFLUS_API RedisWriter {
 public:
  /// Connects (retrying for options.connect_timeout); throws ConnectorError if it cannot.
  RedisWriter(RedisSinkOptions options, const SinkContext& ctx);
  ~RedisWriter();
  RedisWriter(const RedisWriter&) = delete;
  RedisWriter& operator=(const RedisWriter&) = delete;

  /// Queues the command for one element. `field` is the HSET field (nullptr: none; then an
  /// object value becomes one field per member). `value` is the element's value, already
  /// formatted when `fields` is empty; `fields` holds (field, value) pairs of an object value.
  void write(std::string_view key, const std::string* field, std::string_view value,
             const std::vector<std::pair<std::string, std::string>>* fields);
  /// Queues the delete of a changelog row: DEL key, or HDEL hash field (`field`, or `key` in
  /// the fixed hash `hash_key`).
  void remove(std::string_view key, const std::string* field);
  /// Sends everything queued in one round trip and checks every reply; reconnects and resends
  /// on a lost connection; throws ConnectorError on an error reply or when it gives up.
  void flush();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

/// Appends the Redis form of a value: strings as they are, numbers as decimal text, other
/// Values as JSON.
inline void appendRedisText(std::string& out, const Value& v) {
  if (v.isString())
    out.append(v.asString());
  else
    v.appendJson(out);
}

template <class X>
void appendRedisText(std::string& out, const X& v) {
  if constexpr (std::is_convertible_v<const X&, std::string_view>) {
    out.append(std::string_view(v));
  } else if constexpr (std::is_same_v<X, bool>) {
    out.append(v ? "true" : "false");
  } else if constexpr (std::is_arithmetic_v<X>) {
    fmt::format_to(std::back_inserter(out), "{}", v);
  } else {
    static_assert(std::is_arithmetic_v<X>,
                  "writeRedis() writes strings, numbers and lightflus::Value: give a key or value "
                  "extractor that returns one of them");
  }
}

/// The default value extractor: the element itself.
struct RedisElement {
  template <class T>
  const T& operator()(const T& v) const {
    return v;
  }
};

/// writeRedis(): no field extractor.
struct RedisNoField {};

}  // namespace detail

/// Writes a stream to Redis: `key(const R&)` gives the key, `field(const R&)` the HSET field
/// (detail::RedisNoField: none), `value(const R&)` the value, where R is T or, for a changelog
/// stream of Change<R>, its rows. Use writeRedis() or writeRedisHash().
template <class T, class KeyFn, class FieldFn, class ValueFn>
class RedisSink final : public Sink<T> {
 public:
  using Row = RowOf<T>;
  RedisSink(RedisSinkOptions options, KeyFn key, FieldFn field, ValueFn value)
      : options_(std::move(options)),
        key_(std::move(key)),
        field_(std::move(field)),
        value_(std::move(value)) {}
  void open(const SinkContext& ctx) override {
    if ((options_.changelog || IsChange<T>::value) && options_.command == RedisCommand::XAdd)
      throw ConfigError("a Redis sink with XADD cannot apply a changelog (a stream only appends)");
    writer_ = std::make_unique<detail::RedisWriter>(options_, ctx);
  }
  void write(Batch<T>& batch) override {
    for (const auto& e : batch) {
      if constexpr (IsChange<T>::value) {
        writeRow(e.value.kind, e.value.row);
      } else if constexpr (std::is_same_v<T, Value>) {
        if (options_.changelog)
          writeRow(changeKindOf(e.value), withoutOp(e.value));
        else
          writeRow(RowKind::Insert, e.value);
      } else {
        writeRow(RowKind::Insert, e.value);
      }
    }
    writer_->flush();
  }
  void flush() override {
    if (writer_) writer_->flush();
  }
  void close() override {
    if (!writer_) return;
    writer_->flush();
    writer_.reset();
  }

 private:
  void writeRow(RowKind kind, const Row& row) {
    if (kind == RowKind::UpdateBefore) return;  // the +U that follows overwrites it
    key_buffer_.clear();
    detail::appendRedisText(key_buffer_, key_(row));
    const std::string* field = nullptr;
    if constexpr (!std::is_same_v<FieldFn, detail::RedisNoField>) {
      field_buffer_.clear();
      detail::appendRedisText(field_buffer_, field_(row));
      field = &field_buffer_;
    }
    if (kind == RowKind::Delete) {
      writer_->remove(key_buffer_, field);
      return;
    }
    decltype(auto) value = value_(row);
    value_buffer_.clear();
    const std::vector<std::pair<std::string, std::string>>* fields = nullptr;
    if constexpr (std::is_same_v<std::decay_t<decltype(value)>, Value>) {
      if (value.isObject() && splitsObjects(field)) {
        fields_.clear();
        for (const auto& [name, member] : value.asObject()) {
          fields_.emplace_back(std::string(name), std::string());
          detail::appendRedisText(fields_.back().second, member);
        }
        fields = &fields_;
      }
    }
    if (!fields) detail::appendRedisText(value_buffer_, value);
    writer_->write(key_buffer_, field, value_buffer_, fields);
  }

  bool splitsObjects(const std::string* field) const {
    return options_.command == RedisCommand::XAdd ||
           (options_.command == RedisCommand::HSet && !field && options_.hash_key.empty());
  }

  RedisSinkOptions options_;
  KeyFn key_;
  FieldFn field_;
  ValueFn value_;
  std::unique_ptr<detail::RedisWriter> writer_;
  std::string key_buffer_;
  std::string field_buffer_;
  std::string value_buffer_;
  std::vector<std::pair<std::string, std::string>> fields_;
};

/// Writes `stream` to Redis with `options.command` (SET by default): the key is `key(const
/// T&)` and the value `value(const T&)` (default: the element). Keys, fields and values may be
/// strings, numbers or Values (strings as they are, numbers as decimal text, other Values as
/// JSON). At-least-once; see RedisSink and docs/redis.md.
///
///     writeRedis(counts, {.host = "127.0.0.1:6379", .ttl = Duration(60'000)},
///                [](const Value& c) { return c["word"]; }, [](const Value& c) { return c["n"]; });
template <class T, class KeyFn, class ValueFn = detail::RedisElement>
SinkHandle writeRedis(const DataStream<T>& stream, RedisSinkOptions options, KeyFn key,
                      ValueFn value = {}, std::string name = "") {
  static_assert(std::invocable<KeyFn&, const RowOf<T>&>,
                "writeRedis() expects a key extractor callable as key(const T&) (for a "
                "changelog stream of Change<R>: key(const R&))");
  static_assert(std::invocable<ValueFn&, const RowOf<T>&>,
                "writeRedis() expects a value extractor callable as value(const T&) (for a "
                "changelog stream of Change<R>: value(const R&))");
  if (name.empty()) name = "redis " + options.host;
  return stream.sink(
      [options, key, value] {
        return std::make_unique<RedisSink<T, KeyFn, detail::RedisNoField, ValueFn>>(
            options, key, detail::RedisNoField{}, value);
      },
      std::move(name));
}

/// Writes `stream` to Redis hashes: HSET key(e) field(e) value(e) (options.command is set to
/// HSet).
///
///     writeRedisHash(clicks, {.host = "cache"}, [](const Click& c) { return "user:" + c.user; },
///                    [](const Click& c) { return c.page; }, [](const Click& c) { return c.n; });
template <class T, class KeyFn, class FieldFn, class ValueFn = detail::RedisElement>
SinkHandle writeRedisHash(const DataStream<T>& stream, RedisSinkOptions options, KeyFn key,
                          FieldFn field, ValueFn value = {}, std::string name = "") {
  static_assert(std::invocable<FieldFn&, const RowOf<T>&>,
                "writeRedisHash() expects a field extractor callable as field(const T&)");
  options.command = RedisCommand::HSet;
  options.hash_key.clear();
  if (name.empty()) name = "redis " + options.host;
  return stream.sink(
      [options, key, field, value] {
        return std::make_unique<RedisSink<T, KeyFn, FieldFn, ValueFn>>(options, key, field, value);
      },
      std::move(name));
}

}  // namespace lightflus
