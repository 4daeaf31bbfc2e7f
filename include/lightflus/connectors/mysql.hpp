// MySQL / MariaDB: a sink that runs a prepared statement per element (target lightflus::mysql).
//
//     MysqlSinkOptions db{.connection = {.host = "127.0.0.1", .username = "app",
//                                        .password = "secret", .database = "stats"},
//                         .statement = "INSERT INTO counts (word, n) VALUES (?, ?)"};
//     writeMysql(counts, db, [](const WordCount& c) {
//       return std::vector<Value>{Value(c.word), Value(c.n)};   // the ?s, left to right
//     });
//
// The statement is prepared once per connection; its `?` placeholders are bound to the values
// the parameter function returns: null, booleans (as 0/1), integers, doubles, strings, and
// arrays and objects as JSON text. The rows of each batch the engine hands to the sink run in
// one transaction (at most max_batch_rows rows each; on MariaDB servers in one bulk execution,
// one round trip), committed before write() returns; so every record is committed by the time
// a checkpoint is taken and at the end. When the server goes away (restart, killed
// connection, deadlock) the sink reconnects with backoff and runs the whole transaction again,
// up to reconnect_timeout; then it fails the job. A statement error (a duplicate key, a bad
// value) fails the job with the SQL text and the record's parameter values in the message.
//
// Delivery: at-least-once (a batch retried after a lost commit acknowledgement, or replayed
// from a checkpoint, runs again); exactly-once in effect for idempotent statements
// (INSERT ... ON DUPLICATE KEY UPDATE, REPLACE, UPDATE ... SET x = ?). See docs/mysql.md.
// No MariaDB header is included here.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "lightflus/datastream.hpp"
#include "lightflus/value.hpp"

namespace lightflus {

/// Where the database is (the original API's `IConnectionOpts`, plus a port).
struct MysqlConnectionOptions {
  std::string host = "127.0.0.1";
  int port = 3306;
  std::string username;
  std::string password;
  std::string database;
};

/// Options of writeMysql().
struct MysqlSinkOptions {
  MysqlConnectionOptions connection;
  /// The SQL run per element, with `?` placeholders ("INSERT INTO t (a, b) VALUES (?, ?)").
  std::string statement;
  /// At most this many rows per transaction (a larger batch is split).
  std::size_t max_batch_rows = 1000;
  /// How long the sink tries to reach the server when it opens, before failing the job.
  Duration connect_timeout{10'000};
  /// How long the sink keeps reconnecting after it lost the server, before failing the job.
  Duration reconnect_timeout{60'000};
  /// Read and write timeout of one round trip to the server (a hung server counts as gone).
  Duration io_timeout{30'000};
};

namespace detail {

/// The MariaDB Connector/C connection and prepared statement behind MysqlSink (compiled; one
/// per sink subtask).
class LIGHTFLUS_API MysqlWriter {
 public:
  /// Connects and prepares the statement; throws ConnectorError if it cannot (a wrong password
  /// or an unknown column fails here), ConfigError for incomplete options.
  MysqlWriter(MysqlSinkOptions options, const SinkContext& ctx);
  ~MysqlWriter();
  MysqlWriter(const MysqlWriter&) = delete;
  MysqlWriter& operator=(const MysqlWriter&) = delete;

  /// The number of `?` placeholders of the statement.
  std::size_t parameterCount() const;
  /// Queues one row: parameterCount() values; throws ConnectorError for another count.
  void add(std::vector<Value> row);
  /// Rows queued and not committed yet.
  std::size_t pending() const;
  /// Runs the queued rows in one transaction and commits it; retries it after reconnecting
  /// when the server went away. Throws ConnectorError when a row fails (the message names the
  /// statement and the row) or the server stays away longer than reconnect_timeout.
  void commit();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

/// The default parameters of a sink of Values: the element is the array of parameter values.
struct MysqlArrayParameters {
  std::vector<Value> operator()(const Value& v) const {
    if (!v.isArray())
      throw TypeError(
          "writeMysql() without a parameter function expects arrays of parameter values; got "
          "another value: pass [](const T&) { return std::vector<Value>{...}; }");
    return v.asArray();
  }
};

}  // namespace detail

/// Functions of T that give the values of a statement's `?`s, one per placeholder, left to
/// right (the original API's Statement.setString/setNumber by index).
template <class T>
using MysqlExtractors = std::vector<std::function<Value(const T&)>>;

/// Runs `options.statement` once per element, its placeholders bound to `parameters(const T&)`
/// (a std::vector<Value>, one value per `?`). Use writeMysql().
template <class T, class ParametersFn>
class MysqlSink final : public Sink<T> {
 public:
  MysqlSink(MysqlSinkOptions options, ParametersFn parameters)
      : options_(std::move(options)), parameters_(std::move(parameters)) {}
  void open(const SinkContext& ctx) override {
    writer_ = std::make_unique<detail::MysqlWriter>(options_, ctx);
  }
  void write(Batch<T>& batch) override {
    for (const auto& e : batch) {
      writer_->add(parameters_(e.value));
      if (writer_->pending() >= options_.max_batch_rows) writer_->commit();
    }
    writer_->commit();
  }
  void flush() override {
    if (writer_) writer_->commit();
  }
  // write() commits before it returns, so rows are pending here only when a write failed
  // (a parameter function threw): they belong to a failed job and are not committed.
  void close() override { writer_.reset(); }

 private:
  MysqlSinkOptions options_;
  ParametersFn parameters_;
  std::unique_ptr<detail::MysqlWriter> writer_;
};

/// Writes `stream` to MySQL/MariaDB: runs `options.statement` per element, its `?`s bound to
/// `parameters(const T&)`, which returns a std::vector<Value> with one value per `?` (left to
/// right). Without `parameters`, the elements must be Values holding those arrays.
///
///     writeMysql(orders, {.connection = c, .statement = "REPLACE INTO o (id, total) VALUES (?,
///     ?)"},
///                [](const Order& o) { return std::vector<Value>{Value(o.id), Value(o.total)}; });
template <class T, class ParametersFn = detail::MysqlArrayParameters>
requires std::is_invocable_r_v < std::vector<Value>,
const ParametersFn&,
    const T& > SinkHandle writeMysql(const DataStream<T>& stream, MysqlSinkOptions options,
                                     ParametersFn parameters = {}, std::string name = "") {
  if (name.empty()) name = "mysql " + options.connection.database;
  return stream.sink(
      [options, parameters] {
        return std::make_unique<MysqlSink<T, ParametersFn>>(options, parameters);
      },
      std::move(name));
}

/// Writes `stream` to MySQL/MariaDB with one extractor per `?` (left to right), as the
/// original API's `s.setString(1, f); s.setNumber(2, g)`.
///
///     writeMysql(counts, db, MysqlExtractors<WordCount>{
///         [](const WordCount& c) { return Value(c.word); },
///         [](const WordCount& c) { return Value(c.n); }});
template <class T>
SinkHandle writeMysql(const DataStream<T>& stream, MysqlSinkOptions options,
                      MysqlExtractors<T> extractors, std::string name = "") {
  auto parameters = [extractors = std::move(extractors)](const T& v) {
    std::vector<Value> row;
    row.reserve(extractors.size());
    for (const auto& f : extractors) row.push_back(f(v));
    return row;
  };
  return writeMysql<T, decltype(parameters)>(stream, std::move(options), std::move(parameters),
                                             std::move(name));
}

}  // namespace lightflus
