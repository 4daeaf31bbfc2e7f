// MysqlBinding: element values as MariaDB Connector/C statement parameters.
#include "mysql_binding.hpp"

namespace lightflus::detail {

namespace {

/// The SQL type a value binds as; Null binds as any.
enum_field_types sqlTypeOf(const Value& v) {
  switch (v.type()) {
    case Value::Type::Null:
      return MYSQL_TYPE_NULL;
    case Value::Type::Bool:
      return MYSQL_TYPE_TINY;
    case Value::Type::Int:
      return MYSQL_TYPE_LONGLONG;
    case Value::Type::Double:
      return MYSQL_TYPE_DOUBLE;
    default:
      return MYSQL_TYPE_STRING;  // strings, and arrays and objects as JSON text
  }
}

}  // namespace

MYSQL_BIND* MysqlBinding::bindRow(const std::vector<Value>& row) {
  const std::size_t n = row.size();
  binds_.assign(n, MYSQL_BIND{});
  ints_.resize(n);
  doubles_.resize(n);
  bools_.resize(n);
  texts_.resize(n);
  for (std::size_t i = 0; i < n; ++i) {
    const Value& v = row[i];
    MYSQL_BIND& b = binds_[i];
    switch (v.type()) {
      case Value::Type::Null:
        b.buffer_type = MYSQL_TYPE_NULL;
        break;
      case Value::Type::Bool:
        bools_[i] = v.asBool() ? 1 : 0;
        b.buffer_type = MYSQL_TYPE_TINY;
        b.buffer = &bools_[i];
        break;
      case Value::Type::Int:
        ints_[i] = v.asInt();
        b.buffer_type = MYSQL_TYPE_LONGLONG;
        b.buffer = &ints_[i];
        break;
      case Value::Type::Double:
        doubles_[i] = v.asDouble();
        b.buffer_type = MYSQL_TYPE_DOUBLE;
        b.buffer = &doubles_[i];
        break;
      case Value::Type::String: {
        std::string_view s = v.asString();
        b.buffer_type = MYSQL_TYPE_STRING;
        b.buffer = const_cast<char*>(s.data());
        b.buffer_length = static_cast<unsigned long>(s.size());
        break;
      }
      case Value::Type::Array:
      case Value::Type::Object:
        texts_[i].clear();
        v.appendJson(texts_[i]);
        b.buffer_type = MYSQL_TYPE_STRING;
        b.buffer = texts_[i].data();
        b.buffer_length = static_cast<unsigned long>(texts_[i].size());
        break;
    }
  }
  return binds_.data();
}

MYSQL_BIND* MysqlBinding::bindColumns(const std::vector<std::vector<Value>>& rows,
                                      std::size_t parameter_count) {
  const std::size_t n = rows.size();
  binds_.assign(parameter_count, MYSQL_BIND{});
  columns_.resize(parameter_count);
  bulk_texts_.clear();
  for (std::size_t j = 0; j < parameter_count; ++j) {
    enum_field_types type = MYSQL_TYPE_NULL;
    for (const auto& row : rows) {
      enum_field_types t = sqlTypeOf(row[j]);
      if (t == MYSQL_TYPE_NULL || t == type) continue;
      if (type == MYSQL_TYPE_NULL) {
        type = t;
      } else if ((t == MYSQL_TYPE_DOUBLE && type == MYSQL_TYPE_LONGLONG) ||
                 (t == MYSQL_TYPE_LONGLONG && type == MYSQL_TYPE_DOUBLE)) {
        type = MYSQL_TYPE_DOUBLE;
      } else {
        return nullptr;
      }
    }
    Column& c = columns_[j];
    c.indicators.assign(n, STMT_INDICATOR_NONE);
    MYSQL_BIND& b = binds_[j];
    b.buffer_type = type == MYSQL_TYPE_NULL ? MYSQL_TYPE_STRING : type;
    b.u.indicator = c.indicators.data();
    switch (b.buffer_type) {
      case MYSQL_TYPE_TINY:
        c.bools.assign(n, 0);
        b.buffer = c.bools.data();
        break;
      case MYSQL_TYPE_LONGLONG:
        c.ints.assign(n, 0);
        b.buffer = c.ints.data();
        break;
      case MYSQL_TYPE_DOUBLE:
        c.doubles.assign(n, 0);
        b.buffer = c.doubles.data();
        break;
      default:
        c.strings.assign(n, nullptr);
        c.lengths.assign(n, 0);
        b.buffer = c.strings.data();
        b.length = c.lengths.data();
        break;
    }
    for (std::size_t i = 0; i < n; ++i) {
      const Value& v = rows[i][j];
      if (v.isNull()) {
        c.indicators[i] = STMT_INDICATOR_NULL;
      } else if (b.buffer_type == MYSQL_TYPE_TINY) {
        c.bools[i] = v.asBool() ? 1 : 0;
      } else if (b.buffer_type == MYSQL_TYPE_LONGLONG) {
        c.ints[i] = v.asInt();
      } else if (b.buffer_type == MYSQL_TYPE_DOUBLE) {
        constexpr std::int64_t kExact = std::int64_t{1} << 53;
        if (v.isInt() && (v.asInt() > kExact || v.asInt() < -kExact)) return nullptr;
        c.doubles[i] = v.asDouble();
      } else if (v.isString()) {
        std::string_view text = v.asString();
        c.strings[i] = const_cast<char*>(text.data());
        c.lengths[i] = static_cast<unsigned long>(text.size());
      } else {
        std::string& text = bulk_texts_.emplace_back();
        v.appendJson(text);
        c.strings[i] = text.data();
        c.lengths[i] = static_cast<unsigned long>(text.size());
      }
    }
  }
  return binds_.data();
}

}  // namespace lightflus::detail
