// The Nexmark generator: events as a pure function of their id (see connectors/nexmark.hpp).
//
// Re-implemented after nexmark-flink's generator classes; names of the helpers follow theirs
// (lastBase0Ids, nextExtra, nextPrice, ...) so the two read side by side. The random numbers
// are those of Java's SplittableRandom seeded with the event id, including its bounded nextInt
// and nextDouble, so that the shapes (string lengths, hot ratios) match.
#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include <fmt/format.h>

#include "lightflus/connectors/nexmark.hpp"

namespace lightflus::nexmark {
namespace {

constexpr std::int64_t kFirstAuctionId = 1000;
constexpr std::int64_t kFirstPersonId = 1000;
constexpr std::int64_t kFirstCategoryId = 10;
constexpr int kNumCategories = 5;
constexpr int kPersonIdLead = 10;   // yet-to-be-created people a bid or auction may name
constexpr int kAuctionIdLead = 10;  // yet-to-be-created auctions a bid may name
constexpr int kHotSellerRatio = 100;
constexpr int kHotAuctionRatio = 100;
constexpr int kHotBidderRatio = 100;
constexpr int kHotChannelsRatio = 2;
constexpr int kChannelsNumber = 10'000;
constexpr int kMinStringLength = 3;
constexpr std::size_t kReusableExtraLength = 1024 * 1024;

/// Java's SplittableRandom (SplitMix64): same seed, same numbers.
class SplittableRandom {
 public:
  explicit SplittableRandom(std::uint64_t seed) : seed_(seed) {}

  std::int32_t nextInt() { return mix32(nextSeed()); }
  std::int64_t nextLong() { return static_cast<std::int64_t>(mix64(nextSeed())); }
  /// Uniform in [0, bound), bound > 0 (Java's rejection of the biased top range).
  std::int32_t nextInt(std::int32_t bound) {
    std::int32_t r = nextInt();
    const std::int32_t m = bound - 1;
    if ((bound & m) == 0) return r & m;
    for (auto u = static_cast<std::int32_t>(static_cast<std::uint32_t>(r) >> 1);;
         u = static_cast<std::int32_t>(static_cast<std::uint32_t>(nextInt()) >> 1)) {
      r = u % bound;
      // Java's `u + m - r < 0`, an int overflow test.
      if (static_cast<std::int32_t>(static_cast<std::uint32_t>(u) + static_cast<std::uint32_t>(m) -
                                    static_cast<std::uint32_t>(r)) >= 0)
        return r;
    }
  }
  double nextDouble() { return static_cast<double>(mix64(nextSeed()) >> 11) * 0x1.0p-53; }
  /// A letter of nexmark's strings: `special` when nextInt(13) == 0, else 'a' + nextInt(26).
  /// Both numbers are drawn at once and the seed then moves on by one or two, so that a
  /// letter costs no unpredictable branch; the rare draw that Java rejects (and draws again)
  /// takes the plain path.
  char nextLetter(char special) {
    const std::uint64_t first = seed_ + kGoldenGamma, second = first + kGoldenGamma;
    const std::uint32_t u1 = static_cast<std::uint32_t>(mix32(first)) >> 1;
    const std::uint32_t u2 = static_cast<std::uint32_t>(mix32(second)) >> 1;
    const std::uint32_t r1 = u1 % 13, r2 = u2 % 26;
    // nextInt(bound) keeps u % bound unless u - r + bound - 1 reaches 2^31 (`u + m - r < 0`).
    if (u1 - r1 + 12 < 0x80000000u && u2 - r2 + 25 < 0x80000000u) {
      seed_ = r1 == 0 ? first : second;
      return r1 == 0 ? special : static_cast<char>('a' + r2);
    }
    return nextInt(13) == 0 ? special : static_cast<char>('a' + nextInt(26));
  }

 private:
  static constexpr std::uint64_t kGoldenGamma = 0x9e3779b97f4a7c15ULL;
  std::uint64_t nextSeed() { return seed_ += kGoldenGamma; }
  static std::uint64_t mix64(std::uint64_t z) {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  static std::int32_t mix32(std::uint64_t z) {
    z = (z ^ (z >> 33)) * 0x62a9d9ed799705f5ULL;
    return static_cast<std::int32_t>(((z ^ (z >> 28)) * 0xcb24d0a5c88c35b3ULL) >> 32);
  }

  std::uint64_t seed_;
};

/// A random long in [0, n) (nexmark's LongGenerator, skew above 2^31 included).
std::int64_t nextLong(SplittableRandom& random, std::int64_t n) {
  if (n < 2147483647) return random.nextInt(static_cast<std::int32_t>(n));
  std::int64_t r = random.nextLong() % n;
  return r < 0 ? -r : r;
}

/// Characters put together on the stack before they become a Text: the generator's names are
/// short enough to be stored inline, so building them allocates nothing.
class Chars {
 public:
  static constexpr std::size_t kCapacity = 128;
  void append(std::string_view s) {
    std::memcpy(chars_ + size_, s.data(), s.size());
    size_ += s.size();
  }
  std::string_view view() const { return {chars_, size_}; }

 private:
  char chars_[kCapacity];
  std::size_t size_ = 0;
};

/// Appends up to MaxLength - 1 letters, one in 13 replaced by `special`, trimmed as Java's
/// trim() does.
template <int MaxLength>
void appendString(SplittableRandom& random, Chars& out, char special = ' ') {
  static_assert(MaxLength > kMinStringLength && MaxLength <= static_cast<int>(Chars::kCapacity));
  char letters[MaxLength];
  const int len = kMinStringLength + random.nextInt(MaxLength - kMinStringLength);
  for (int i = 0; i < len; ++i) letters[i] = random.nextLetter(special);
  int begin = 0, end = len;
  while (begin < end && static_cast<unsigned char>(letters[begin]) <= ' ') ++begin;
  while (end > begin && static_cast<unsigned char>(letters[end - 1]) <= ' ') --end;
  out.append(std::string_view(letters + begin, static_cast<std::size_t>(end - begin)));
}

template <int MaxLength>
Text nextString(SplittableRandom& random) {
  Chars s;
  appendString<MaxLength>(random, s);
  return Text(s.view());
}

/// `length` letters built six per random int (Java's % and / on a signed int included).
std::string randomExactString(SplittableRandom& random, std::size_t length) {
  std::string s;
  s.reserve(length);
  std::int32_t rnd = 0;
  int n = 0;
  while (length-- > 0) {
    if (n == 0) {
      rnd = random.nextInt();
      n = 6;
    }
    s.push_back(static_cast<char>('a' + rnd % 26));
    rnd /= 26;
    --n;
  }
  return s;
}

/// Math.round(Math.pow(10, x) * 100) for x in [0, 6), as nexmark makes prices in cents, without
/// a pow per price (pow was 12% of the generator's time). 10^x is a table entry 10^(i/256)
/// times the series of e^t to t^5, t = (x - i/256) ln 10 < 0.009: within 2e-15 of 10^x,
/// relative. Only where that could round to another integer than pow's result (the value
/// within 1e-12 of n + 0.5, relative) is pow called, so the prices are exactly pow's.
class PriceScale {
 public:
  PriceScale() {
    for (std::size_t i = 0; i < powers_.size(); ++i)
      powers_[i] = static_cast<double>(std::pow(10.0L, static_cast<long double>(i) / kSteps));
  }

  std::int64_t cents(double x) const {
    const double scaled = x * kSteps;  // exact: kSteps is a power of two
    const auto i = static_cast<std::size_t>(scaled);
    if (i + 1 >= powers_.size()) return exactCents(x);
    const double t = (scaled - static_cast<double>(i)) * (kLn10 / kSteps);
    const double t2 = t * t;  // Estrin's scheme: a shorter chain of dependent operations
    const double series =
        (1 + t) + t2 * ((1.0 / 2 + t * (1.0 / 6)) + t2 * (1.0 / 24 + t * (1.0 / 120)));
    const double y = powers_[i] * series * 100.0 + 0.5;  // >= 100.5: truncation is floor
    const double margin = y * 1e-12;
    const auto cents = static_cast<std::int64_t>(y);
    if (static_cast<std::int64_t>(y - margin) != cents ||
        static_cast<std::int64_t>(y + margin) != cents)
      return exactCents(x);
    return cents;
  }

  static std::int64_t exactCents(double x) {
    return static_cast<std::int64_t>(std::floor(std::pow(10.0, x) * 100.0 + 0.5));
  }

 private:
  static constexpr double kSteps = 256;
  static constexpr double kLn10 = 2.302585092994045684;
  std::array<double, 6 * 256 + 1> powers_;
};

/// The cold channels a bid names (10,000): names and URLs in one buffer and 12 bytes an entry,
/// so that the table a bid picks from at random stays in cache.
class ChannelTable {
 public:
  void add(std::string_view name, std::string_view url) {
    entries_.push_back(Entry{static_cast<std::uint32_t>(text_.size()),
                             static_cast<std::uint32_t>(text_.size() + name.size()),
                             static_cast<std::uint8_t>(name.size()),
                             static_cast<std::uint8_t>(url.size())});
    text_ += name;
    text_ += url;
  }
  std::string_view name(std::size_t i) const {
    return std::string_view(text_).substr(entries_[i].name_offset, entries_[i].name_size);
  }
  std::string_view url(std::size_t i) const {
    return std::string_view(text_).substr(entries_[i].url_offset, entries_[i].url_size);
  }

 private:
  struct Entry {
    std::uint32_t name_offset, url_offset;
    std::uint8_t name_size, url_size;  // names are 9-12 characters, URLs under 80
  };
  std::string text_;
  std::vector<Entry> entries_;
};

/// The tables the generator picks from. Flink's generator fills them from an unseeded random;
/// fixed seeds make ours the same in every process. Events hold views of them.
struct Tables {
  std::string reusable_extra;
  std::array<std::string, 4> hot_urls;
  ChannelTable channels;
  PriceScale price_scale;

  static std::string baseUrl(SplittableRandom& random) {
    std::string url = "https://www.nexmark.com/";
    for (int i = 0; i < 3; ++i) {
      Chars part;
      appendString<5>(random, part, '_');
      url += part.view();
      url += '/';
    }
    return url + "item.htm?query=1";
  }

  Tables() {
    SplittableRandom extra_random(0x6e65786d61726b);  // "nexmark"
    reusable_extra = randomExactString(extra_random, kReusableExtraLength);
    SplittableRandom random(0x62696473);  // "bids"
    for (auto& url : hot_urls) url = baseUrl(random);
    for (int i = 0; i < kChannelsNumber; ++i) {
      std::string url = baseUrl(random);
      if (random.nextInt(10) > 0) {
        // Java's Math.abs(Integer.reverse(i)): abs of INT_MIN stays INT_MIN.
        std::uint32_t v = static_cast<std::uint32_t>(i), reversed = 0;
        for (int b = 0; b < 32; ++b, v >>= 1) reversed = (reversed << 1) | (v & 1);
        auto r = static_cast<std::int32_t>(reversed);
        std::int32_t id = r < 0 && r != INT32_MIN ? -r : r;
        url += fmt::format("&channel_id={}", id);
      }
      channels.add(fmt::format("channel-{}", i), url);
    }
  }
};

const Tables& tables() {
  static const Tables t;
  return t;
}

/// A string of exactly `length` letters: a view of a slice of the reusable string (as Flink
/// makes it), or its own letters when it is longer than half of that.
Text nextExactString(SplittableRandom& random, int length) {
  const std::string& reusable = tables().reusable_extra;
  if (static_cast<std::size_t>(length) < reusable.size() / 2) {
    auto offset = static_cast<std::size_t>(
        random.nextInt(static_cast<std::int32_t>(reusable.size()) - length));
    return Text::borrowed(
        std::string_view(reusable).substr(offset, static_cast<std::size_t>(length)));
  }
  return Text(randomExactString(random, static_cast<std::size_t>(length)));
}

/// Padding so that current_size + its length is desired_average_size on average (+-20%).
Text nextExtra(SplittableRandom& random, int current_size, int desired_average_size) {
  if (current_size > desired_average_size) return {};
  desired_average_size -= current_size;
  // Java's Math.round(desired_average_size * 0.2), in integers: x * 0.2 is never within
  // 0.1 of n + 0.5 for an integer x, so the rounding of 0.2 cannot change it.
  const int delta = (2 * desired_average_size + 5) / 10;
  int min_size = desired_average_size - delta;
  int desired_size = min_size + (delta == 0 ? 0 : random.nextInt(2 * delta));
  return nextExactString(random, desired_size);
}

/// A price in cents, log-uniform between 1 and 1,000,000 dollars (Java's Math.round).
std::int64_t nextPrice(SplittableRandom& random) {
  return tables().price_scale.cents(random.nextDouble() * 6.0);
}

constexpr std::array<std::string_view, 6> kUsStates = {"AZ", "CA", "ID", "OR", "WA", "WY"};
constexpr std::array<std::string_view, 10> kUsCities = {
    "Phoenix", "Los Angeles", "San Francisco", "Boise", "Portland",
    "Bend",    "Redmond",     "Seattle",       "Kent",  "Cheyenne"};
constexpr std::array<std::string_view, 11> kFirstNames = {
    "Peter", "Paul", "Luke", "John", "Saul", "Vicky", "Kate", "Julie", "Sarah", "Deiter", "Walter"};
constexpr std::array<std::string_view, 9> kLastNames = {
    "Shultz", "Abrams", "Spencer", "White", "Bartels", "Walton", "Smith", "Jones", "Noris"};
constexpr std::array<std::string_view, 4> kHotChannels = {"Google", "Facebook", "Baidu", "Apple"};

template <std::size_t N>
std::string_view pick(SplittableRandom& random, const std::array<std::string_view, N>& items) {
  return items[static_cast<std::size_t>(random.nextInt(static_cast<std::int32_t>(N)))];
}

/// Converts to what f() returns by calling f, so that what is initialized from it is made in
/// place by f.
template <class F>
struct Deferred {
  F f;
  operator std::invoke_result_t<const F&>() const { return f(); }
};

/// The base-0 ids of the last person and the last auction made at or before event `id`
/// (nexmark's lastBase0PersonId and lastBase0AuctionId), from one division.
struct LastIds {
  std::int64_t person;
  std::int64_t auction;
};
LastIds lastBase0Ids(const GeneratorConfig& config, std::int64_t id) {
  const std::int64_t epoch = id / config.totalProportion();
  const std::int64_t offset = id % config.totalProportion();
  LastIds last{};
  last.person = epoch * config.person_proportion +
                std::min<std::int64_t>(offset, config.person_proportion - 1);
  if (offset < config.person_proportion)  // a person: the last auction of the previous epoch
    last.auction = (epoch - 1) * config.auction_proportion + config.auction_proportion - 1;
  else if (offset >= config.person_proportion + config.auction_proportion)  // a bid
    last.auction = epoch * config.auction_proportion + config.auction_proportion - 1;
  else
    last.auction = epoch * config.auction_proportion + offset - config.person_proportion;
  return last;
}

}  // namespace

Generator::Generator(GeneratorConfig config) : config_(config) {
  if (config_.person_proportion < 0 || config_.auction_proportion < 0 ||
      config_.bid_proportion < 0 || config_.totalProportion() <= 0)
    throw ConfigError(
        "nexmark: the person, auction and bid proportions must be >= 0 and not all 0");
  if (!(config_.event_time_rate > 0))
    throw ConfigError(
        "nexmark: event_time_rate must be positive (events per second of event time)");
  inter_event_delay_us_ = 1'000'000.0 / config_.event_time_rate;
  tables();  // built once, before the first event is timed
}

Event Generator::next(std::uint64_t id) const {
  const auto rem = static_cast<int>(id % static_cast<std::uint64_t>(config_.totalProportion()));
  if (rem < config_.person_proportion) return nextPerson(id);
  if (rem < config_.person_proportion + config_.auction_proportion) return nextAuction(id);
  // The Bid is made in the Event, not made and moved in (GCC elides the copy from the
  // conversion's result); bids are 92% of the events.
  return Event(std::in_place_type<Bid>, Deferred{[&] { return nextBid(id); }});
}

Person Generator::nextPerson(std::uint64_t event_id) const {
  const auto id = static_cast<std::int64_t>(event_id);
  const LastIds last = lastBase0Ids(config_, id);
  SplittableRandom random(event_id);
  Person p;
  p.id = last.person + kFirstPersonId;
  // The last name is drawn before the first, and the email's domain before its user: the
  // order GCC gave the first version's `first + " " + last` (C++ leaves the order of
  // operands open), kept so that event n stays what it was.
  const std::string_view last_name = pick(random, kLastNames);
  Chars name;
  name.append(pick(random, kFirstNames));
  name.append(" ");
  name.append(last_name);
  p.name = Text(name.view());
  Chars domain;
  appendString<5>(random, domain);
  Chars email;
  appendString<7>(random, email);
  email.append("@");
  email.append(domain.view());
  email.append(".com");
  p.email_address = Text(email.view());
  Chars credit_card;  // four groups of four digits, "0000" to "9999"
  for (int i = 0; i < 4; ++i) {
    if (i > 0) credit_card.append(" ");
    const int group = random.nextInt(10000);
    const char digits[4] = {
        static_cast<char>('0' + group / 1000), static_cast<char>('0' + group / 100 % 10),
        static_cast<char>('0' + group / 10 % 10), static_cast<char>('0' + group % 10)};
    credit_card.append(std::string_view(digits, 4));
  }
  p.credit_card = Text(credit_card.view());
  p.city = Text::borrowed(pick(random, kUsCities));
  p.state = Text::borrowed(pick(random, kUsStates));
  p.date_time = timestampOf(event_id);
  const auto size = 8 + p.name.size() + p.email_address.size() + p.credit_card.size() +
                    p.city.size() + p.state.size();
  p.extra = nextExtra(random, static_cast<int>(size), config_.avg_person_byte_size);
  return p;
}

Auction Generator::nextAuction(std::uint64_t event_id) const {
  const auto id = static_cast<std::int64_t>(event_id);
  const LastIds last = lastBase0Ids(config_, id);
  SplittableRandom random(event_id);
  Auction a;
  a.id = last.auction + kFirstAuctionId;
  if (random.nextInt(config_.hot_sellers_ratio) > 0) {
    a.seller = (last.person / kHotSellerRatio) * kHotSellerRatio;
  } else {
    std::int64_t num_people = last.person + 1;
    std::int64_t active = std::min<std::int64_t>(num_people, config_.num_active_people);
    a.seller = num_people - active + nextLong(random, active + kPersonIdLead);
  }
  a.seller += kFirstPersonId;
  a.category = kFirstCategoryId + random.nextInt(kNumCategories);
  a.initial_bid = nextPrice(random);
  a.date_time = timestampOf(event_id);
  // Auctions last long enough that about num_in_flight_auctions are open at a time.
  std::int64_t events_for_auctions =
      (static_cast<std::int64_t>(config_.num_in_flight_auctions) * config_.totalProportion()) /
      config_.auction_proportion;
  std::int64_t horizon =
      timestampOf(event_id + static_cast<std::uint64_t>(events_for_auctions)) - a.date_time;
  a.expires = a.date_time + 1 + nextLong(random, std::max<std::int64_t>(horizon * 2, 1));
  a.item_name = nextString<20>(random);
  a.description = nextString<100>(random);
  a.reserve = a.initial_bid + nextPrice(random);
  const auto size = 8 + a.item_name.size() + a.description.size() + 8 + 8 + 8 + 8 + 8;
  a.extra = nextExtra(random, static_cast<int>(size), config_.avg_auction_byte_size);
  return a;
}

Bid Generator::nextBid(std::uint64_t event_id) const {
  const auto id = static_cast<std::int64_t>(event_id);
  const LastIds last = lastBase0Ids(config_, id);
  SplittableRandom random(event_id);
  std::int64_t auction = 0;
  if (random.nextInt(config_.hot_auction_ratio) > 0) {
    auction = (last.auction / kHotAuctionRatio) * kHotAuctionRatio;
  } else {
    std::int64_t max_auction = last.auction;
    std::int64_t min_auction =
        std::max<std::int64_t>(max_auction - config_.num_in_flight_auctions, 0);
    auction = min_auction + nextLong(random, max_auction - min_auction + 1 + kAuctionIdLead);
  }
  std::int64_t bidder = 0;
  if (random.nextInt(config_.hot_bidders_ratio) > 0) {
    // The second person of the batch, so that hot bidders and hot sellers differ.
    bidder = (last.person / kHotBidderRatio) * kHotBidderRatio + 1;
  } else {
    std::int64_t num_people = last.person + 1;
    std::int64_t active = std::min<std::int64_t>(num_people, config_.num_active_people);
    bidder = num_people - active + nextLong(random, active + kPersonIdLead);
  }
  const std::int64_t price = nextPrice(random);
  std::string_view channel, url;
  if (random.nextInt(kHotChannelsRatio) > 0) {
    auto i =
        static_cast<std::size_t>(random.nextInt(static_cast<std::int32_t>(kHotChannels.size())));
    channel = kHotChannels[i];
    url = tables().hot_urls[i];
  } else {
    const auto i = static_cast<std::size_t>(random.nextInt(kChannelsNumber));
    channel = tables().channels.name(i);
    url = tables().channels.url(i);
  }
  // Built in place (no Text is made and then moved); braced initializers run in order, so the
  // extra's random numbers are drawn last, as before. Flink's BidGenerator adds
  // FIRST_PERSON_ID to the bidder twice; so do we, to give the same bidders.
  return Bid{auction + kFirstAuctionId,
             bidder + 2 * kFirstPersonId,
             price,
             Text::borrowed(channel),
             Text::borrowed(url),
             timestampOf(event_id),
             nextExtra(random, 8 + 8 + 8 + 8, config_.avg_bid_byte_size)};
}

}  // namespace lightflus::nexmark
