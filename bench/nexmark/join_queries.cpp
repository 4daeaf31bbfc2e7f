// Nexmark q3, q4, q7 and q8: the queries over two inputs, on connect() and the window join
// (docs/joins.md); q7 on windowAll.
#include <algorithm>
#include <limits>
#include <map>
#include <vector>

#include "queries.hpp"

namespace lightflus::nexmark {
namespace {

/// The columns of an auction that q3 and q4 read.
struct AuctionKey {
  std::int64_t id = 0;
  std::int64_t seller = 0;
  std::int64_t category = 0;
  Timestamp date_time = 0;
  Timestamp expires = 0;
};

/// The columns of a bid that q4 reads.
struct BidPrice {
  std::int64_t auction = 0;
  std::int64_t price = 0;
  Timestamp date_time = 0;
};

DataStream<AuctionKey> auctionKeys(const DataStream<Event>& events, const char* name,
                                   std::int64_t only_category) {
  return events
      .flatMap<AuctionKey>([only_category](const Event& e, Collector<AuctionKey>& out) {
        const auto* a = std::get_if<Auction>(&e);
        if (a && (only_category < 0 || a->category == only_category))
          out.collect(AuctionKey{a->id, a->seller, a->category, a->date_time, a->expires});
      })
      .name(name);
}

/// q3's regular join: a person (at most one per id) meets the auctions they sell. Auctions
/// that come before their seller wait in list state.
struct SellerJoin {
  using Ctx = KeyedContext<std::int64_t, Q3Row>;
  void processElement1(const AuctionKey& a, Ctx& ctx) {
    if (const auto* p = ctx.valueState<Person>("person").get())
      ctx.collect(Q3Row{p->name, p->city, p->state, a.id});
    else
      ctx.listState<std::int64_t>("auctions").add(a.id);
  }
  void processElement2(const Person& p, Ctx& ctx) {
    auto waiting = ctx.listState<std::int64_t>("auctions");
    for (std::int64_t id : waiting.get()) ctx.collect(Q3Row{p.name, p.city, p.state, id});
    waiting.clear();
    ctx.valueState<Person>("person").update(p);
  }
};

/// A change of one auction's highest valid bid (q4): the category's table replaces `old_final`
/// (when `had_old`) by `new_final`.
struct FinalPriceChange {
  std::int64_t category = 0;
  std::int64_t old_final = 0;
  std::int64_t new_final = 0;
  bool had_old = false;
};

/// An auction with its highest bid so far between its dateTime and expires (q4).
struct AuctionFinal {
  AuctionKey auction;
  std::int64_t final = 0;
  bool has_bid = false;
};

/// q4's inner join of auctions and bids, grouped by auction: it keeps each auction's highest
/// bid within [dateTime, expires] and emits every change of it. Bids that come before their
/// auction wait in list state.
struct AuctionMaxBid {
  using Ctx = KeyedContext<std::int64_t, FinalPriceChange>;
  void processElement1(const AuctionKey& a, Ctx& ctx) {
    AuctionFinal state{a};
    auto early = ctx.listState<BidPrice>("early");
    for (const auto& b : early.get()) apply(state, b, ctx);
    early.clear();
    ctx.valueState<AuctionFinal>("auction").update(state);
  }
  void processElement2(const BidPrice& b, Ctx& ctx) {
    auto auction = ctx.valueState<AuctionFinal>("auction");
    if (const auto* current = auction.get()) {
      AuctionFinal state = *current;
      if (apply(state, b, ctx)) auction.update(state);
    } else {
      ctx.listState<BidPrice>("early").add(b);
    }
  }
  static bool apply(AuctionFinal& s, const BidPrice& b, Ctx& ctx) {
    if (b.date_time < s.auction.date_time || b.date_time > s.auction.expires) return false;
    if (s.has_bid && b.price <= s.final) return false;
    ctx.collect(FinalPriceChange{s.auction.category, s.final, b.price, s.has_bid});
    s.final = b.price;
    s.has_bid = true;
    return true;
  }
};

/// q4's outer GROUP BY: AVG(final) per category (Flink's AVG of BIGINT: truncated to BIGINT),
/// emitted when the input ends.
struct CategoryAverage {
  using Ctx = KeyedContext<std::int64_t, Q4Row>;
  struct Sum {
    std::int64_t sum = 0;
    std::int64_t count = 0;
  };
  void processElement(const FinalPriceChange& c, Ctx& ctx) {
    auto state = ctx.valueState<Sum>("sum");
    Sum s = state.value();
    if (s.count == 0) ctx.registerEventTimeTimer(kEndOfInput);
    if (c.had_old)
      s.sum -= c.old_final;
    else
      ++s.count;
    s.sum += c.new_final;
    state.update(s);
  }
  void onTimer(Timestamp, Ctx& ctx) {
    Sum s = ctx.valueState<Sum>("sum").value();
    ctx.collect(Q4Row{ctx.key(), s.sum / s.count});
  }
  // Event-time timers left at the end of a bounded input fire then; none fires before.
  static constexpr Timestamp kEndOfInput = std::numeric_limits<Timestamp>::max() - 1;
};

/// q4's outer GROUP BY as an updating query: every change of a category's average is its old
/// row retracted (-U) and the new one (+U); a category's first row is an insert (+I). A change
/// that leaves the average as it was emits nothing (as Flink's group aggregate).
struct CategoryAverageChanges {
  using Ctx = KeyedContext<std::int64_t, Change<Q4Row>>;
  void processElement(const FinalPriceChange& c, Ctx& ctx) {
    auto state = ctx.valueState<CategoryAverage::Sum>("sum");
    CategoryAverage::Sum s = state.value();
    const bool first = s.count == 0;
    const std::int64_t before = first ? 0 : s.sum / s.count;
    if (c.had_old)
      s.sum -= c.old_final;
    else
      ++s.count;
    s.sum += c.new_final;
    state.update(s);
    const std::int64_t after = s.sum / s.count;
    if (first) {
      ctx.collect(Change<Q4Row>{RowKind::Insert, Q4Row{ctx.key(), after}});
    } else if (after != before) {
      ctx.collect(Change<Q4Row>{RowKind::UpdateBefore, Q4Row{ctx.key(), before}});
      ctx.collect(Change<Q4Row>{RowKind::UpdateAfter, Q4Row{ctx.key(), after}});
    }
  }
};

/// q7's window length; windows are aligned at 0, as TumblingEventTimeWindows::of(kQ7Window).
constexpr Timestamp kQ7Window = 10'000;

/// What q7 needs of one tumbling window's bids: the highest price and the bids at it, and the
/// bids at the window's first millisecond (they are also at the previous window's end, which
/// the SQL's BETWEEN includes).
struct WindowMaxBids {
  Timestamp start = 0;
  std::int64_t max = std::numeric_limits<std::int64_t>::min();
  std::vector<Bid> at_max;
  std::vector<Bid> at_start;
};

/// MAX(price) per window, keeping the bids at the maximum (ties too) and at the window's
/// start. It merges, so windowAll pre-aggregates it in every bid subtask before the exchange.
struct MaxBids {
  WindowMaxBids createAccumulator() const { return {}; }
  void add(WindowMaxBids& acc, const Bid& b) const {
    if (b.price > acc.max) {
      acc.max = b.price;
      acc.at_max.clear();
    }
    if (b.price == acc.max) acc.at_max.push_back(b);
    if (b.date_time % kQ7Window == 0) acc.at_start.push_back(b);
  }
  void merge(WindowMaxBids& acc, const WindowMaxBids& other) const {
    if (other.max > acc.max) {
      acc.max = other.max;
      acc.at_max = other.at_max;
    } else if (other.max == acc.max) {
      acc.at_max.insert(acc.at_max.end(), other.at_max.begin(), other.at_max.end());
    }
    acc.at_start.insert(acc.at_start.end(), other.at_start.begin(), other.at_start.end());
  }
  const WindowMaxBids& getResult(const WindowMaxBids& acc) const { return acc; }
};

/// q7's join of the windows' maxima with the bids: a window's bids at its max, and the next
/// window's first-millisecond bids at that max. Windows may arrive in any order; each keeps
/// its max and first-millisecond bids until both neighbours have been paired with it.
struct PairWindows {
  struct Tail {
    std::int64_t max = 0;
    std::vector<Bid> at_start;
    bool paired_previous = false;
    bool paired_next = false;
  };
  using Ctx = KeyedContext<int, Q7Row>;
  void processElement(const WindowMaxBids& w, Ctx& ctx) {
    for (const auto& b : w.at_max) ctx.collect(b);
    Tail tail{w.max, w.at_start};
    auto it = tails_.find(w.start - kQ7Window);
    if (it != tails_.end()) {
      for (const auto& b : w.at_start)
        if (b.price == it->second.max) ctx.collect(b);
      tail.paired_previous = it->second.paired_next = true;
      dropWhenDone(it);
    }
    it = tails_.find(w.start + kQ7Window);
    if (it != tails_.end()) {
      for (const auto& b : it->second.at_start)
        if (b.price == w.max) ctx.collect(b);
      tail.paired_next = it->second.paired_previous = true;
      dropWhenDone(it);
    }
    tails_.emplace(w.start, std::move(tail));
  }

 private:
  void dropWhenDone(std::map<Timestamp, Tail>::iterator it) {
    if (it->second.paired_previous && it->second.paired_next) tails_.erase(it);
  }
  // One task (windowAll's), so plain members; q7 is not checkpointed by the benchmark.
  std::map<Timestamp, Tail> tails_;
};

/// Every distinct seller of a window (q8's GROUP BY seller, window).
struct AnySeller {
  bool createAccumulator() const { return false; }
  void add(bool& acc, const AuctionKey&) const { acc = true; }
  bool getResult(const bool& acc) const { return acc; }
  void merge(bool& acc, const bool& other) const { acc = acc || other; }
};

bool inStates(std::string_view state) {
  return state == "OR" || state == "ID" || state == "CA";
}

}  // namespace

DataStream<Q3Row> q3(const DataStream<Event>& events) {
  auto auctions = auctionKeys(events, "q3-auctions", 10);
  auto persons = events
                     .flatMap<Person>([](const Event& e, Collector<Person>& out) {
                       const auto* p = std::get_if<Person>(&e);
                       if (p && inStates(p->state)) {
                         Person projected;  // the columns q3 reads
                         projected.id = p->id;
                         projected.name = p->name;
                         projected.city = p->city;
                         projected.state = p->state;
                         out.collect(std::move(projected));
                       }
                     })
                     .name("q3-persons");
  return auctions.connect(persons)
      .keyBy([](const AuctionKey& a) { return a.seller; }, [](const Person& p) { return p.id; })
      .process<Q3Row>(SellerJoin{})
      .name("q3");
}

namespace {

/// q4's inner join: every change of an auction's highest valid bid, with its category.
DataStream<FinalPriceChange> q4PriceChanges(const DataStream<Event>& events) {
  auto auctions = auctionKeys(events, "q4-auctions", -1);
  auto bids = events
                  .flatMap<BidPrice>([](const Event& e, Collector<BidPrice>& out) {
                    if (const auto* b = std::get_if<Bid>(&e))
                      out.collect(BidPrice{b->auction, b->price, b->date_time});
                  })
                  .name("q4-bids");
  auto changes = auctions.connect(bids)
                     .keyBy([](const AuctionKey& a) { return a.id; },
                            [](const BidPrice& b) { return b.auction; })
                     .process<FinalPriceChange>(AuctionMaxBid{})
                     .name("q4-max");
  return changes;
}

}  // namespace

DataStream<Q4Row> q4(const DataStream<Event>& events) {
  return q4PriceChanges(events)
      .keyBy([](const FinalPriceChange& c) { return c.category; })
      .process<Q4Row>(CategoryAverage{})
      .name("q4");
}

DataStream<Change<Q4Row>> q4Changelog(const DataStream<Event>& events) {
  return q4PriceChanges(events)
      .keyBy([](const FinalPriceChange& c) { return c.category; })
      .process<Change<Q4Row>>(CategoryAverageChanges{})
      .name("q4");
}

DataStream<Q7Row> q7(const DataStream<Event>& events) {
  auto bids = events
                  .flatMap<Bid>([](const Event& e, Collector<Bid>& out) {
                    if (const auto* b = std::get_if<Bid>(&e)) {
                      Bid projected;  // the columns q7 reads and writes
                      projected.auction = b->auction;
                      projected.bidder = b->bidder;
                      projected.price = b->price;
                      projected.date_time = b->date_time;
                      projected.extra = b->extra;
                      out.collect(std::move(projected));
                    }
                  })
                  .name("q7-bids");
  // MAX(price) per 10 s tumbling window with the bids at it, over all bids (windowAll:
  // pre-aggregated in each bid subtask), then B.price = maxprice AND B.dateTime BETWEEN
  // window_end - 10 s AND window_end: the window's bids at its max, and the bids at window_end
  // (the next window's first millisecond) at that max.
  return bids.windowAll(TumblingEventTimeWindows::of(Duration(kQ7Window)))
      .aggregate(MaxBids{},
                 [](const TimeWindow& w, const WindowMaxBids& r) {
                   WindowMaxBids out = r;
                   out.start = w.start;
                   return out;
                 })
      .name("q7-max")
      .keyBy([](const WindowMaxBids&) { return 0; })
      .process<Q7Row>(PairWindows{})
      .parallelism(1)
      .name("q7");
}

DataStream<Q8Row> q8(const DataStream<Event>& events) {
  constexpr std::int64_t kWindow = 10'000;
  auto persons = events
                     .flatMap<Person>([](const Event& e, Collector<Person>& out) {
                       if (const auto* p = std::get_if<Person>(&e)) {
                         Person projected;  // the columns q8 reads
                         projected.id = p->id;
                         projected.name = p->name;
                         projected.date_time = p->date_time;
                         out.collect(std::move(projected));
                       }
                     })
                     .name("q8-persons");
  // One element per seller and window (the SQL's GROUP BY seller, window), at the window's
  // maxTimestamp(): inside the same tumbling window of the join.
  auto sellers = auctionKeys(events, "q8-auctions", -1)
                     .keyBy([](const AuctionKey& a) { return a.seller; })
                     .window(TumblingEventTimeWindows::of(Duration(kWindow)))
                     .aggregate(AnySeller{}, [](const std::int64_t& seller, const TimeWindow&,
                                                bool) { return seller; })
                     .name("q8-sellers");
  return persons.join(sellers)
      .where([](const Person& p) { return p.id; })
      .equalTo([](const std::int64_t& seller) { return seller; })
      .window(TumblingEventTimeWindows::of(Duration(kWindow)))
      .apply([](const Person& p, const std::int64_t&) {
        Timestamp start = p.date_time - ((p.date_time % kWindow) + kWindow) % kWindow;
        return Q8Row{p.id, p.name, start};
      })
      .name("q8");
}

}  // namespace lightflus::nexmark
