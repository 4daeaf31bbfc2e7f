// The Nexmark generator and source: ids, times and shapes as nexmark-flink's generator makes
// them, determinism per event id, splitting over subtasks, snapshots and the JSON form.
#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <vector>

#include "lightflus/connectors/nexmark.hpp"
#include "lightflus/datastream.hpp"

using namespace lightflus;
using namespace lightflus::nexmark;

namespace {

/// Polls a source subtask until it finishes or `max_batches` batches were emitted.
std::vector<Element<Event>> drain(NexmarkSource& source, std::size_t max_batches = ~0ull) {
  std::vector<Element<Event>> all;
  for (std::size_t i = 0; i < max_batches; ++i) {
    Batch<Event> batch;
    SourceOutput<Event> out(batch, 100);
    SourceStatus status = source.poll(out);
    for (auto& e : batch) all.push_back(std::move(e));
    if (status == SourceStatus::Finished) break;
  }
  return all;
}

SourceContext subtask(int index, int parallelism) {
  SourceContext ctx;
  ctx.subtask = index;
  ctx.parallelism = parallelism;
  return ctx;
}

}  // namespace

TEST_CASE("the generator makes 1 person, 3 auctions and 46 bids in every 50 events", "[nexmark]") {
  Generator gen;
  std::map<std::size_t, int> types;
  for (std::uint64_t id = 0; id < 5000; ++id) ++types[gen.next(id).index()];
  CHECK(types[0] == 100);
  CHECK(types[1] == 300);
  CHECK(types[2] == 4600);
}

TEST_CASE("people and auctions get consecutive ids from 1000, as in nexmark-flink", "[nexmark]") {
  Generator gen;
  CHECK(std::get<Person>(gen.next(0)).id == 1000);
  CHECK(std::get<Auction>(gen.next(1)).id == 1000);
  CHECK(std::get<Auction>(gen.next(3)).id == 1002);
  CHECK(std::get<Person>(gen.next(50)).id == 1001);
  CHECK(std::get<Auction>(gen.next(51)).id == 1003);
  for (std::uint64_t id = 4; id < 50; ++id) {
    const Bid b = std::get<Bid>(gen.next(id));
    CHECK(b.auction >= 1000);
    CHECK(b.auction <= 1002 + 10);  // an auction made already, or one of the next 10
  }
}

TEST_CASE("event n happens at the first event time plus n / 10 ms at 10,000 events/s",
          "[nexmark]") {
  GeneratorConfig config;
  config.first_event_time = 1'000'000;
  Generator gen(config);
  CHECK(eventTime(gen.next(0)) == 1'000'000);
  CHECK(eventTime(gen.next(9)) == 1'000'000);
  CHECK(eventTime(gen.next(10)) == 1'000'001);
  CHECK(eventTime(gen.next(12'345)) == 1'001'234);
  const Auction a = std::get<Auction>(gen.next(12'301));
  CHECK(a.expires > a.date_time);
}

TEST_CASE("an event is a function of its id only", "[nexmark]") {
  Generator a, b;
  for (std::uint64_t id : {0ull, 1ull, 7ull, 1234ull, 99'999ull, 10'000'000'003ull})
    CHECK(a.next(id) == b.next(id));
  CHECK(a.next(5) != a.next(6));
}

TEST_CASE("the first 100,000 events are those the first version of the generator made",
          "[nexmark]") {
  // FNV-1a of their JSON lines, as written by the generator of commit 6059427 (std::string
  // fields, std::pow for prices): faster strings and prices must not change event n.
  Generator gen;
  std::uint64_t hash = 0xcbf29ce484222325ULL;
  std::string line;
  for (std::uint64_t id = 0; id < 100'000; ++id) {
    line.clear();
    appendJson(line, gen.next(id));
    line += '\n';
    for (unsigned char c : line) hash = (hash ^ c) * 0x100000001b3ULL;
  }
  CHECK(hash == 0xb7e0517c86a25e38ULL);
}

TEST_CASE("event strings are views of the generator's tables or inline, not heap copies",
          "[nexmark]") {
  Generator gen;
  const Bid a = std::get<Bid>(gen.next(10)), b = std::get<Bid>(gen.next(10));
  CHECK(a.extra.data() == b.extra.data());  // the same slice of the same table
  CHECK(a.url.data() == b.url.data());
  const Person p = std::get<Person>(gen.next(0));
  CHECK(p.name.size() <= Text::kInlineCapacity);
  CHECK(p.credit_card.size() <= Text::kInlineCapacity);
  Text copy = p.name;
  CHECK(copy == p.name);
  CHECK(copy.data() != p.name.data());  // inline: a copy holds its own characters
}

TEST_CASE("a Text read from JSON owns its characters and compares by value", "[nexmark]") {
  std::string longer(100, 'x');
  Text owned(longer);
  longer.assign(100, 'y');
  CHECK(owned == std::string(100, 'x'));
  Text copy = owned, moved = std::move(owned);
  CHECK(copy == moved);
  CHECK(copy.data() != moved.data());
  CHECK(Text("abc") < Text("abd"));
  CHECK(Text::borrowed("OR") == "OR");
}

TEST_CASE("generated fields have nexmark's shapes", "[nexmark]") {
  Generator gen;
  for (std::uint64_t id = 0; id < 20'000; ++id) {
    Event e = gen.next(id);
    if (const auto* b = std::get_if<Bid>(&e)) {
      REQUIRE(b->price >= 100);
      REQUIRE(b->price <= 100'000'000);
      REQUIRE(b->extra.size() >= 54);  // 100 bytes on average, +-20%, minus 32 for the numbers
      REQUIRE(b->extra.size() <= 81);
      REQUIRE(b->url.rfind("https://www.nexmark.com/", 0) == 0);
      REQUIRE(!b->channel.empty());
    } else if (const auto* a = std::get_if<Auction>(&e)) {
      REQUIRE(a->category >= 10);
      REQUIRE(a->category <= 14);
      REQUIRE(a->reserve >= a->initial_bid);
      REQUIRE(a->seller >= 1000);
    } else {
      const auto& p = std::get<Person>(e);
      REQUIRE(p.credit_card.size() == 19);
      REQUIRE(p.email_address.find('@') != std::string::npos);
      REQUIRE(p.state.size() == 2);
    }
  }
}

TEST_CASE("subtasks split the events by id and together emit each exactly once", "[nexmark]") {
  Options options;
  options.count = 1003;
  NexmarkSource s0(options), s1(options);
  s0.open(subtask(0, 2));
  s1.open(subtask(1, 2));
  auto a = drain(s0), b = drain(s1);
  CHECK(a.size() == 502);
  CHECK(b.size() == 501);
  Generator gen;
  for (std::size_t i = 0; i < a.size(); ++i) REQUIRE(a[i].value == gen.next(2 * i));
  for (std::size_t i = 0; i < b.size(); ++i) REQUIRE(b[i].value == gen.next(2 * i + 1));
  for (const auto& e : a) REQUIRE(e.timestamp == eventTime(e.value));
}

TEST_CASE("a restored source goes on with the events it had not emitted", "[nexmark]") {
  Options options;
  options.count = 2000;
  NexmarkSource first(options);
  first.open(subtask(1, 3));
  auto before = drain(first, 2);
  std::string bytes;
  StateWriter w(bytes);
  first.snapshot(w);

  NexmarkSource restored(options);
  StateReader r(bytes);
  restored.restore(r);
  restored.open(subtask(1, 3));
  auto after = drain(restored);

  NexmarkSource whole(options);
  whole.open(subtask(1, 3));
  auto expected = drain(whole);
  before.insert(before.end(), after.begin(), after.end());
  REQUIRE(before.size() == expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) REQUIRE(before[i].value == expected[i].value);
}

namespace {

/// Subtasks of a run at `parallelism`, restored from `previous` as the engine does: each its own
/// snapshot at the same parallelism, all of them at another.
std::vector<NexmarkSource> startRun(const Options& options, int parallelism,
                                    const std::vector<std::string>& previous) {
  std::vector<NexmarkSource> run;
  run.reserve(static_cast<std::size_t>(parallelism));
  for (int s = 0; s < parallelism; ++s) {
    NexmarkSource& source = run.emplace_back(options);
    if (static_cast<int>(previous.size()) == parallelism) {
      StateReader r(previous[static_cast<std::size_t>(s)]);
      source.restore(r);
    } else if (!previous.empty()) {
      REQUIRE(source.restoreRescaled(previous));
    }
    source.open(subtask(s, parallelism));
  }
  return run;
}

std::vector<std::string> snapshotRun(std::vector<NexmarkSource>& run) {
  std::vector<std::string> all;
  for (auto& source : run) {
    StateWriter w(all.emplace_back());
    source.snapshot(w);
  }
  return all;
}

/// The events as sorted JSON lines: equal lists mean each event the same number of times.
std::vector<std::string> jsonLines(const std::vector<Element<Event>>& events) {
  std::vector<std::string> lines;
  for (const auto& e : events) appendJson(lines.emplace_back(), e.value);
  std::sort(lines.begin(), lines.end());
  return lines;
}

std::vector<std::string> expectedLines(std::uint64_t count) {
  Generator gen;
  std::vector<Element<Event>> events;
  for (std::uint64_t id = 0; id < count; ++id) events.push_back(Element<Event>{gen.next(id)});
  return jsonLines(events);
}

void append(std::vector<Element<Event>>& all, std::vector<Element<Event>> more) {
  for (auto& e : more) all.push_back(std::move(e));
}

}  // namespace

TEST_CASE("the source restored p1 -> p2 -> p3 -> p1 mid-stream emits each event exactly once",
          "[nexmark]") {
  Options options;
  options.count = 1500;
  std::vector<Element<Event>> emitted;
  auto p1 = startRun(options, 1, {});
  append(emitted, drain(p1[0], 2));
  auto p2 = startRun(options, 2, snapshotRun(p1));
  append(emitted, drain(p2[0], 4));  // uneven: subtask 0 well ahead of subtask 1
  append(emitted, drain(p2[1], 1));
  auto p3 = startRun(options, 3, snapshotRun(p2));  // before subtask 1 reached subtask 0
  append(emitted, drain(p3[0], 1));
  append(emitted, drain(p3[2], 3));
  auto last = startRun(options, 1, snapshotRun(p3));
  append(emitted, drain(last[0]));
  REQUIRE(emitted.size() == options.count);
  CHECK(jsonLines(emitted) == expectedLines(options.count));
  for (const auto& e : emitted) REQUIRE(e.timestamp == eventTime(e.value));
}

TEST_CASE("a snapshot of the older format (the next id alone) restores at another parallelism",
          "[nexmark]") {
  Options options;
  options.count = 400;
  NexmarkSource first(options);
  first.open(subtask(0, 1));
  auto emitted = drain(first, 1);  // events 0 .. 99
  std::string legacy;
  StateWriter w(legacy);
  w.write(std::uint64_t{100});
  auto p2 = startRun(options, 2, {legacy});
  append(emitted, drain(p2[0]));
  append(emitted, drain(p2[1]));
  CHECK(jsonLines(emitted) == expectedLines(options.count));
}

TEST_CASE("the source runs in a job at parallelism 2 with event time", "[nexmark]") {
  ExecutionContext ctx("nexmark-source");
  ctx.parallelism(2);
  Options options;
  options.count = 5000;
  auto counts = ctx.fromSource<Event>(source(options), "nexmark")
                    .map([](const Event& e) { return static_cast<int>(e.index()); })
                    .keyBy([](const int& t) { return t; })
                    .window(TumblingEventTimeWindows::of(Time::seconds(100)))
                    .aggregate(Count{}, [](const int& t, const TimeWindow&,
                                           std::int64_t n) { return std::pair(t, n); })
                    .collect();
  ctx.execute();
  auto v = counts.values();
  std::sort(v.begin(), v.end());
  CHECK(v == std::vector<std::pair<int, std::int64_t>>{{0, 100}, {1, 300}, {2, 4600}});
}

TEST_CASE("events survive the JSON form unchanged", "[nexmark]") {
  Generator gen;
  for (std::uint64_t id = 0; id < 300; ++id) {
    Event e = gen.next(id);
    std::string line;
    appendJson(line, e);
    REQUIRE(parseEventJson(line) == e);
  }
  std::string line;
  appendJson(line, gen.next(60));
  CHECK(line.rfind("{\"event_type\":2,\"person\":null,\"auction\":null,\"bid\":{\"auction\":", 0) ==
        0);
}

TEST_CASE("timestamps are written and read as Flink's TIMESTAMP(3) text", "[nexmark]") {
  CHECK(formatTimestamp(1'436'918'400'000) == "2015-07-15 00:00:00.000");
  CHECK(formatTimestamp(1'436'918'400'000 + 3'723'004) == "2015-07-15 01:02:03.004");
  CHECK(formatTimestamp(-1) == "1969-12-31 23:59:59.999");
  CHECK(formatTimestamp(951'868'799'999) == "2000-02-29 23:59:59.999");
  CHECK(formatTimestamp(253'402'300'799'999) == "9999-12-31 23:59:59.999");
  CHECK(formatTimestamp(253'402'300'800'000) == "10000-01-01 00:00:00.000");
  CHECK(parseTimestamp("2015-07-15 01:02:03.004") == 1'436'918'400'000 + 3'723'004);
  CHECK(parseTimestamp("2015-07-15T01:02:03Z") == 1'436'918'400'000 + 3'723'000);
  CHECK(parseTimestamp("1969-12-31 23:59:59.999") == -1);
  CHECK_THROWS_AS(parseTimestamp("yesterday"), InputError);
}

TEST_CASE("a malformed event line is an InputError that says what is wrong", "[nexmark]") {
  CHECK_THROWS_WITH(parseEventJson("{\"event_type\":2"), Catch::Contains("invalid JSON"));
  CHECK_THROWS_WITH(parseEventJson("{\"event_type\":7}"), Catch::Contains("event_type 7"));
  CHECK_THROWS_WITH(parseEventJson("{\"event_type\":2,\"bid\":{\"auction\":1}}"),
                    Catch::Contains("bid has no field \"bidder\""));
}
