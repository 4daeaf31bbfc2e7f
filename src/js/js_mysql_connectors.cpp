#include "js_mysql_connectors.hpp"

#include <fmt/format.h>

#include <memory>
#include <utility>
#include <vector>

#include "lightflus/connectors/mysql.hpp"
#include "lightflus/error.hpp"

namespace lightflus::js {

namespace {

enum class ParameterType { String, Number };

std::string json(const Value& v) {
  std::string out;
  v.appendJson(out);
  return out;
}

/// Checks a parameter array from JavaScript against the declared types: `setString` binds
/// strings, and other values as their JSON text (numbers in decimal); `setNumber` binds
/// numbers (integers as integers) and booleans as 0/1, and refuses strings and objects.
/// null (and undefined) binds NULL either way.
struct TypedParameters {
  std::vector<ParameterType> types;
  std::vector<std::int64_t> indexes;         // the user's setNumber(index, ...), for messages
  std::shared_ptr<const std::string> where;  // "MySQL sink operator 3 'x' (sink): statement ..."

  std::vector<Value> operator()(const Value& row) const {
    if (!row.isArray() || row.size() != types.size())
      throw InputError(
          fmt::format("{}: the parameters extractor returned {} instead of an array of "
                      "{} value(s)",
                      *where, json(row), types.size()));
    std::vector<Value> out = row.asArray();
    for (std::size_t i = 0; i < out.size(); ++i) {
      Value& v = out[i];
      if (v.isNull()) continue;
      if (types[i] == ParameterType::String) {
        if (!v.isString()) v = Value(json(v));
      } else if (!v.isNumber() && !v.isBool()) {
        throw InputError(fmt::format(
            "{}: the record with parameters {}: parameter {} (setNumber) is {}, not a number",
            *where, json(row), indexes[i], v.isString() ? "the string " + json(v) : json(v)));
      }
    }
    return out;
  }
};

std::string stringOr(const Value& v, const char* fallback) {
  return v.isString() ? std::string(v.asString()) : std::string(fallback);
}

}  // namespace

namespace {

struct SinkParts {
  MysqlSinkOptions options;
  TypedParameters parameters;
};

SinkParts partsOf(const Value& c, const std::string& where) {
  MysqlSinkOptions options;
  auto& connection = options.connection;
  connection.host = stringOr(c["host"], "");
  connection.port = c["port"].isNumber() ? static_cast<int>(c["port"].asInt()) : 3306;
  connection.username = stringOr(c["username"], "");
  connection.password = stringOr(c["password"], "");
  connection.database = stringOr(c["database"], "");
  options.statement = stringOr(c["statement"], "");
  if (connection.host.empty()) throw ConfigError(where + ": the MySQL connector has no host");
  if (connection.database.empty())
    throw ConfigError(where + ": the MySQL connector has no database");
  if (options.statement.empty())
    throw ConfigError(where + ": the MySQL connector has no statement");
  if (c["maxBatchRows"].isNumber() && c["maxBatchRows"].asInt() > 0)
    options.max_batch_rows = static_cast<std::size_t>(c["maxBatchRows"].asInt());
  if (c["reconnectTimeoutMs"].isNumber())
    options.reconnect_timeout = Duration(c["reconnectTimeoutMs"].asInt());
  if (c["connectTimeoutMs"].isNumber())
    options.connect_timeout = Duration(c["connectTimeoutMs"].asInt());

  TypedParameters parameters;
  if (c["parameters"].isArray())
    for (const Value& p : c["parameters"].asArray()) {
      parameters.types.push_back(p["type"].isString() && p["type"].asString() == "number"
                                     ? ParameterType::Number
                                     : ParameterType::String);
      parameters.indexes.push_back(p["index"].isNumber()
                                       ? p["index"].asInt()
                                       : static_cast<std::int64_t>(parameters.indexes.size() + 1));
    }
  parameters.where = std::make_shared<const std::string>(
      fmt::format("{}: the statement \"{}\"", where, options.statement));
  return SinkParts{options, parameters};
}

}  // namespace

SinkFactory<Value> mysqlSinkFactory(const Value& c, const std::string& where) {
  auto [options, parameters] = partsOf(c, where);
  return [options, parameters] {
    return std::make_unique<MysqlSink<Value, TypedParameters>>(options, parameters);
  };
}

SinkFactory<Change<Value>> mysqlChangelogSinkFactory(const Value& c, const std::string& where) {
  auto [options, parameters] = partsOf(c, where);
  options.delete_statement = stringOr(c["deleteStatement"], "");
  if (options.delete_statement.empty())
    throw ConfigError(where +
                      ": a MySQL changelog needs a delete statement (changelog(\"DELETE "
                      "FROM t WHERE id = ?\"))");
  return [options, parameters] {
    return std::make_unique<MysqlSink<Change<Value>, TypedParameters>>(options, parameters);
  };
}

}  // namespace lightflus::js
