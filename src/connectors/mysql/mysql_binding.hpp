// MysqlBinding: Values as the parameters of a MariaDB Connector/C prepared statement (internal
// to lightflus::mysql).
//
// null binds NULL, booleans TINYINT 0/1, integers BIGINT, doubles DOUBLE, strings as they are,
// and arrays and objects as their JSON text. One row binds for one execution; the rows of a
// transaction bind column-wise for one bulk execution (array binding) when each placeholder's
// values share one SQL type. The binding owns the buffers the MYSQL_BINDs point into, and the
// rows' strings must outlive the execution.
#pragma once

#include <mysql.h>

#include <deque>
#include <string>
#include <vector>

#include "lightflus/value.hpp"

namespace lightflus::detail {

class MysqlBinding {
 public:
  /// The binds of one row, for mysql_stmt_bind_param.
  MYSQL_BIND* bindRow(const std::vector<Value>& row);
  /// The binds of `rows` column-wise, for one execution with STMT_ATTR_ARRAY_SIZE =
  /// rows.size(); nullptr when a placeholder's values have different SQL types (integers and
  /// doubles mix, as doubles, while the integers are exact as doubles).
  MYSQL_BIND* bindColumns(const std::vector<std::vector<Value>>& rows, std::size_t parameter_count);

 private:
  // One placeholder's values over all rows of a bulk execution.
  struct Column {
    std::vector<long long> ints;
    std::vector<double> doubles;
    std::vector<signed char> bools;
    std::vector<char*> strings;
    std::vector<unsigned long> lengths;
    std::vector<char> indicators;
  };

  std::vector<MYSQL_BIND> binds_;
  // One row's buffers.
  std::vector<long long> ints_;
  std::vector<double> doubles_;
  std::vector<signed char> bools_;
  std::vector<std::string> texts_;
  // Bulk buffers.
  std::vector<Column> columns_;
  std::deque<std::string> bulk_texts_;  // a deque: the JSON texts must not move
};

}  // namespace lightflus::detail
