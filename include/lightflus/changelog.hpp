// Changelog streams: the rows of a result that changes over time (an updating query such as a
// GROUP BY over an unbounded input), as Flink's RowKind has them.
//
//     DataStream<Change<Avg>> averages = ...;   // +I {id 1, 10}, -U {id 1, 10}, +U {id 1, 12}
//     writeJsonLines(averages, "out.jsonl", changelogJson(AppendAvgJson{}));
//     // {"op":"+I","id":1,"final":10}
//     // {"op":"-U","id":1,"final":10}
//     // {"op":"+U","id":1,"final":12}
//
// A key's first row is an insert (+I); a change of it is the old row retracted (-U) followed
// at once by the new row (+U); a row that leaves the result is a delete (-D). Replaying the
// rows in order onto a table keyed by the row's key (insert/replace on +I and +U, remove on -D;
// -U can be skipped by such an upsert table) gives the result at that point.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "lightflus/error.hpp"
#include "lightflus/serializer.hpp"
#include "lightflus/value.hpp"

namespace lightflus {

/// What a changelog row does to the result (Flink's RowKind).
enum class RowKind : std::uint8_t {
  Insert,        ///< +I: a new row
  UpdateBefore,  ///< -U: the old content of a row about to be updated
  UpdateAfter,   ///< +U: the new content of an updated row
  Delete,        ///< -D: a row removed from the result
};

/// "+I", "-U", "+U" or "-D".
constexpr std::string_view shortString(RowKind kind) {
  switch (kind) {
    case RowKind::Insert:
      return "+I";
    case RowKind::UpdateBefore:
      return "-U";
    case RowKind::UpdateAfter:
      return "+U";
    case RowKind::Delete:
      return "-D";
  }
  return "?";
}

/// The kind named by "+I", "-U", "+U" or "-D"; throws ConfigError naming the text otherwise.
inline RowKind parseRowKind(std::string_view text) {
  for (RowKind k : {RowKind::Insert, RowKind::UpdateBefore, RowKind::UpdateAfter, RowKind::Delete})
    if (shortString(k) == text) return k;
  throw ConfigError("'" + std::string(text) + "' is not a changelog kind (+I, -U, +U or -D)");
}

/// One row of a changelog stream.
template <class T>
struct Change {
  RowKind kind = RowKind::Insert;
  T row;
  friend bool operator==(const Change&, const Change&) = default;
};

/// Whether T is a Change<R>, and R (T itself for other types): sinks that apply changelogs take
/// extractors of the row.
template <class T>
struct IsChange : std::false_type {};
template <class T>
struct IsChange<Change<T>> : std::true_type {};
template <class T>
struct RowOfT {
  using type = T;
};
template <class T>
struct RowOfT<Change<T>> {
  using type = T;
};
template <class T>
using RowOf = typename RowOfT<T>::type;

/// The kind named by a changelog row's "op" value ("+I", "-U", "+U" or "-D"); nullptr (no
/// "op") is +I, as an append-only stream is a changelog of inserts. InputError naming the value
/// otherwise.
inline RowKind rowKindOf(const Value* op) {
  if (op == nullptr) return RowKind::Insert;
  if (op->isString()) {
    std::string_view text = op->asString();
    for (RowKind k :
         {RowKind::Insert, RowKind::UpdateBefore, RowKind::UpdateAfter, RowKind::Delete})
      if (shortString(k) == text) return k;
  }
  throw InputError("a changelog row's \"op\" must be \"+I\", \"-U\", \"+U\" or \"-D\", got " +
                   op->toJson());
}

/// The kind of a changelog row given as a Value object (the JSON-lines form, TypeScript jobs):
/// its "op" member (see rowKindOf).
inline RowKind changeKindOf(const Value& row) {
  return rowKindOf(row.find("op"));
}

/// A changelog row given as a Value object without its "op" member (what a sink writes).
inline Value withoutOp(const Value& row) {
  if (row.find("op") == nullptr) return row;
  Value copy = row;
  auto& members = copy.asObject();
  members.erase(
      std::remove_if(members.begin(), members.end(), [](const auto& m) { return m.first == "op"; }),
      members.end());
  return copy;
}

/// A JSON-lines format for Change<T> from the row's format: the row's object with an "op" member
/// first (`{"op":"+U", ...the row's members}`). The row's format must write a JSON object.
template <class Format>
struct ChangelogJson {
  Format row_format;
  template <class T>
  void operator()(std::string& out, const Change<T>& change) const {
    std::size_t start = out.size();
    row_format(out, change.row);
    if (out.size() == start || out[start] != '{')
      throw ConnectorError("a changelog row must be written as a JSON object, got '" +
                           out.substr(start, 40) + "'");
    std::string op = "{\"op\":\"";
    op += shortString(change.kind);
    op += out.size() - start > 2 ? "\"," : "\"";
    out.replace(start, 1, op);
  }
};

template <class Format>
ChangelogJson<Format> changelogJson(Format row_format) {
  return ChangelogJson<Format>{std::move(row_format)};
}

/// (A Change of a trivially copyable row is itself one and is copied as bytes.)
template <class T>
struct Serializer<Change<T>, std::enable_if_t<!std::is_trivially_copyable_v<Change<T>>>> {
  static void write(StateWriter& w, const Change<T>& c) {
    w.write(static_cast<std::uint8_t>(c.kind));
    w.write(c.row);
  }
  static Change<T> read(StateReader& r) {
    auto kind = r.read<std::uint8_t>();
    if (kind > static_cast<std::uint8_t>(RowKind::Delete))
      throw InputError("snapshot data is corrupt: changelog row kind " + std::to_string(kind));
    return Change<T>{static_cast<RowKind>(kind), r.read<T>()};
  }
};

}  // namespace lightflus
