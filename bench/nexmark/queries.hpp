// Nexmark queries q0-q5, q7 and q8 on the C++ DataStream API.
//
// Each function takes the stream of all events and returns the query's result stream. The
// row types carry the output columns of the nexmark repository's Flink SQL
// (nexmark-flink/src/main/resources/queries/qN.sql); appendRow() writes a row as one JSON
// object with those column names. See docs/nexmark.md for what each query computes.
//
//     auto events = ctx.fromSource<nexmark::Event>(nexmark::source({.count = n}));
//     nexmark::q5(events).print([](std::string& out, const auto& row) { appendRow(out, row); });
#pragma once

#include <cstdint>
#include <string>

#include "lightflus/changelog.hpp"
#include "lightflus/connectors/nexmark.hpp"
#include "lightflus/datastream.hpp"

namespace lightflus::nexmark {

/// q0 and q7: auction, bidder, price, dateTime, extra (a Bid; channel and url are not output).
using Q0Row = Bid;
using Q7Row = Bid;

/// q1: a bid's price in euros, DECIMAL(23, 3): price_millis = price * 908 (0.908 * price).
struct Q1Row {
  std::int64_t auction = 0;
  std::int64_t bidder = 0;
  std::int64_t price_millis = 0;
  Timestamp date_time = 0;
  Text extra;
  friend auto operator<=>(const Q1Row&, const Q1Row&) = default;
};

/// q2: bids on every 123rd auction.
struct Q2Row {
  std::int64_t auction = 0;
  std::int64_t price = 0;
  friend auto operator<=>(const Q2Row&, const Q2Row&) = default;
};

/// q3: sellers in Oregon, Idaho or California with auctions in category 10.
struct Q3Row {
  Text name;
  Text city;
  Text state;
  std::int64_t id = 0;  ///< the auction's id
  friend auto operator<=>(const Q3Row&, const Q3Row&) = default;
};

/// q4: the average closing price per category (the SQL's columns: id is the category).
struct Q4Row {
  std::int64_t id = 0;
  std::int64_t final = 0;
  friend auto operator<=>(const Q4Row&, const Q4Row&) = default;
};

/// q5: the auctions with the most bids in a 10 s window sliding by 2 s.
struct Q5Row {
  std::int64_t auction = 0;
  std::int64_t num = 0;
  friend auto operator<=>(const Q5Row&, const Q5Row&) = default;
};

/// q8: people who registered and put up an auction in the same 10 s tumbling window.
struct Q8Row {
  std::int64_t id = 0;
  Text name;
  Timestamp stime = 0;  ///< the window's start
  friend auto operator<=>(const Q8Row&, const Q8Row&) = default;
};

DataStream<Q0Row> q0(const DataStream<Event>& events);
DataStream<Q1Row> q1(const DataStream<Event>& events);
DataStream<Q2Row> q2(const DataStream<Event>& events);
DataStream<Q3Row> q3(const DataStream<Event>& events);
/// The final table at the end of a bounded input: one row per category.
DataStream<Q4Row> q4(const DataStream<Event>& events);
/// q4 as the updating query it is: +I for a category's first average, then -U/+U for each
/// change of it (see lightflus/changelog.hpp). Applied in order, the rows give q4()'s table.
DataStream<Change<Q4Row>> q4Changelog(const DataStream<Event>& events);
DataStream<Q5Row> q5(const DataStream<Event>& events);
DataStream<Q7Row> q7(const DataStream<Event>& events);
DataStream<Q8Row> q8(const DataStream<Event>& events);

/// Appends the row as one JSON object named by the SQL output columns (no newline).
void appendRow(std::string& out, const Bid& row);
void appendRow(std::string& out, const Q1Row& row);
void appendRow(std::string& out, const Q2Row& row);
void appendRow(std::string& out, const Q3Row& row);
void appendRow(std::string& out, const Q4Row& row);
/// {"op":"+U","id":..,"final":..}
void appendRow(std::string& out, const Change<Q4Row>& change);
void appendRow(std::string& out, const Q5Row& row);
void appendRow(std::string& out, const Q8Row& row);

}  // namespace lightflus::nexmark
