// MysqlWriter: the MariaDB Connector/C connection and prepared statement behind MysqlSink.
//
// The connection runs with autocommit off, so the rows queued by add() form one transaction,
// which commit() executes through the prepared statement and then commits. On a MariaDB server
// all rows go in one round trip (Connector/C's array binding, COM_STMT_BULK_EXECUTE) when each
// placeholder's values have one SQL type; otherwise, on MySQL servers, and to find the failing
// row after a bulk execution failed, row by row (one round trip each). The rows
// stay queued until the commit succeeded: when the server goes away at any point (a restart, a
// killed connection, a deadlock), the writer drops the connection, reconnects with backoff,
// prepares the statement again and runs the whole transaction again. Any other error rolls
// back and fails the job, naming the statement and the row.
#include <errmsg.h>
#include <fmt/format.h>
#include <mysql.h>
#include <mysqld_error.h>

#include <algorithm>
#include <chrono>
#include <optional>
#include <thread>

#include "lightflus/connectors/mysql.hpp"
#include "lightflus/error.hpp"
#include "mysql_binding.hpp"

namespace lightflus::detail {

namespace {

struct MysqlDelete {
  void operator()(MYSQL* m) const { mysql_close(m); }
  void operator()(MYSQL_STMT* s) const { mysql_stmt_close(s); }
};
using MysqlConnection = std::unique_ptr<MYSQL, MysqlDelete>;
using MysqlStatement = std::unique_ptr<MYSQL_STMT, MysqlDelete>;

// Connector/C's one-time initialization, when the library is loaded (on the main thread):
// mysql_library_init is not thread safe (mysql_init calls it when nobody did), and the OpenSSL
// initialization it runs keeps state of the thread it runs on, which a sink's worker thread
// would leak when it ends.
const int library_initialized = mysql_library_init(0, nullptr, nullptr);

/// Errors after which the server may be reachable again: the transaction runs again.
bool isTransient(unsigned int code) {
  switch (code) {
    case CR_CONNECTION_ERROR:
    case CR_CONN_HOST_ERROR:
    case CR_SERVER_GONE_ERROR:
    case CR_SERVER_LOST:
    case CR_SERVER_LOST_EXTENDED:
    case ER_SERVER_SHUTDOWN:
    case ER_CONNECTION_KILLED:
    case ER_LOCK_DEADLOCK:
    case ER_LOCK_WAIT_TIMEOUT:
      return true;
    default:
      return false;
  }
}

/// A failed call: the server's error code and message.
struct Failure {
  unsigned int code = 0;
  std::string message;
};

Failure failureOf(MYSQL* m) {
  return {mysql_errno(m), mysql_error(m)};
}
Failure failureOf(MYSQL_STMT* s) {
  return {mysql_stmt_errno(s), mysql_stmt_error(s)};
}

std::string describeRow(const std::vector<Value>& row) {
  std::string out = "[";
  for (std::size_t i = 0; i < row.size(); ++i) {
    if (i) out += ", ";
    row[i].appendJson(out);
  }
  out += "]";
  if (out.size() > 1000) out = out.substr(0, 1000) + "...";
  return out;
}

}  // namespace

struct MysqlWriter::State {
  MysqlSinkOptions options;
  std::string where;  // "MySQL sink 'name' (subtask 0) of job 'j'"
  MysqlConnection connection;
  MysqlStatement statement;
  std::size_t parameter_count = 0;
  std::vector<std::vector<Value>> rows;
  MysqlBinding binding;
  // Bulk execution: supported by the server, and not found to fail where rows one by one work.
  bool bulk = false;
  bool bulk_works = true;

  std::string server() const {
    return fmt::format("{}:{} (database '{}', user '{}')", options.connection.host,
                       options.connection.port, options.connection.database,
                       options.connection.username);
  }
  std::optional<Failure> connect();
  std::optional<Failure> runBulk(MYSQL_BIND* binds);
  std::optional<Failure> runRows(std::size_t& failed_row);
  std::optional<Failure> runTransaction(std::size_t& failed_row);
  void drop() {
    statement.reset();
    connection.reset();
  }
};

// Connects and prepares the statement. A failure that reconnecting cannot cure (a wrong
// password, an unknown database or column, a syntax error) throws; a transient one is returned.
std::optional<Failure> MysqlWriter::State::connect() {
  drop();
  if (library_initialized != 0)
    throw ConnectorError(where + ": the MariaDB client library failed to initialize");
  connection.reset(mysql_init(nullptr));
  if (!connection) throw ConnectorError(where + ": out of memory creating a MariaDB client");
  MYSQL* m = connection.get();
  unsigned int connect_s = static_cast<unsigned int>(
      std::clamp<long long>(options.connect_timeout.count() / 1000, 1, 60));
  unsigned int io_s =
      static_cast<unsigned int>(std::max<long long>(options.io_timeout.count() / 1000, 1));
  mysql_optionsv(m, MYSQL_OPT_CONNECT_TIMEOUT, &connect_s);
  mysql_optionsv(m, MYSQL_OPT_READ_TIMEOUT, &io_s);
  mysql_optionsv(m, MYSQL_OPT_WRITE_TIMEOUT, &io_s);
  mysql_optionsv(m, MYSQL_SET_CHARSET_NAME, "utf8mb4");
  // TCP always: Connector/C would take "localhost" to mean the local Unix socket, ignoring port.
  unsigned int tcp = MYSQL_PROTOCOL_TCP;
  mysql_optionsv(m, MYSQL_OPT_PROTOCOL, &tcp);
  const auto& c = options.connection;
  if (!mysql_real_connect(m, c.host.c_str(), c.username.empty() ? nullptr : c.username.c_str(),
                          c.password.c_str(), c.database.c_str(), static_cast<unsigned int>(c.port),
                          nullptr, 0)) {
    Failure f = failureOf(m);
    drop();
    if (isTransient(f.code)) return f;
    std::string hint = f.code == ER_ACCESS_DENIED_ERROR || f.code == ER_DBACCESS_DENIED_ERROR
                           ? "; check the username, password and database"
                           : "";
    throw ConnectorError(fmt::format("{}: cannot connect to {}: {} (error {}){}", where, server(),
                                     f.message, f.code, hint));
  }
  if (mysql_autocommit(m, 0)) {
    Failure f = failureOf(m);
    drop();
    return f;
  }
  statement.reset(mysql_stmt_init(m));
  if (!statement) throw ConnectorError(where + ": out of memory creating a statement");
  const std::string& sql = options.statement;
  if (mysql_stmt_prepare(statement.get(), sql.data(), sql.size())) {
    Failure f = failureOf(statement.get());
    drop();
    if (isTransient(f.code)) return f;
    throw ConnectorError(fmt::format("{}: cannot prepare the statement \"{}\": {} (error {})",
                                     where, sql, f.message, f.code));
  }
  parameter_count = mysql_stmt_param_count(statement.get());
  unsigned long capabilities = 0;
  unsigned long extended = 0;
  mariadb_get_infov(m, MARIADB_CONNECTION_SERVER_CAPABILITIES, &capabilities);
  mariadb_get_infov(m, MARIADB_CONNECTION_EXTENDED_SERVER_CAPABILITIES, &extended);
  bulk = (capabilities & CLIENT_MYSQL) == 0 &&
         (extended & (MARIADB_CLIENT_STMT_BULK_OPERATIONS >> 32)) != 0 && parameter_count > 0;
  return std::nullopt;
}

// All rows in one execution, bound column-wise.
std::optional<Failure> MysqlWriter::State::runBulk(MYSQL_BIND* binds) {
  MYSQL_STMT* s = statement.get();
  unsigned int size = static_cast<unsigned int>(rows.size());
  mysql_stmt_attr_set(s, STMT_ATTR_ARRAY_SIZE, &size);
  std::optional<Failure> failure;
  if (mysql_stmt_bind_param(s, binds) || mysql_stmt_execute(s)) failure = failureOf(s);
  unsigned int one_row = 0;
  mysql_stmt_attr_set(s, STMT_ATTR_ARRAY_SIZE, &one_row);
  return failure;
}

std::optional<Failure> MysqlWriter::State::runRows(std::size_t& failed_row) {
  MYSQL_STMT* s = statement.get();
  for (std::size_t i = 0; i < rows.size(); ++i) {
    if (mysql_stmt_bind_param(s, binding.bindRow(rows[i])) || mysql_stmt_execute(s)) {
      failed_row = i;
      return failureOf(s);
    }
  }
  return std::nullopt;
}

// Runs the queued rows and commits. On a failure, `failed_row` is the row's index (rows.size()
// for the commit itself) and the transaction is rolled back or gone with the connection.
std::optional<Failure> MysqlWriter::State::runTransaction(std::size_t& failed_row) {
  std::optional<Failure> failure;
  MYSQL_BIND* columns = nullptr;
  if (bulk && bulk_works && rows.size() > 1 &&
      (columns = binding.bindColumns(rows, parameter_count))) {
    failure = runBulk(columns);
    if (failure && !isTransient(failure->code)) {
      // Find the failing row: the same rows again, one by one, in a new transaction. Should
      // they all work (a packet too large, a statement bulk execution does not take), bulk
      // execution stays off for this writer.
      if (mysql_rollback(connection.get())) {
        failed_row = rows.size();
        return failureOf(connection.get());
      }
      failure = runRows(failed_row);
      if (!failure) bulk_works = false;
    }
  } else {
    failure = runRows(failed_row);
  }
  if (failure) return failure;
  if (mysql_commit(connection.get())) {
    failed_row = rows.size();
    return failureOf(connection.get());
  }
  return std::nullopt;
}

MysqlWriter::MysqlWriter(MysqlSinkOptions options, const SinkContext& ctx)
    : state_(std::make_unique<State>()) {
  auto& s = *state_;
  s.options = std::move(options);
  s.where = fmt::format("MySQL sink '{}' (subtask {}) of job '{}'", ctx.operator_name, ctx.subtask,
                        ctx.job_name);
  const auto& c = s.options.connection;
  if (c.host.empty()) throw ConfigError(s.where + ": the connection has no host");
  if (c.database.empty()) throw ConfigError(s.where + ": the connection has no database");
  if (s.options.statement.empty()) throw ConfigError(s.where + ": the sink has no statement");
  if (s.options.max_batch_rows == 0) s.options.max_batch_rows = 1;
  // Reach the server now, so that a wrong address or password fails the job at start.
  auto deadline = std::chrono::steady_clock::now() + s.options.connect_timeout;
  std::chrono::milliseconds backoff(50);
  while (auto failure = s.connect()) {
    if (std::chrono::steady_clock::now() >= deadline)
      throw ConnectorError(fmt::format(
          "{}: cannot reach the server {} within {} ms: {} (error {}); check the host and port "
          "and that the server runs",
          s.where, s.server(), s.options.connect_timeout.count(), failure->message, failure->code));
    std::this_thread::sleep_for(backoff);
    backoff = std::min(backoff * 2, std::chrono::milliseconds(1000));
  }
}

MysqlWriter::~MysqlWriter() = default;

std::size_t MysqlWriter::parameterCount() const {
  return state_->parameter_count;
}

std::size_t MysqlWriter::pending() const {
  return state_->rows.size();
}

void MysqlWriter::add(std::vector<Value> row) {
  auto& s = *state_;
  if (row.size() != s.parameter_count)
    throw ConnectorError(fmt::format(
        "{}: the statement \"{}\" has {} ? placeholder(s), but the record has {} parameter "
        "value(s): {}",
        s.where, s.options.statement, s.parameter_count, row.size(), describeRow(row)));
  s.rows.push_back(std::move(row));
}

void MysqlWriter::commit() {
  auto& s = *state_;
  if (s.rows.empty()) return;
  std::optional<std::chrono::steady_clock::time_point> gone_since;
  std::chrono::milliseconds backoff(50);
  Failure last;
  for (;;) {
    std::optional<Failure> failure;
    std::size_t failed_row = 0;
    if (!s.connection) failure = s.connect();
    if (!failure) {
      failure = s.runTransaction(failed_row);
      if (!failure) break;
      if (!isTransient(failure->code)) {
        mysql_rollback(s.connection.get());
        if (failed_row == s.rows.size())
          throw ConnectorError(fmt::format(
              "{}: committing a transaction of {} row(s) of the statement \"{}\" failed: {} "
              "(error {})",
              s.where, s.rows.size(), s.options.statement, failure->message, failure->code));
        throw ConnectorError(fmt::format(
            "{}: the statement \"{}\" failed for the record with parameters {}: {} (error {}); "
            "the transaction of {} row(s) was rolled back",
            s.where, s.options.statement, describeRow(s.rows[failed_row]), failure->message,
            failure->code, s.rows.size()));
      }
    }
    // The server went away (or the transaction was chosen as a deadlock victim): start over.
    s.drop();
    last = *failure;
    auto now = std::chrono::steady_clock::now();
    if (!gone_since) gone_since = now;
    if (now - *gone_since >= s.options.reconnect_timeout)
      throw ConnectorError(fmt::format(
          "{}: lost the server {} and could not run the transaction of {} row(s) again within "
          "{} ms (reconnect_timeout): {} (error {})",
          s.where, s.server(), s.rows.size(), s.options.reconnect_timeout.count(), last.message,
          last.code));
    std::this_thread::sleep_for(backoff);
    backoff = std::min(backoff * 2, std::chrono::milliseconds(1000));
  }
  s.rows.clear();
}

}  // namespace lightflus::detail
