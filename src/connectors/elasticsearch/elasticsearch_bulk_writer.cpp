// The buffering `_bulk` client behind ElasticsearchSink: NDJSON actions in a buffer, sent when a
// limit is reached, on flush, or when the oldest is flush_interval old; retried with backoff;
// per-item errors reported. Every request is sent by the writer's own sender thread (the sink's
// thread asks it and waits), so the connection, and OpenSSL's per-thread state, belong to one
// thread for their whole life.

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include "http_connection.hpp"
#include "lightflus/connectors/elasticsearch.hpp"

namespace lightflus::detail {

namespace {

using Clock = std::chrono::steady_clock;

/// Appends `s` as a JSON string.
void appendJsonString(std::string& out, std::string_view s) {
  out += '"';
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += ch;
    } else if (c < 0x20) {
      fmt::format_to(std::back_inserter(out), "\\u{:04x}", c);
    } else {
      out += ch;
    }
  }
  out += '"';
}

std::string excerpt(std::string_view text, std::size_t max = 300) {
  if (text.size() <= max) return std::string(text);
  return std::string(text.substr(0, max)) + "...";
}

std::string base64(std::string_view in) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    unsigned n = (static_cast<unsigned char>(in[i]) << 16) |
                 (static_cast<unsigned char>(in[i + 1]) << 8) |
                 static_cast<unsigned char>(in[i + 2]);
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += kAlphabet[(n >> 6) & 63];
    out += kAlphabet[n & 63];
  }
  if (i < in.size()) {
    unsigned n = static_cast<unsigned char>(in[i]) << 16;
    if (i + 1 < in.size()) n |= static_cast<unsigned char>(in[i + 1]) << 8;
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += i + 1 < in.size() ? kAlphabet[(n >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

/// One document of the buffer: its action and document lines, as sent.
struct Item {
  std::uint64_t position = 0;
  std::optional<std::string> id;
  std::string lines;  // action "\n" document "\n" (a delete: its action line only)
  std::size_t document_begin = 0;
  bool remove = false;
};

std::string_view documentOf(const Item& item, bool upsert) {
  if (item.remove) return {};
  std::string_view doc(item.lines);
  doc = doc.substr(item.document_begin, doc.size() - item.document_begin - 1);
  // Upserts are sent as {"doc":<document>,"doc_as_upsert":true}: report the document itself.
  constexpr std::string_view kPrefix = "{\"doc\":", kSuffix = ",\"doc_as_upsert\":true}";
  if (upsert && doc.size() >= kPrefix.size() + kSuffix.size())
    doc = doc.substr(kPrefix.size(), doc.size() - kPrefix.size() - kSuffix.size());
  return doc;
}

}  // namespace

struct ElasticsearchBulkWriter::State {
  /// Buffers one action (under the lock) and sends when a limit is reached.
  void enqueue(Item item);
  ElasticsearchSinkOptions options;
  std::string where;  // "index 'orders' at http://host:9200"
  HttpEndpoint endpoint;
  std::string target;
  std::vector<std::pair<std::string, std::string>> headers;
  std::unique_ptr<HttpConnection> connection;

  std::mutex mutex;
  std::condition_variable wake;  // the sender: data, a send request, or stopping
  std::condition_variable sent;  // the sink's thread: its send request is done
  bool send_requested = false;
  std::vector<Item> buffer;
  std::size_t buffered_bytes = 0;
  Clock::time_point oldest;
  std::uint64_t next_position = 0;
  std::exception_ptr error;  // a failure of the timed flush, rethrown on the sink's thread
  std::atomic<bool> stopping{false};
  std::atomic<std::uint64_t> requests{0};
  std::thread sender;

  bool upsert() const { return options.mode == ElasticsearchMode::Upsert; }

  void rethrowIfFailed() {
    if (error) std::rethrow_exception(error);
  }

  // The sender thread: sends the buffer when the sink's thread asks or when it is due.
  void runSender() {
    std::unique_lock lock(mutex);
    while (!stopping) {
      const bool due = !buffer.empty() && Clock::now() >= oldest + options.flush_interval;
      if (send_requested || (due && !error)) {
        if (!error && !buffer.empty()) {
          try {
            sendBuffered();
          } catch (const std::exception&) {
            error = std::current_exception();
          }
        }
        send_requested = false;
        sent.notify_all();
      } else if (buffer.empty() || error) {
        wake.wait(lock, [&] { return stopping || send_requested || (!buffer.empty() && !error); });
      } else {
        wake.wait_until(lock, oldest + options.flush_interval,
                        [&] { return stopping || send_requested; });
      }
    }
    send_requested = false;
    sent.notify_all();
    lock.unlock();
    connection.reset();  // on this thread, which used it (and frees its OpenSSL state)
  }

  // On the sink's thread: has the sender send the buffer, waits, rethrows its failure.
  void sendNow(std::unique_lock<std::mutex>& lock) {
    send_requested = true;
    wake.notify_all();
    sent.wait(lock, [&] { return !send_requested; });
    rethrowIfFailed();
  }

  void sendBuffered() {
    if (!connection)
      connection = std::make_unique<HttpConnection>(
          endpoint, HttpConnection::TlsOptions{options.tls_verify, options.ca_file});
    std::vector<Item> items;
    items.swap(buffer);
    buffered_bytes = 0;
    sendWithRetries(std::move(items));
  }

  // Sends `items` until Elasticsearch took all of them; throws ConnectorError when retrying
  // runs out of time or an item is refused (without on_item_error).
  void sendWithRetries(std::vector<Item> items) {
    const auto start = Clock::now();
    auto backoff = options.initial_backoff;
    std::string body, last_error;
    int attempts = 0;
    while (!items.empty()) {
      body.clear();
      for (const auto& item : items) body += item.lines;
      ++attempts;
      requests.fetch_add(1, std::memory_order_relaxed);
      HttpResponse response;
      HttpTransportError transport;
      if (!connection->post(target, "application/x-ndjson", body, headers, options.request_timeout,
                            response, transport)) {
        last_error = transport.message;
      } else if (response.status == 429 || response.status >= 500) {
        last_error = fmt::format("HTTP {}: {}", response.status, excerpt(response.body));
      } else if (response.status < 200 || response.status >= 300) {
        throw ConnectorError(fmt::format(
            "Elasticsearch sink to {}: the bulk request of {} documents was refused with HTTP {} "
            "(not retried): {}",
            where, items.size(), response.status, excerpt(response.body)));
      } else {
        items = itemsToRetry(response.body, std::move(items), last_error);
        if (items.empty()) return;
      }
      auto elapsed = std::chrono::duration_cast<Duration>(Clock::now() - start);
      if (elapsed >= options.retry_timeout)
        throw ConnectorError(fmt::format(
            "Elasticsearch sink to {}: gave up after {} ms and {} attempts to send {} documents "
            "(retry_timeout {} ms); last error: {}",
            where, elapsed.count(), attempts, items.size(), options.retry_timeout.count(),
            last_error));
      sleep(std::min(backoff, options.retry_timeout - elapsed));  // a last try at the deadline
      backoff = std::min(backoff * 2, options.max_backoff);
    }
  }

  // The backoff; a closing sink does not wait it out.
  void sleep(Duration d) {
    const auto until = Clock::now() + d;
    while (Clock::now() < until) {
      if (stopping)
        throw ConnectorError("Elasticsearch sink to " + where + ": stopped while retrying");
      std::this_thread::sleep_for(std::min<Clock::duration>(until - Clock::now(), Duration(20)));
    }
  }

  // Reads a bulk response: returns the items to resend (429/5xx), reports refused ones.
  std::vector<Item> itemsToRetry(const std::string& body, std::vector<Item> items,
                                 std::string& last_error) {
    Value response;
    try {
      response = Value::parseJson(body);
    } catch (const Error& e) {
      throw ConnectorError("Elasticsearch sink to " + where +
                           ": the bulk response is not JSON: " + excerpt(body));
    }
    if (response["errors"].isBool() && !response["errors"].asBool()) return {};
    const Value& results = response["items"];
    if (!results.isArray() || results.size() != items.size())
      throw ConnectorError(fmt::format(
          "Elasticsearch sink to {}: the bulk response has {} items for {} documents: {}", where,
          results.isArray() ? results.size() : 0, items.size(), excerpt(body)));
    std::vector<Item> retry;
    std::vector<ElasticsearchItemError> refused;
    for (std::size_t i = 0; i < items.size(); ++i) {
      const Value& entry = results[i];
      if (!entry.isObject() || entry.asObject().empty()) continue;
      const Value& result = entry.asObject().front().second;
      int status = result["status"].isNumber() ? static_cast<int>(result["status"].asInt()) : 0;
      if (status >= 200 && status < 300) continue;
      // Deleting a document that is not there leaves what a delete should (a replay after a
      // restore deletes twice): Elasticsearch answers 404 "not_found" without an error.
      if (items[i].remove && status == 404 && !result.find("error")) continue;
      const Value& error = result["error"];
      std::string type = error["type"].isString() ? std::string(error["type"].asString()) : "";
      std::string reason =
          error["reason"].isString() ? std::string(error["reason"].asString()) : error.toJson();
      if (status == 429 || status >= 500) {
        last_error = fmt::format("document at position {}: HTTP {} {}: {}", items[i].position,
                                 status, type, reason);
        retry.push_back(std::move(items[i]));
        continue;
      }
      refused.push_back(ElasticsearchItemError{options.index, items[i].id, items[i].position,
                                               status, std::move(type), std::move(reason),
                                               std::string(documentOf(items[i], upsert()))});
    }
    if (!refused.empty()) {
      if (!options.on_item_error) {
        const auto& e = refused.front();
        std::string id = e.id ? fmt::format("id \"{}\"", *e.id) : std::string("no id");
        throw ConnectorError(fmt::format(
            "Elasticsearch sink to {}: the document at position {} ({}) was refused: HTTP {} {}: "
            "{}; document: {}{}",
            where, e.position, id, e.status, e.type, e.reason, excerpt(e.document, 200),
            refused.size() > 1
                ? fmt::format(" (and {} more documents in the same request)", refused.size() - 1)
                : ""));
      }
      for (const auto& e : refused) options.on_item_error(e);
    }
    return retry;
  }
};

ElasticsearchBulkWriter::ElasticsearchBulkWriter(ElasticsearchSinkOptions options,
                                                 const SinkContext& /*ctx*/)
    : state_(std::make_unique<State>()) {
  auto& s = *state_;
  s.options = std::move(options);
  if (s.options.max_actions == 0) s.options.max_actions = 1;
  s.endpoint = HttpEndpoint::parse(s.options.host, "9200");
  s.target = s.endpoint.path_prefix + "/_bulk";
  // The engine's error names the job, operator and subtask.
  s.where = fmt::format("index '{}' at {}", s.options.index, s.endpoint.url());
  if (!s.options.username.empty())
    s.headers.emplace_back("Authorization",
                           "Basic " + base64(s.options.username + ":" + s.options.password));
  else if (!s.options.api_key.empty())
    s.headers.emplace_back("Authorization", "ApiKey " + s.options.api_key);
  s.sender = std::thread([&s] { s.runSender(); });
}

ElasticsearchBulkWriter::~ElasticsearchBulkWriter() {
  // Set before taking the lock: a sender in its backoff holds the lock and checks this flag.
  state_->stopping = true;
  { std::lock_guard lock(state_->mutex); }
  state_->wake.notify_all();
  state_->sender.join();
}

void ElasticsearchBulkWriter::remove(const std::string& id) {
  Item item;
  item.id = id;
  item.remove = true;
  item.lines = "{\"delete\":{\"_index\":";
  appendJsonString(item.lines, state_->options.index);
  item.lines += ",\"_id\":";
  appendJsonString(item.lines, id);
  item.lines += "}}\n";
  item.document_begin = item.lines.size();
  state_->enqueue(std::move(item));
}

void ElasticsearchBulkWriter::add(const std::string* id, std::string_view document) {
  auto& s = *state_;
  Item item;
  item.id = id ? std::optional<std::string>(*id) : std::nullopt;
  item.lines = s.upsert() ? "{\"update\":{\"_index\":" : "{\"index\":{\"_index\":";
  appendJsonString(item.lines, s.options.index);
  if (id) {
    item.lines += ",\"_id\":";
    appendJsonString(item.lines, *id);
  }
  item.lines += "}}\n";
  item.document_begin = item.lines.size();
  if (s.upsert()) item.lines += "{\"doc\":";
  item.lines += document;
  if (s.upsert()) item.lines += ",\"doc_as_upsert\":true}";
  item.lines += '\n';
  state_->enqueue(std::move(item));
}

void ElasticsearchBulkWriter::State::enqueue(Item item) {
  auto& s = *this;
  std::unique_lock lock(s.mutex);
  s.rethrowIfFailed();
  item.position = s.next_position++;
  // A request stays within max_bytes unless a single document is larger.
  if (!s.buffer.empty() && s.buffered_bytes + item.lines.size() > s.options.max_bytes)
    s.sendNow(lock);
  if (s.buffer.empty()) {
    s.oldest = Clock::now();
    s.wake.notify_all();
  }
  s.buffered_bytes += item.lines.size();
  s.buffer.push_back(std::move(item));
  if (s.buffer.size() >= s.options.max_actions || s.buffered_bytes >= s.options.max_bytes)
    s.sendNow(lock);
}

void ElasticsearchBulkWriter::flush() {
  std::unique_lock lock(state_->mutex);
  state_->rethrowIfFailed();
  if (!state_->buffer.empty()) state_->sendNow(lock);
}

std::uint64_t ElasticsearchBulkWriter::requestsSent() const {
  return state_->requests.load(std::memory_order_relaxed);
}

}  // namespace lightflus::detail
