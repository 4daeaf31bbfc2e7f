// Nexmark events as JSON lines, in the form Flink's JSON format gives the nexmark datagen table:
// {"event_type":0,"person":{...},"auction":null,"bid":null}, timestamps as TIMESTAMP(3) text.
#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>

#include <fmt/format.h>
#include <rapidjson/document.h>
#include <rapidjson/error/en.h>

#include "lightflus/connectors/nexmark.hpp"

namespace lightflus::nexmark {
namespace {

// Days since 1970-01-01 of a proleptic Gregorian date, and back (Howard Hinnant's algorithms).
std::int64_t daysFromCivil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

struct Civil {
  std::int64_t year;
  unsigned month, day;
};
Civil civilFromDays(std::int64_t z) {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  return {static_cast<std::int64_t>(yoe) + era * 400 + (m <= 2), m, d};
}

void appendString(std::string& out, std::string_view s) {
  out += '"';
  for (char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20)
          fmt::format_to(std::back_inserter(out), "\\u{:04x}", static_cast<int>(c));
        else
          out += c;
    }
  }
  out += '"';
}

/// Appends `"name":` and the value: the small writer the three event types share.
class ObjectWriter {
 public:
  explicit ObjectWriter(std::string& out) : out_(out) { out_ += '{'; }
  ~ObjectWriter() { out_ += '}'; }
  ObjectWriter(const ObjectWriter&) = delete;
  ObjectWriter& operator=(const ObjectWriter&) = delete;
  void number(std::string_view name, std::int64_t v) {
    key(name);
    fmt::format_to(std::back_inserter(out_), "{}", v);
  }
  void text(std::string_view name, std::string_view v) {
    key(name);
    appendString(out_, v);
  }
  void time(std::string_view name, Timestamp t) {
    key(name);
    out_ += '"';
    appendTimestamp(out_, t);
    out_ += '"';
  }

 private:
  void key(std::string_view name) {
    if (!first_) out_ += ',';
    first_ = false;
    appendString(out_, name);
    out_ += ':';
  }
  std::string& out_;
  bool first_ = true;
};

void appendPerson(std::string& out, const Person& p) {
  ObjectWriter w(out);
  w.number("id", p.id);
  w.text("name", p.name);
  w.text("emailAddress", p.email_address);
  w.text("creditCard", p.credit_card);
  w.text("city", p.city);
  w.text("state", p.state);
  w.time("dateTime", p.date_time);
  w.text("extra", p.extra);
}

void appendAuction(std::string& out, const Auction& a) {
  ObjectWriter w(out);
  w.number("id", a.id);
  w.text("itemName", a.item_name);
  w.text("description", a.description);
  w.number("initialBid", a.initial_bid);
  w.number("reserve", a.reserve);
  w.time("dateTime", a.date_time);
  w.time("expires", a.expires);
  w.number("seller", a.seller);
  w.number("category", a.category);
  w.text("extra", a.extra);
}

void appendBid(std::string& out, const Bid& b) {
  ObjectWriter w(out);
  w.number("auction", b.auction);
  w.number("bidder", b.bidder);
  w.number("price", b.price);
  w.text("channel", b.channel);
  w.text("url", b.url);
  w.time("dateTime", b.date_time);
  w.text("extra", b.extra);
}

/// Reads the fields of one object, with errors that name the field.
class ObjectReader {
 public:
  ObjectReader(const rapidjson::Value& object, std::string_view what)
      : object_(object), what_(what) {}
  std::int64_t number(const char* name) const {
    const auto& v = field(name);
    if (!v.IsInt64()) fail(name, "an integer");
    return v.GetInt64();
  }
  Text text(const char* name) const {
    const auto& v = field(name);
    if (v.IsNull()) return {};
    if (!v.IsString()) fail(name, "a string");
    return Text(std::string_view(v.GetString(), v.GetStringLength()));
  }
  Timestamp time(const char* name) const {
    const auto& v = field(name);
    if (v.IsInt64()) return v.GetInt64();  // milliseconds since the epoch
    if (!v.IsString()) fail(name, "a timestamp");
    return parseTimestamp(std::string_view(v.GetString(), v.GetStringLength()));
  }

 private:
  const rapidjson::Value& field(const char* name) const {
    auto it = object_.FindMember(name);
    if (it == object_.MemberEnd())
      throw InputError(fmt::format("nexmark event: {} has no field \"{}\"", what_, name));
    return it->value;
  }
  [[noreturn]] void fail(const char* name, const char* expected) const {
    throw InputError(fmt::format("nexmark event: {}.{} is not {}", what_, name, expected));
  }
  const rapidjson::Value& object_;
  std::string_view what_;
};

const rapidjson::Value& member(const rapidjson::Value& doc, const char* name) {
  auto it = doc.FindMember(name);
  if (it == doc.MemberEnd() || !it->value.IsObject())
    throw InputError(fmt::format("nexmark event: \"{}\" is missing or not an object", name));
  return it->value;
}

}  // namespace

void appendTimestamp(std::string& out, Timestamp t) {
  std::int64_t days = t >= 0 ? t / 86'400'000 : -((-t + 86'399'999) / 86'400'000);
  std::int64_t ms = t - days * 86'400'000;
  Civil c = civilFromDays(days);
  if (c.year < 0 || c.year > 9999) {
    fmt::format_to(std::back_inserter(out), "{:04d}-{:02d}-{:02d} {:02d}:{:02d}:{:02d}.{:03d}",
                   c.year, c.month, c.day, ms / 3'600'000, ms / 60'000 % 60, ms / 1000 % 60,
                   ms % 1000);
    return;
  }
  // By hand: fmt's format_to with a runtime format string cost ~150 ns per timestamp, a quarter
  // of handing an event to JavaScript (js_nexmark.cpp).
  char text[23] = {'0', '0', '0', '0', '-', '0', '0', '-', '0', '0', ' ', '0',
                   '0', ':', '0', '0', ':', '0', '0', '.', '0', '0', '0'};
  auto digits = [&text](int end, std::int64_t v) {  // v's digits ending before text[end]
    for (int i = end - 1; v > 0; --i, v /= 10) text[i] = static_cast<char>('0' + v % 10);
  };
  digits(4, c.year);
  digits(7, c.month);
  digits(10, c.day);
  digits(13, ms / 3'600'000);
  digits(16, ms / 60'000 % 60);
  digits(19, ms / 1000 % 60);
  digits(23, ms % 1000);
  out.append(text, sizeof text);
}

std::string formatTimestamp(Timestamp t) {
  std::string s;
  appendTimestamp(s, t);
  return s;
}

Timestamp parseTimestamp(std::string_view text) {
  auto bad = [&] {
    return InputError(fmt::format(
        "nexmark event: \"{}\" is not a timestamp like \"2015-07-15 00:00:00.000\"", text));
  };
  std::size_t pos = 0;
  auto digits = [&](std::size_t n) {
    std::int64_t v = 0;
    if (pos + n > text.size()) throw bad();
    auto [end, ec] = std::from_chars(text.data() + pos, text.data() + pos + n, v);
    if (ec != std::errc() || end != text.data() + pos + n) throw bad();
    pos += n;
    return v;
  };
  auto expect = [&](std::string_view chars) {
    if (pos >= text.size() || chars.find(text[pos]) == std::string_view::npos) throw bad();
    ++pos;
  };
  std::int64_t year = digits(4);
  expect("-");
  std::int64_t month = digits(2);
  expect("-");
  std::int64_t day = digits(2);
  expect(" T");
  std::int64_t hour = digits(2);
  expect(":");
  std::int64_t minute = digits(2);
  expect(":");
  std::int64_t second = digits(2);
  std::int64_t millis = 0;
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    std::size_t start = pos;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') ++pos;
    std::string_view frac = text.substr(start, pos - start);
    if (frac.empty()) throw bad();
    for (std::size_t i = 0; i < 3; ++i)
      millis = millis * 10 + (i < frac.size() ? frac[i] - '0' : 0);
  }
  if (pos < text.size() && text[pos] == 'Z') ++pos;
  if (pos != text.size() || month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 ||
      minute > 59 || second > 60)
    throw bad();
  std::int64_t days = daysFromCivil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
  return ((days * 24 + hour) * 60 + minute) * 60'000 + second * 1000 + millis;
}

void appendJson(std::string& out, const Event& e) {
  fmt::format_to(std::back_inserter(out), "{{\"event_type\":{},\"person\":", e.index());
  if (const auto* p = std::get_if<Person>(&e))
    appendPerson(out, *p);
  else
    out += "null";
  out += ",\"auction\":";
  if (const auto* a = std::get_if<Auction>(&e))
    appendAuction(out, *a);
  else
    out += "null";
  out += ",\"bid\":";
  if (const auto* b = std::get_if<Bid>(&e))
    appendBid(out, *b);
  else
    out += "null";
  out += '}';
}

Event parseEventJson(std::string_view line) {
  rapidjson::Document doc;
  doc.Parse(line.data(), line.size());
  if (doc.HasParseError())
    throw InputError(fmt::format("nexmark event: invalid JSON at offset {}: {}",
                                 doc.GetErrorOffset(),
                                 rapidjson::GetParseError_En(doc.GetParseError())));
  if (!doc.IsObject()) throw InputError("nexmark event: a line is not a JSON object");
  auto type = doc.FindMember("event_type");
  if (type == doc.MemberEnd() || !type->value.IsInt())
    throw InputError("nexmark event: \"event_type\" is missing or not 0, 1 or 2");
  switch (type->value.GetInt()) {
    case 0: {
      ObjectReader r(member(doc, "person"), "person");
      return Person{r.number("id"), r.text("name"),  r.text("emailAddress"), r.text("creditCard"),
                    r.text("city"), r.text("state"), r.time("dateTime"),     r.text("extra")};
    }
    case 1: {
      ObjectReader r(member(doc, "auction"), "auction");
      return Auction{r.number("id"),         r.text("itemName"),  r.text("description"),
                     r.number("initialBid"), r.number("reserve"), r.time("dateTime"),
                     r.time("expires"),      r.number("seller"),  r.number("category"),
                     r.text("extra")};
    }
    case 2: {
      ObjectReader r(member(doc, "bid"), "bid");
      return Bid{r.number("auction"), r.number("bidder"), r.number("price"), r.text("channel"),
                 r.text("url"),       r.time("dateTime"), r.text("extra")};
    }
    default:
      throw InputError(
          fmt::format("nexmark event: event_type {} is not 0, 1 or 2", type->value.GetInt()));
  }
}

}  // namespace lightflus::nexmark
