// The baselines of bench/nexmark.sh: one thread, the generator, and the query's work done by
// hand (the rows are built as the engine builds them, then dropped).
#include "baseline.hpp"

#include <algorithm>
#include <unordered_map>
#include <utility>
#include <vector>

#include "lightflus/connectors/nexmark.hpp"
#include "queries.hpp"

namespace lightflus::nexmark {
namespace {

/// Keeps a value alive so that the compiler cannot drop the work that made it.
template <class T>
void consume(const T& value) {
  asm volatile("" : : "g"(&value) : "memory");
}

template <class F>
std::uint64_t forEachBid(std::uint64_t n, F&& f) {
  Generator gen;
  std::uint64_t rows = 0;
  for (std::uint64_t id = 0; id < n; ++id) {
    Event e = gen.next(id);
    if (const auto* b = std::get_if<Bid>(&e)) rows += f(*b);
  }
  return rows;
}

/// q5 by hand: counts per (window start, auction) for the open hopping windows; a window is
/// closed when the bids' time passes its end (the generator's times never decrease).
std::uint64_t hotItems(std::uint64_t n) {
  constexpr Timestamp kSize = 10'000, kSlide = 2'000;
  std::unordered_map<Timestamp, std::unordered_map<std::int64_t, std::int64_t>> windows;
  std::uint64_t rows = 0;
  auto close = [&](Timestamp before) {
    for (auto it = windows.begin(); it != windows.end();) {
      if (it->first + kSize > before) {
        ++it;
        continue;
      }
      std::int64_t max = 0;
      for (const auto& [auction, num] : it->second) max = std::max(max, num);
      for (const auto& [auction, num] : it->second)
        if (num >= max) {
          Q5Row row{auction, num};
          consume(row);
          ++rows;
        }
      it = windows.erase(it);
    }
  };
  Timestamp next_close = kMinTimestamp;
  forEachBid(n, [&](const Bid& b) {
    if (b.date_time >= next_close) {
      close(b.date_time);
      next_close = b.date_time - b.date_time % kSlide + kSlide;
    }
    for (Timestamp s = b.date_time - b.date_time % kSlide; s > b.date_time - kSize; s -= kSlide)
      ++windows[s][b.auction];
    return 0;
  });
  close(kMaxTimestamp);
  return rows;
}

/// q3 by hand: sellers by id, auctions waiting for their seller.
std::uint64_t localItemSuggestion(std::uint64_t n) {
  std::unordered_map<std::int64_t, Person> sellers;
  std::unordered_map<std::int64_t, std::vector<std::int64_t>> waiting;
  Generator gen;
  std::uint64_t rows = 0;
  for (std::uint64_t id = 0; id < n; ++id) {
    Event e = gen.next(id);
    if (const auto* a = std::get_if<Auction>(&e); a && a->category == 10) {
      if (auto it = sellers.find(a->seller); it != sellers.end()) {
        Q3Row row{it->second.name, it->second.city, it->second.state, a->id};
        consume(row);
        ++rows;
      } else {
        waiting[a->seller].push_back(a->id);
      }
    } else if (const auto* p = std::get_if<Person>(&e);
               p && (p->state == "OR" || p->state == "ID" || p->state == "CA")) {
      if (auto it = waiting.find(p->id); it != waiting.end()) {
        for (std::int64_t auction : it->second) {
          Q3Row row{p->name, p->city, p->state, auction};
          consume(row);
          ++rows;
        }
        waiting.erase(it);
      }
      sellers.emplace(p->id, *p);
    }
  }
  return rows;
}

}  // namespace

std::uint64_t runBaseline(const std::string& query, std::uint64_t n) {
  if (query == "q0")
    return forEachBid(n, [](const Bid& b) {
      Bid row = b;
      consume(row);
      return 1;
    });
  if (query == "q1")
    return forEachBid(n, [](const Bid& b) {
      Q1Row row{b.auction, b.bidder, b.price * 908, b.date_time, b.extra};
      consume(row);
      return 1;
    });
  if (query == "q2")
    return forEachBid(n, [](const Bid& b) {
      if (b.auction % 123 != 0) return 0;
      Q2Row row{b.auction, b.price};
      consume(row);
      return 1;
    });
  if (query == "q3") return localItemSuggestion(n);
  if (query == "q5") return hotItems(n);
  throw ConfigError("nexmark: no baseline for " + query + " (there are for q0, q1, q2, q3, q5)");
}

}  // namespace lightflus::nexmark
