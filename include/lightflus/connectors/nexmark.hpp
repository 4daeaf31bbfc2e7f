// Nexmark: the online-auction benchmark's events and their generator.
//
// Nexmark models an auction site: people register (Person), put items up for auction
// (Auction) and bid on them (Bid). Its queries (q0-q22) are the streaming benchmark Flink,
// Beam and others publish. This header holds the three event types, a generator that is a
// pure function of the event id, and a Source that emits them:
//
//     auto events = ctx.fromSource<nexmark::Event>(
//         nexmark::source({.count = 10'000'000, .rate = 0}), "nexmark");
//     auto bids = events.flatMap<nexmark::Bid>([](const nexmark::Event& e, auto& out) {
//       if (const auto* b = std::get_if<nexmark::Bid>(&e)) out.collect(*b);
//     });
//
// The generator follows the nexmark repository's Flink generator (nexmark-flink's
// NexmarkGenerator, GeneratorConfig and the Person/Auction/BidGenerator): the same proportions
// (1 person, 3 auctions, 46 bids in 50 events), the same id arithmetic (hot sellers, hot
// auctions, hot bidders, in-flight auctions), prices, string shapes and timestamps (event n at
// first_event_time + n / event_time_rate). Its random numbers come from a SplittableRandom
// (Java's SplitMix64) seeded with the event id, so event n is the same whatever the parallelism,
// the position of a restored source or the machine: subtask s of p generates the ids s, s+p,
// s+2p, ... and snapshots the next one. Flink's generator draws from an unseeded random, so its
// strings differ run to run; ids, prices' distribution and times are the same.
//
// The events' strings are nexmark::Text (nexmark_text.hpp): views of the generator's tables or
// short inline names, so that making, moving and copying a bid allocates nothing.
#pragma once

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <variant>

#include "lightflus/connectors/nexmark_text.hpp"
#include "lightflus/error.hpp"
#include "lightflus/serializer.hpp"
#include "lightflus/source.hpp"

namespace lightflus::nexmark {

/// A person registers (event_type 0).
struct Person {
  std::int64_t id = 0;
  Text name;
  Text email_address;
  Text credit_card;
  Text city;
  Text state;
  Timestamp date_time = 0;
  Text extra;
  friend bool operator==(const Person&, const Person&) = default;
};

/// An item is put up for auction (event_type 1).
struct Auction {
  std::int64_t id = 0;
  Text item_name;
  Text description;
  std::int64_t initial_bid = 0;
  std::int64_t reserve = 0;
  Timestamp date_time = 0;
  Timestamp expires = 0;
  std::int64_t seller = 0;
  std::int64_t category = 0;
  Text extra;
  friend bool operator==(const Auction&, const Auction&) = default;
};

/// A bid on an auction (event_type 2).
struct Bid {
  std::int64_t auction = 0;
  std::int64_t bidder = 0;
  std::int64_t price = 0;
  Text channel;
  Text url;
  Timestamp date_time = 0;
  Text extra;
  friend bool operator==(const Bid&, const Bid&) = default;
};

/// One Nexmark event; index() is its event_type (0 person, 1 auction, 2 bid).
using Event = std::variant<Person, Auction, Bid>;

/// The event's time (its dateTime).
inline Timestamp eventTime(const Event& e) {
  return std::visit([](const auto& v) { return v.date_time; }, e);
}

/// The shape of the generated data: nexmark-flink's NexmarkConfiguration defaults.
struct GeneratorConfig {
  int person_proportion = 1;
  int auction_proportion = 3;
  int bid_proportion = 46;
  int avg_person_byte_size = 200;
  int avg_auction_byte_size = 500;
  int avg_bid_byte_size = 100;
  int hot_auction_ratio = 2;  ///< 1 - 1/ratio of bids go to a hot auction
  int hot_sellers_ratio = 4;  ///< 1 - 1/ratio of auctions are by a hot seller
  int hot_bidders_ratio = 4;  ///< 1 - 1/ratio of bids are by a hot bidder
  int num_active_people = 1000;
  int num_in_flight_auctions = 100;
  /// Events per second of event time (Flink's first-event.rate): event n has the timestamp
  /// first_event_time + floor(n * 1e6 / event_time_rate) / 1000 ms.
  double event_time_rate = 10'000;
  /// The dateTime of event 0 (ms since the epoch); 2015-07-15 00:00:00 UTC by default.
  Timestamp first_event_time = 1'436'918'400'000;

  int totalProportion() const { return person_proportion + auction_proportion + bid_proportion; }
};

/// Generates event `id` (0, 1, 2, ...): a pure function of the id and the config. Thread safe.
///
///     nexmark::Generator gen;
///     nexmark::Event e = gen.next(42);
class LIGHTFLUS_API Generator {
 public:
  /// Throws ConfigError for proportions or rates that make no events.
  explicit Generator(GeneratorConfig config = {});

  Event next(std::uint64_t id) const;
  /// The dateTime of event `id`.
  Timestamp timestampOf(std::uint64_t id) const {
    return config_.first_event_time +
           static_cast<std::int64_t>(static_cast<double>(id) * inter_event_delay_us_) / 1000;
  }
  const GeneratorConfig& config() const { return config_; }

  Person nextPerson(std::uint64_t id) const;
  Auction nextAuction(std::uint64_t id) const;
  Bid nextBid(std::uint64_t id) const;

 private:
  GeneratorConfig config_;
  double inter_event_delay_us_;
};

/// Options of the Nexmark source.
struct Options {
  /// How many events in all subtasks together (ids 0 .. count-1); 0 = unbounded.
  std::uint64_t count = 0;
  /// Events per second (wall clock) over all subtasks; 0 = as fast as possible.
  double rate = 0;
  GeneratorConfig config = {};
};

/// Emits Nexmark events with their dateTime as timestamp, and a watermark just behind the last
/// one after each batch (a subtask's events are in time order). Subtask s of p emits the events
/// s, s+p, s+2p, ...; a snapshot holds its position, so a restored job goes on with exactly the
/// events it had not emitted, also at another parallelism (detail/id_split.hpp).
class NexmarkSource final : public Source<Event> {
 public:
  explicit NexmarkSource(Options options)
      : generator_(std::make_shared<const Generator>(options.config)),
        split_(detail::IdSplit::forCount(options.count, options.rate)) {}

  void open(const SourceContext& ctx) override { split_.open(ctx.subtask, ctx.parallelism); }

  SourceStatus poll(SourceOutput<Event>& out) override {
    Timestamp last = kMinTimestamp;
    const auto progress = split_.emit(out.remaining(), [&](std::uint64_t id) {
      last = generator_->timestampOf(id);
      out.collect(NextEvent{generator_.get(), id}, last);
    });
    if (last != kMinTimestamp) out.emitWatermark(last - 1);
    return detail::sourceStatus(progress);
  }

  Duration blockedWait() const override { return split_.blockedWait(); }
  void snapshot(StateWriter& w) override { split_.snapshot(w); }
  void restore(StateReader& r) override { split_.restore(r); }
  bool restoreRescaled(const std::vector<std::string>& previous) override {
    split_.restoreRescaled(previous);
    return true;
  }

 private:
  /// Converts to event `id`: collected, the event is made in the batch itself, not made and
  /// then moved there.
  struct NextEvent {
    const Generator* generator;
    std::uint64_t id;
    operator Event() const { return generator->next(id); }
  };

  std::shared_ptr<const Generator> generator_;
  detail::IdSplit split_;
};

/// A factory for ExecutionContext::fromSource<Event>().
inline SourceFactory<Event> source(Options options) {
  return [options] { return std::make_unique<NexmarkSource>(options); };
}

/// Formats a timestamp as Flink SQL writes TIMESTAMP(3): "2015-07-15 00:00:00.000" (UTC).
LIGHTFLUS_API std::string formatTimestamp(Timestamp t);
/// Appends formatTimestamp(t) to `out`.
LIGHTFLUS_API void appendTimestamp(std::string& out, Timestamp t);
/// Parses "yyyy-MM-dd HH:mm:ss[.SSS]" (or with 'T' and an optional 'Z'), as UTC. Throws
/// InputError when `text` has another form.
LIGHTFLUS_API Timestamp parseTimestamp(std::string_view text);

/// Appends the event as one line of the nexmark JSON form (no newline):
/// {"event_type":2,"person":null,"auction":null,"bid":{"auction":1000,...}}
LIGHTFLUS_API void appendJson(std::string& out, const Event& e);
/// Parses one line of the nexmark JSON form (what appendJson writes, and what Flink's JSON
/// format writes for the datagen table). Throws InputError saying what is wrong.
LIGHTFLUS_API Event parseEventJson(std::string_view line);

}  // namespace lightflus::nexmark

namespace lightflus {

template <>
struct Serializer<nexmark::Person> {
  static void write(StateWriter& w, const nexmark::Person& p) {
    w.write(p.id);
    w.write(p.name);
    w.write(p.email_address);
    w.write(p.credit_card);
    w.write(p.city);
    w.write(p.state);
    w.write(p.date_time);
    w.write(p.extra);
  }
  static nexmark::Person read(StateReader& r) {
    nexmark::Person p;
    p.id = r.read<std::int64_t>();
    p.name = r.read<nexmark::Text>();
    p.email_address = r.read<nexmark::Text>();
    p.credit_card = r.read<nexmark::Text>();
    p.city = r.read<nexmark::Text>();
    p.state = r.read<nexmark::Text>();
    p.date_time = r.read<Timestamp>();
    p.extra = r.read<nexmark::Text>();
    return p;
  }
};

template <>
struct Serializer<nexmark::Auction> {
  static void write(StateWriter& w, const nexmark::Auction& a) {
    w.write(a.id);
    w.write(a.item_name);
    w.write(a.description);
    w.write(a.initial_bid);
    w.write(a.reserve);
    w.write(a.date_time);
    w.write(a.expires);
    w.write(a.seller);
    w.write(a.category);
    w.write(a.extra);
  }
  static nexmark::Auction read(StateReader& r) {
    nexmark::Auction a;
    a.id = r.read<std::int64_t>();
    a.item_name = r.read<nexmark::Text>();
    a.description = r.read<nexmark::Text>();
    a.initial_bid = r.read<std::int64_t>();
    a.reserve = r.read<std::int64_t>();
    a.date_time = r.read<Timestamp>();
    a.expires = r.read<Timestamp>();
    a.seller = r.read<std::int64_t>();
    a.category = r.read<std::int64_t>();
    a.extra = r.read<nexmark::Text>();
    return a;
  }
};

template <>
struct Serializer<nexmark::Bid> {
  static void write(StateWriter& w, const nexmark::Bid& b) {
    w.write(b.auction);
    w.write(b.bidder);
    w.write(b.price);
    w.write(b.channel);
    w.write(b.url);
    w.write(b.date_time);
    w.write(b.extra);
  }
  static nexmark::Bid read(StateReader& r) {
    nexmark::Bid b;
    b.auction = r.read<std::int64_t>();
    b.bidder = r.read<std::int64_t>();
    b.price = r.read<std::int64_t>();
    b.channel = r.read<nexmark::Text>();
    b.url = r.read<nexmark::Text>();
    b.date_time = r.read<Timestamp>();
    b.extra = r.read<nexmark::Text>();
    return b;
  }
};

}  // namespace lightflus
