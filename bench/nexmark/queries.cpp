// Nexmark q0, q1, q2 and q5 (one input stream each) and the JSON form of all result rows.
// The joins (q3, q4, q7, q8) are in join_queries.cpp.
#include <algorithm>
#include <vector>

#include <fmt/format.h>

#include "queries.hpp"

namespace lightflus::nexmark {
namespace {

/// A bid's count in one window of q5.
struct AuctionCount {
  std::int64_t auction = 0;
  std::int64_t num = 0;
  Timestamp start = 0;
};

void appendQuoted(std::string& out, std::string_view s) {
  // Generated names and strings hold letters, digits, spaces and URL characters; escape the
  // two that JSON requires for anything read from a file.
  out += '"';
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (static_cast<unsigned char>(c) < 0x20)
      fmt::format_to(std::back_inserter(out), "\\u{:04x}", static_cast<int>(c));
    else
      out += c;
  }
  out += '"';
}

void appendTime(std::string& out, Timestamp t) {
  out += '"';
  appendTimestamp(out, t);
  out += '"';
}

}  // namespace

// Each query starts with a flatMap from Event to just the columns it reads, as Flink's
// planner projects and filters in the source's Calc: no copy of strings it does not need.

DataStream<Q0Row> q0(const DataStream<Event>& events) {
  return events
      .flatMap<Bid>([](const Event& e, Collector<Bid>& out) {
        if (const auto* b = std::get_if<Bid>(&e)) out.collect(*b);
      })
      .name("q0");
}

DataStream<Q1Row> q1(const DataStream<Event>& events) {
  return events
      .flatMap<Q1Row>([](const Event& e, Collector<Q1Row>& out) {
        if (const auto* b = std::get_if<Bid>(&e))
          out.collect(Q1Row{b->auction, b->bidder, b->price * 908, b->date_time, b->extra});
      })
      .name("q1");
}

DataStream<Q2Row> q2(const DataStream<Event>& events) {
  return events
      .flatMap<Q2Row>([](const Event& e, Collector<Q2Row>& out) {
        if (const auto* b = std::get_if<Bid>(&e); b && b->auction % 123 == 0)
          out.collect(Q2Row{b->auction, b->price});
      })
      .name("q2");
}

DataStream<Q5Row> q5(const DataStream<Event>& events) {
  auto auctions = events
                      .flatMap<std::int64_t>([](const Event& e, Collector<std::int64_t>& out) {
                        if (const auto* b = std::get_if<Bid>(&e)) out.collect(b->auction);
                      })
                      .name("q5-bids");
  // Bids per auction and hopping window (10 s every 2 s)...
  auto counts =
      auctions.keyBy([](const std::int64_t& a) { return a; })
          .window(SlidingEventTimeWindows::of(Time::seconds(10), Time::seconds(2)))
          .aggregate(Count{},
                     [](const std::int64_t& auction, const TimeWindow& w, std::int64_t n) {
                       return AuctionCount{auction, n, w.start};
                     })
          .name("q5-count");
  // ...then, per window, the auctions whose count is the window's largest. A window's counts
  // carry its maxTimestamp(), which falls in exactly one 2 s tumbling window.
  return counts.keyBy([](const AuctionCount& c) { return c.start; })
      .window(TumblingEventTimeWindows::of(Time::seconds(2)))
      .process<Q5Row>([](const Timestamp&, const TimeWindow&,
                         const std::vector<AuctionCount>& window, Collector<Q5Row>& out) {
        std::int64_t max = 0;
        for (const auto& c : window) max = std::max(max, c.num);
        for (const auto& c : window)
          if (c.num >= max) out.collect(Q5Row{c.auction, c.num});
      })
      .name("q5");
}

void appendRow(std::string& out, const Bid& row) {
  fmt::format_to(std::back_inserter(out),
                 "{{\"auction\":{},\"bidder\":{},\"price\":{},\"dateTime\":", row.auction,
                 row.bidder, row.price);
  appendTime(out, row.date_time);
  out += ",\"extra\":";
  appendQuoted(out, row.extra);
  out += '}';
}

void appendRow(std::string& out, const Q1Row& row) {
  std::int64_t units = row.price_millis / 1000, millis = row.price_millis % 1000;
  fmt::format_to(std::back_inserter(out),
                 "{{\"auction\":{},\"bidder\":{},\"price\":{}.{:03d},\"dateTime\":", row.auction,
                 row.bidder, units, millis);
  appendTime(out, row.date_time);
  out += ",\"extra\":";
  appendQuoted(out, row.extra);
  out += '}';
}

void appendRow(std::string& out, const Q2Row& row) {
  fmt::format_to(std::back_inserter(out), "{{\"auction\":{},\"price\":{}}}", row.auction,
                 row.price);
}

void appendRow(std::string& out, const Q3Row& row) {
  out += "{\"name\":";
  appendQuoted(out, row.name);
  out += ",\"city\":";
  appendQuoted(out, row.city);
  out += ",\"state\":";
  appendQuoted(out, row.state);
  fmt::format_to(std::back_inserter(out), ",\"id\":{}}}", row.id);
}

void appendRow(std::string& out, const Q4Row& row) {
  fmt::format_to(std::back_inserter(out), "{{\"id\":{},\"final\":{}}}", row.id, row.final);
}

void appendRow(std::string& out, const Change<Q4Row>& change) {
  changelogJson([](std::string& o, const Q4Row& r) { appendRow(o, r); })(out, change);
}

void appendRow(std::string& out, const Q5Row& row) {
  fmt::format_to(std::back_inserter(out), "{{\"auction\":{},\"num\":{}}}", row.auction, row.num);
}

void appendRow(std::string& out, const Q8Row& row) {
  fmt::format_to(std::back_inserter(out), "{{\"id\":{},\"name\":", row.id);
  appendQuoted(out, row.name);
  out += ",\"stime\":";
  appendTime(out, row.stime);
  out += '}';
}

}  // namespace lightflus::nexmark
