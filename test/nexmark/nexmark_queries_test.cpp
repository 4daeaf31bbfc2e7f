// Nexmark q0-q5, q7 and q8 on the engine, at parallelism 1 and 2, against reference
// computations written here as plain loops over the generated events (the SQL read literally:
// nested loops and maps over the whole input, no streaming).
#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <set>
#include <tuple>
#include <vector>

#include "queries.hpp"

using namespace lightflus;
using namespace lightflus::nexmark;

namespace {

// 200 events per second of event time: 6,000 events span 30 s, so that the 10 s windows of
// q5, q7 and q8 fire several times and q4's auctions (about 17 s long) open and close.
constexpr std::uint64_t kEvents = 6000;

GeneratorConfig testConfig() {
  GeneratorConfig c;
  c.event_time_rate = 200;
  return c;
}

std::vector<Event> allEvents() {
  Generator gen(testConfig());
  std::vector<Event> events;
  for (std::uint64_t id = 0; id < kEvents; ++id) events.push_back(gen.next(id));
  return events;
}

template <class T>
std::vector<T> ofType(const std::vector<Event>& events) {
  std::vector<T> out;
  for (const auto& e : events)
    if (const auto* v = std::get_if<T>(&e)) out.push_back(*v);
  return out;
}

/// Runs a query on the generator at the given parallelism; returns its rows.
template <class Query>
auto run(Query query, int parallelism) {
  ExecutionContext ctx("nexmark-test");
  ctx.parallelism(parallelism);
  auto events = ctx.fromSource<Event>(source({.count = kEvents, .config = testConfig()}));
  auto rows = query(events).collect();
  ctx.execute();
  return rows.values();
}

template <class T>
std::vector<T> sorted(std::vector<T> v) {
  std::sort(v.begin(), v.end());
  return v;
}

using BidColumns = std::tuple<std::int64_t, std::int64_t, std::int64_t, Timestamp, std::string>;
std::vector<BidColumns> columns(const std::vector<Bid>& bids) {
  std::vector<BidColumns> out;
  for (const auto& b : bids) out.emplace_back(b.auction, b.bidder, b.price, b.date_time, b.extra);
  std::sort(out.begin(), out.end());
  return out;
}

Timestamp windowStart(Timestamp t, Timestamp size) {
  return t - ((t % size) + size) % size;
}

}  // namespace

TEST_CASE("q0 passes every bid through", "[nexmark]") {
  auto expected = columns(ofType<Bid>(allEvents()));
  for (int p : {1, 2}) CHECK(columns(run(q0, p)) == expected);
}

TEST_CASE("q1 converts every bid's price to euros", "[nexmark]") {
  std::vector<Q1Row> expected;
  for (const auto& b : ofType<Bid>(allEvents()))
    expected.push_back(Q1Row{b.auction, b.bidder, b.price * 908, b.date_time, b.extra});
  for (int p : {1, 2}) CHECK(sorted(run(q1, p)) == sorted(expected));
}

TEST_CASE("q2 selects the bids on auctions whose id is a multiple of 123", "[nexmark]") {
  std::vector<Q2Row> expected;
  for (const auto& b : ofType<Bid>(allEvents()))
    if (b.auction % 123 == 0) expected.push_back(Q2Row{b.auction, b.price});
  REQUIRE(!expected.empty());
  for (int p : {1, 2}) CHECK(sorted(run(q2, p)) == sorted(expected));
}

TEST_CASE("q3 joins category-10 auctions with their sellers from OR, ID and CA", "[nexmark]") {
  auto events = allEvents();
  std::vector<Q3Row> expected;
  for (const auto& a : ofType<Auction>(events))
    for (const auto& p : ofType<Person>(events))
      if (a.category == 10 && a.seller == p.id &&
          (p.state == "OR" || p.state == "ID" || p.state == "CA"))
        expected.push_back(Q3Row{p.name, p.city, p.state, a.id});
  REQUIRE(!expected.empty());
  for (int p : {1, 2}) CHECK(sorted(run(q3, p)) == sorted(expected));
}

TEST_CASE("q4 averages the winning bids of the auctions per category", "[nexmark]") {
  auto events = allEvents();
  auto bids = ofType<Bid>(events);
  std::map<std::int64_t, std::pair<std::int64_t, std::int64_t>> by_category;  // sum, count
  for (const auto& a : ofType<Auction>(events)) {
    std::int64_t final = -1;
    for (const auto& b : bids)
      if (b.auction == a.id && b.date_time >= a.date_time && b.date_time <= a.expires)
        final = std::max(final, b.price);
    if (final < 0) continue;
    by_category[a.category].first += final;
    ++by_category[a.category].second;
  }
  std::vector<Q4Row> expected;
  for (const auto& [category, sc] : by_category)
    expected.push_back(Q4Row{category, sc.first / sc.second});
  REQUIRE(expected.size() >= 2);
  for (int p : {1, 2}) CHECK(sorted(run(q4, p)) == expected);
}

TEST_CASE(
    "q4's changelog inserts each category once, then retracts and updates it, and "
    "replays to the final table",
    "[nexmark]") {
  const auto final_table = sorted(run(q4, 1));
  REQUIRE(final_table.size() >= 2);
  for (int p : {1, 2}) {
    INFO("parallelism " << p);
    auto changes = run(q4Changelog, p);
    std::map<std::int64_t, std::int64_t> table;
    std::map<std::int64_t, std::vector<Change<Q4Row>>> per_category;
    for (const auto& c : changes) per_category[c.row.id].push_back(c);
    std::size_t updates = 0;
    for (const auto& [category, rows] : per_category) {
      // Per category, in order: +I, then (-U old, +U new) pairs; -U retracts the current row.
      REQUIRE(rows.front().kind == RowKind::Insert);
      table[category] = rows.front().row.final;
      REQUIRE(rows.size() % 2 == 1);
      for (std::size_t i = 1; i < rows.size(); i += 2) {
        CHECK(rows[i].kind == RowKind::UpdateBefore);
        CHECK(rows[i].row.final == table[category]);
        CHECK(rows[i + 1].kind == RowKind::UpdateAfter);
        CHECK(rows[i + 1].row.final != rows[i].row.final);
        table[category] = rows[i + 1].row.final;
        ++updates;
      }
    }
    CHECK(updates > 0);
    std::vector<Q4Row> replayed;
    for (const auto& [id, final] : table) replayed.push_back(Q4Row{id, final});
    CHECK(replayed == final_table);
  }
}

TEST_CASE("q5 finds the auctions with the most bids per hopping window", "[nexmark]") {
  std::map<Timestamp, std::map<std::int64_t, std::int64_t>> counts;  // window start -> counts
  for (const auto& b : ofType<Bid>(allEvents()))
    for (Timestamp s = windowStart(b.date_time, 2000); s > b.date_time - 10'000; s -= 2000)
      ++counts[s][b.auction];
  std::vector<Q5Row> expected;
  for (const auto& [start, window] : counts) {
    std::int64_t max = 0;
    for (const auto& [auction, num] : window) max = std::max(max, num);
    for (const auto& [auction, num] : window)
      if (num == max) expected.push_back(Q5Row{auction, num});
  }
  REQUIRE(counts.size() >= 15);
  for (int p : {1, 2}) CHECK(sorted(run(q5, p)) == sorted(expected));
}

TEST_CASE("q7 finds the bids with the highest price of each 10 s window", "[nexmark]") {
  auto bids = ofType<Bid>(allEvents());
  std::map<Timestamp, std::int64_t> max_by_end;
  for (const auto& b : bids) {
    auto& m = max_by_end[windowStart(b.date_time, 10'000) + 10'000];
    m = std::max(m, b.price);
  }
  std::vector<Bid> expected;
  for (const auto& [end, max] : max_by_end)
    for (const auto& b : bids)
      if (b.price == max && b.date_time >= end - 10'000 && b.date_time <= end)
        expected.push_back(b);
  REQUIRE(max_by_end.size() >= 3);
  for (int p : {1, 2}) CHECK(columns(run(q7, p)) == columns(expected));
}

TEST_CASE("q8 finds the people who registered and sold in the same 10 s window", "[nexmark]") {
  auto events = allEvents();
  std::set<std::pair<std::int64_t, Timestamp>> sellers;  // (seller, window start)
  for (const auto& a : ofType<Auction>(events))
    sellers.emplace(a.seller, windowStart(a.date_time, 10'000));
  std::vector<Q8Row> expected;
  for (const auto& p : ofType<Person>(events)) {
    Timestamp start = windowStart(p.date_time, 10'000);
    if (sellers.count({p.id, start})) expected.push_back(Q8Row{p.id, p.name, start});
  }
  REQUIRE(!expected.empty());
  for (int p : {1, 2}) CHECK(sorted(run(q8, p)) == sorted(expected));
}

TEST_CASE("result rows are JSON objects named by the SQL output columns", "[nexmark]") {
  std::string line;
  appendRow(line, Q1Row{1000, 2001, 12'345 * 908, 1'436'918'400'000, "x"});
  CHECK(
      line ==
      R"({"auction":1000,"bidder":2001,"price":11209.260,"dateTime":"2015-07-15 00:00:00.000","extra":"x"})");
  line.clear();
  appendRow(line, Q8Row{1001, "Paul \"P\" Smith", 1'436'918'410'000});
  CHECK(line == R"({"id":1001,"name":"Paul \"P\" Smith","stime":"2015-07-15 00:00:10.000"})");
  line.clear();
  appendRow(line, Q4Row{10, 42});
  CHECK(line == R"({"id":10,"final":42})");
  line.clear();
  appendRow(line, Change<Q4Row>{RowKind::UpdateBefore, Q4Row{10, 42}});
  CHECK(line == R"({"op":"-U","id":10,"final":42})");
}

TEST_CASE("changelog rows: kinds by name and JSON with op first", "[nexmark][changelog]") {
  CHECK(parseRowKind("+I") == RowKind::Insert);
  CHECK(parseRowKind("-D") == RowKind::Delete);
  CHECK_THROWS_WITH(parseRowKind("+X"), Catch::Contains("'+X' is not a changelog kind"));
  std::string out;
  auto empty = changelogJson([](std::string& o, int) { o += "{}"; });
  empty(out, Change<int>{RowKind::Delete, 1});
  CHECK(out == R"({"op":"-D"})");
  auto number = changelogJson([](std::string& o, int v) { o += std::to_string(v); });
  CHECK_THROWS_WITH(number(out, Change<int>{RowKind::Insert, 7}),
                    Catch::Contains("must be written as a JSON object, got '7'"));
}
