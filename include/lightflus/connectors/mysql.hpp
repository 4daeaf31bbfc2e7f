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

#include "lightflus/changelog.hpp"
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
  /// Changelogs (lightflus/changelog.hpp): the statement a -D row runs ("DELETE FROM t WHERE id
  /// = ?"), its `?`s bound to the first values of the row's parameters (put the key columns
  /// first). +I and +U rows run `statement`, which should then be an upsert (INSERT ... ON
  /// DUPLICATE KEY UPDATE, or REPLACE); -U rows are skipped. Rows apply in order. Needed for a
  /// Change<T> stream, or with `changelog`.
  std::string delete_statement;
  /// The elements are changelog rows given as Value objects with an "op" member (the
  /// parameter function gets the row without it); see delete_statement.
  bool changelog = false;
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
///
/// A changelog (a Change<R> stream, parameters(const R&), or Values with options.changelog) is
/// applied in order on two connections: `statement` for +I/+U, `delete_statement` for -D; a
/// switch from one to the other commits what the first has pending, so a key's rows keep their
/// order.
template <class T, class ParametersFn>
class MysqlSink final : public Sink<T> {
 public:
  MysqlSink(MysqlSinkOptions options, ParametersFn parameters)
      : options_(std::move(options)), parameters_(std::move(parameters)) {}
  void open(const SinkContext& ctx) override {
    if (appliesChangelog() && options_.delete_statement.empty())
      throw ConfigError("MySQL sink running '" + options_.statement +
                        "': a changelog needs a delete_statement for its -D rows (e.g. DELETE "
                        "FROM t WHERE id = ?)");
    writer_ = std::make_unique<detail::MysqlWriter>(options_, ctx);
    if (appliesChangelog()) {
      MysqlSinkOptions deletes = options_;
      deletes.statement = options_.delete_statement;
      delete_writer_ = std::make_unique<detail::MysqlWriter>(deletes, ctx);
    }
  }
  void write(Batch<T>& batch) override {
    for (const auto& e : batch) {
      if constexpr (IsChange<T>::value) {
        writeRow(e.value.kind, parameters_(e.value.row));
      } else if constexpr (std::is_same_v<T, Value>) {
        if (options_.changelog)
          writeRow(changeKindOf(e.value), parameters_(withoutOp(e.value)));
        else
          writeRow(RowKind::Insert, parameters_(e.value));
      } else {
        writeRow(RowKind::Insert, parameters_(e.value));
      }
    }
    writer_->commit();
    if (delete_writer_) delete_writer_->commit();
  }
  void flush() override {
    if (writer_) writer_->commit();
    if (delete_writer_) delete_writer_->commit();
  }
  // write() commits before it returns, so rows are pending here only when a write failed
  // (a parameter function threw): they belong to a failed job and are not committed.
  void close() override {
    writer_.reset();
    delete_writer_.reset();
  }

 private:
  bool appliesChangelog() const { return IsChange<T>::value || options_.changelog; }

  void writeRow(RowKind kind, std::vector<Value> parameters) {
    if (kind == RowKind::UpdateBefore) return;  // the +U that follows overwrites the row
    detail::MysqlWriter* to = writer_.get();
    detail::MysqlWriter* other = delete_writer_.get();
    if (kind == RowKind::Delete) {
      std::swap(to, other);
      std::size_t n = to->parameterCount();
      if (parameters.size() < n)
        throw ConnectorError("MySQL sink: the delete statement '" + options_.delete_statement +
                             "' takes " + std::to_string(n) + " parameters, the row has " +
                             std::to_string(parameters.size()));
      parameters.resize(n);
    }
    if (other && other->pending() > 0) other->commit();  // keep the rows' order
    to->add(std::move(parameters));
    if (to->pending() >= options_.max_batch_rows) to->commit();
  }

  MysqlSinkOptions options_;
  ParametersFn parameters_;
  std::unique_ptr<detail::MysqlWriter> writer_;
  std::unique_ptr<detail::MysqlWriter> delete_writer_;  ///< changelogs: runs delete_statement
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
    const RowOf<T>& > SinkHandle writeMysql(const DataStream<T>& stream, MysqlSinkOptions options,
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
