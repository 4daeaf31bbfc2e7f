#include "js_nexmark.hpp"

#include <v8-array-buffer.h>
#include <v8-function.h>
#include <v8-typed-array.h>

#include <algorithm>
#include <cstring>
#include <type_traits>
#include <variant>

#include "js_job.hpp"

namespace lightflus::js {

// Columns per event: bid 3 numbers and 4 strings (channel, url, dateTime, extra); auction 5
// numbers (id, initialBid, reserve, seller, category) and 5 strings (itemName, description,
// dateTime, expires, extra); person 1 number (id) and 7 strings (name, emailAddress,
// creditCard, city, state, dateTime, extra). The strings are ASCII (NexmarkCrossing checks), so
// their lengths in bytes are their lengths in UTF-16 units, as slice() counts.
const std::string_view kNexmarkHelpers = R"js((function (lf, h) {
  "use strict";
  h.nexmarkEvents = function (kinds, numbers, lengths, text) {
    const n = kinds.length;
    const out = new Array(n);
    let q = 0, s = 0, p = 0;
    for (let i = 0; i < n; ++i) {
      const kind = kinds[i];
      if (kind === 2) {
        const auction = numbers[q], bidder = numbers[q + 1], price = numbers[q + 2];
        q += 3;
        const channel = text.slice(p, p += lengths[s]);
        const url = text.slice(p, p += lengths[s + 1]);
        const dateTime = text.slice(p, p += lengths[s + 2]);
        const extra = text.slice(p, p += lengths[s + 3]);
        s += 4;
        out[i] = { event_type: 2, person: null, auction: null,
                   bid: { auction, bidder, price, channel, url, dateTime, extra } };
      } else if (kind === 1) {
        const id = numbers[q], initialBid = numbers[q + 1], reserve = numbers[q + 2];
        const seller = numbers[q + 3], category = numbers[q + 4];
        q += 5;
        const itemName = text.slice(p, p += lengths[s]);
        const description = text.slice(p, p += lengths[s + 1]);
        const dateTime = text.slice(p, p += lengths[s + 2]);
        const expires = text.slice(p, p += lengths[s + 3]);
        const extra = text.slice(p, p += lengths[s + 4]);
        s += 5;
        out[i] = { event_type: 1, person: null,
                   auction: { id, itemName, description, initialBid, reserve, dateTime, expires,
                              seller, category, extra },
                   bid: null };
      } else {
        const id = numbers[q];
        q += 1;
        const name = text.slice(p, p += lengths[s]);
        const emailAddress = text.slice(p, p += lengths[s + 1]);
        const creditCard = text.slice(p, p += lengths[s + 2]);
        const city = text.slice(p, p += lengths[s + 3]);
        const state = text.slice(p, p += lengths[s + 4]);
        const dateTime = text.slice(p, p += lengths[s + 5]);
        const extra = text.slice(p, p += lengths[s + 6]);
        s += 7;
        out[i] = { event_type: 0,
                   person: { id, name, emailAddress, creditCard, city, state, dateTime, extra },
                   auction: null, bid: null };
      }
    }
    return out;
  };
}))js";

// ---------------------------------------------------------------------------------------------
// NexmarkIdSource

SourceStatus NexmarkIdSource::poll(SourceOutput<Value>& out) {
  Timestamp last = kMinTimestamp;
  const auto progress = split_.emit(out.remaining(), [&](std::uint64_t id) {
    last = generator_->timestampOf(id);
    out.collect(Value(id), last);
  });
  if (last != kMinTimestamp) out.emitWatermark(last - 1);
  return detail::sourceStatus(progress);
}

// ---------------------------------------------------------------------------------------------
// Events as Values

namespace {

Value text(const nexmark::Text& t) {
  return Value(std::string_view(t));
}
Value time(Timestamp t) {
  return Value(nexmark::formatTimestamp(t));
}

Value personValue(const nexmark::Person& p) {
  return Value(Value::Object{{"id", Value(p.id)},
                             {"name", text(p.name)},
                             {"emailAddress", text(p.email_address)},
                             {"creditCard", text(p.credit_card)},
                             {"city", text(p.city)},
                             {"state", text(p.state)},
                             {"dateTime", time(p.date_time)},
                             {"extra", text(p.extra)}});
}

Value auctionValue(const nexmark::Auction& a) {
  return Value(Value::Object{{"id", Value(a.id)},
                             {"itemName", text(a.item_name)},
                             {"description", text(a.description)},
                             {"initialBid", Value(a.initial_bid)},
                             {"reserve", Value(a.reserve)},
                             {"dateTime", time(a.date_time)},
                             {"expires", time(a.expires)},
                             {"seller", Value(a.seller)},
                             {"category", Value(a.category)},
                             {"extra", text(a.extra)}});
}

Value bidValue(const nexmark::Bid& b) {
  return Value(Value::Object{{"auction", Value(b.auction)},
                             {"bidder", Value(b.bidder)},
                             {"price", Value(b.price)},
                             {"channel", text(b.channel)},
                             {"url", text(b.url)},
                             {"dateTime", time(b.date_time)},
                             {"extra", text(b.extra)}});
}

// Appends the event's columns (see kNexmarkHelpers).
class Columns {
 public:
  Columns(std::vector<double>& numbers, std::vector<std::int32_t>& lengths, std::string& text)
      : numbers_(numbers), lengths_(lengths), text_(text) {}
  void number(std::int64_t v) { numbers_.push_back(static_cast<double>(v)); }
  void string(std::string_view s) {
    lengths_.push_back(static_cast<std::int32_t>(s.size()));
    text_.append(s.data(), s.size());
  }
  void time(Timestamp t) {
    const std::size_t before = text_.size();
    nexmark::appendTimestamp(text_, t);
    lengths_.push_back(static_cast<std::int32_t>(text_.size() - before));
  }
  void add(const nexmark::Bid& b) {
    number(b.auction);
    number(b.bidder);
    number(b.price);
    string(b.channel);
    string(b.url);
    time(b.date_time);
    string(b.extra);
  }
  void add(const nexmark::Auction& a) {
    number(a.id);
    number(a.initial_bid);
    number(a.reserve);
    number(a.seller);
    number(a.category);
    string(a.item_name);
    string(a.description);
    time(a.date_time);
    time(a.expires);
    string(a.extra);
  }
  void add(const nexmark::Person& p) {
    number(p.id);
    string(p.name);
    string(p.email_address);
    string(p.credit_card);
    string(p.city);
    string(p.state);
    time(p.date_time);
    string(p.extra);
  }

 private:
  std::vector<double>& numbers_;
  std::vector<std::int32_t>& lengths_;
  std::string& text_;
};

template <class T>
v8::Local<v8::ArrayBuffer> bufferOf(v8::Isolate* isolate, const std::vector<T>& items) {
  const std::size_t bytes = items.size() * sizeof(T);
  v8::Local<v8::ArrayBuffer> buffer = v8::ArrayBuffer::New(isolate, bytes);
  if (bytes > 0) std::memcpy(buffer->GetBackingStore()->Data(), items.data(), bytes);
  return buffer;
}

}  // namespace

Value nexmarkValue(const nexmark::Event& event) {
  Value person, auction, bid;
  if (const auto* p = std::get_if<nexmark::Person>(&event)) person = personValue(*p);
  if (const auto* a = std::get_if<nexmark::Auction>(&event)) auction = auctionValue(*a);
  if (const auto* b = std::get_if<nexmark::Bid>(&event)) bid = bidValue(*b);
  return Value(Value::Object{{"event_type", Value(static_cast<std::int64_t>(event.index()))},
                             {"person", std::move(person)},
                             {"auction", std::move(auction)},
                             {"bid", std::move(bid)}});
}

// ---------------------------------------------------------------------------------------------
// NexmarkCrossing

Value NexmarkCrossing::event(const Value& id) const {
  return nexmarkValue(generator_->next(static_cast<std::uint64_t>(id.asInt())));
}

v8::Local<v8::Array> NexmarkCrossing::toJsArray(JsWorker& worker, ValueConverter& convert,
                                                const Batch<Value>& batch, std::size_t from) {
  kinds_.clear();
  numbers_.clear();
  lengths_.clear();
  text_.clear();
  Columns columns(numbers_, lengths_, text_);
  for (std::size_t i = from; i < batch.size(); ++i) {
    const nexmark::Event event =
        generator_->next(static_cast<std::uint64_t>(batch[i].value.asInt()));
    kinds_.push_back(static_cast<std::uint8_t>(event.index()));
    std::visit([&](const auto& e) { columns.add(e); }, event);
  }
  // Generated strings are ASCII. Anything else (a changed generator) would need its lengths in
  // UTF-16 units: it goes as Values instead.
  unsigned char bits = 0;  // no early exit: the loop vectorizes
  for (char c : text_) bits |= static_cast<unsigned char>(c);
  const bool ascii = bits < 0x80;
  if (!ascii || text_.size() >= (1u << 28))
    return convert.toJsArray(batch, from,
                             [this](const Element<Value>& e) { return event(e.value); });
  JsIsolate& js = worker.js();
  v8::Isolate* isolate = js.isolate();
  const std::size_t n = kinds_.size();
  v8::Local<v8::Value> args[] = {
      v8::Uint8Array::New(bufferOf(isolate, kinds_), 0, n),
      v8::Float64Array::New(bufferOf(isolate, numbers_), 0, numbers_.size()),
      v8::Int32Array::New(bufferOf(isolate, lengths_), 0, lengths_.size()),
      v8::String::NewFromOneByte(isolate, reinterpret_cast<const std::uint8_t*>(text_.data()),
                                 v8::NewStringType::kNormal, static_cast<int>(text_.size()))
          .ToLocalChecked()};
  return js.call("the Nexmark source", worker.helper("nexmarkEvents"), v8::Undefined(isolate), args)
      .As<v8::Array>();
}

}  // namespace lightflus::js
