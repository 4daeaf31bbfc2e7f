// Elasticsearch: a sink that indexes a stream's elements through the `_bulk` API (target
// lightflus::elasticsearch).
//
//     ElasticsearchSinkOptions es{.host = "http://127.0.0.1:9200", .index = "orders"};
//     writeElasticsearch(orders, es);                                    // append, ids by ES
//     es.mode = ElasticsearchMode::Upsert;
//     writeElasticsearch(orders, es, [](const Value& o) { return o["id"]; });  // id extractor
//
// Each subtask buffers NDJSON bulk actions and sends them (POST /_bulk, Content-Type
// application/x-ndjson) when `max_actions` documents or `max_bytes` bytes are buffered, when the
// oldest buffered document is `flush_interval` old, when a checkpoint is taken and at the end.
// Append writes `index` actions (with `_id` when there is an id extractor); upsert writes
// `update` actions with `doc_as_upsert` under the extracted id, so a replayed record overwrites
// its document. A request answered 429 or 5xx, or that fails on the network, is resent with
// exponential backoff; items answered 429/5xx inside a successful bulk response are resent alone.
// Any other item error (a mapping error, ...) fails the job with the index, the document's id and
// position and Elasticsearch's reason, or is handed to `on_item_error` when set; nothing is
// dropped silently. Retrying gives up after `retry_timeout` with an error naming the last
// failure. Guarantee: at-least-once; with an id extractor documents are idempotent (a replay
// rewrites the same ids). See docs/elasticsearch.md. No Beast or OpenSSL header is included here.
#pragma once

#include <cstdint>
#include <functional>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include <fmt/format.h>

#include "lightflus/changelog.hpp"
#include "lightflus/datastream.hpp"
#include "lightflus/value.hpp"

namespace lightflus {

/// How the sink writes a document.
enum class ElasticsearchMode {
  Append,  ///< `index` actions: a new document per element (or a replacement when it has an id)
  Upsert,  ///< `update` actions with doc_as_upsert under the extracted id (needs an id extractor)
};

/// A document Elasticsearch refused (a per-item error of a bulk response).
struct ElasticsearchItemError {
  std::string index;
  std::optional<std::string> id;  ///< nullopt for append without an id extractor
  std::uint64_t position = 0;     ///< 0-based position of the document in its subtask's input
  int status = 0;                 ///< the item's HTTP status, e.g. 400
  std::string type;               ///< e.g. "mapper_parsing_exception"
  std::string reason;
  std::string document;  ///< the document's JSON as it was sent
};

/// Options of writeElasticsearch().
struct ElasticsearchSinkOptions {
  /// The cluster: "http://host:9200", "https://host:9243", "host:port" or "host" (http, port
  /// 9200). A path after the port ("http://proxy/es") prefixes "/_bulk".
  std::string host;
  std::string index;
  ElasticsearchMode mode = ElasticsearchMode::Append;
  /// HTTP basic authentication (when username is not empty) or an API key ("ApiKey <key>").
  std::string username;
  std::string password;
  std::string api_key;
  /// HTTPS: verify the server's certificate and host name (default), with these CAs when set
  /// (a PEM file), else the system's.
  bool tls_verify = true;
  std::string ca_file;
  /// A bulk request is sent when any of these is reached.
  std::size_t max_actions = 1000;
  std::size_t max_bytes = 5 * 1024 * 1024;
  Duration flush_interval{1'000};
  /// Connect + send + receive of one bulk request.
  Duration request_timeout{30'000};
  /// Backoff between retries: initial_backoff, doubling up to max_backoff.
  Duration initial_backoff{100};
  Duration max_backoff{5'000};
  /// How long a bulk request is retried (429, 5xx, network errors) before the job fails.
  Duration retry_timeout{60'000};
  /// The elements are changelog rows (lightflus/changelog.hpp), Value objects with an "op"
  /// member: +I and +U are indexed (or upserted) under their id without the "op" member, -U is
  /// skipped (the +U after it replaces the document) and -D is a `delete` action (a document
  /// that is not there counts as deleted). Needs an id extractor. A Change<T> stream is applied
  /// so whatever this says.
  bool changelog = false;
  /// When set, documents Elasticsearch refuses (4xx other than 429) go here instead of failing
  /// the job (a dead-letter output). Called on the sink's thread.
  std::function<void(const ElasticsearchItemError&)> on_item_error;
};

namespace detail {

/// The buffering `_bulk` client behind ElasticsearchSink (compiled; one per sink subtask).
class LIGHTFLUS_API ElasticsearchBulkWriter {
 public:
  ElasticsearchBulkWriter(ElasticsearchSinkOptions options, const SinkContext& ctx);
  ~ElasticsearchBulkWriter();
  ElasticsearchBulkWriter(const ElasticsearchBulkWriter&) = delete;
  ElasticsearchBulkWriter& operator=(const ElasticsearchBulkWriter&) = delete;
  /// Buffers one document (its JSON object) with an optional id; sends a bulk request when a
  /// limit is reached. Throws ConnectorError if a send failed (now or in a timed flush).
  void add(const std::string* id, std::string_view document);
  /// Buffers a `delete` action for the document `id` (a changelog's -D).
  void remove(const std::string& id);
  /// Sends everything buffered and waits until Elasticsearch accepted it.
  void flush();
  /// Bulk requests sent so far (every attempt), for tests and metrics.
  std::uint64_t requestsSent() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

/// Appends a document id: strings as they are, numbers in decimal, other Values as JSON.
struct ElasticsearchIdFormat {
  template <class I>
  void operator()(std::string& out, const I& id) const {
    if constexpr (std::is_same_v<I, Value>) {
      if (id.isString())
        out.append(id.asString());
      else if (id.isInt())
        fmt::format_to(std::back_inserter(out), "{}", id.asInt());
      else
        id.appendJson(out);
    } else if constexpr (std::is_convertible_v<const I&, std::string_view>) {
      out.append(std::string_view(id));
    } else if constexpr (std::is_arithmetic_v<I>) {
      fmt::format_to(std::back_inserter(out), "{}", id);
    } else {
      static_assert(std::is_same_v<I, Value>,
                    "an Elasticsearch id extractor must return a string, a number or a Value");
    }
  }
};

/// The default document: a Value object's JSON; other Values are wrapped as {"value": v}
/// (Elasticsearch documents are objects).
struct ElasticsearchDocument {
  void operator()(std::string& out, const Value& v) const {
    if (v.isObject()) {
      v.appendJson(out);
      return;
    }
    out += "{\"value\":";
    v.appendJson(out);
    out += '}';
  }
};

/// No id extractor: Elasticsearch assigns ids (append only).
struct ElasticsearchNoId {};

}  // namespace detail

/// Writes elements as Elasticsearch documents: `id(const R&)` gives the document id (a string,
/// number or Value; detail::ElasticsearchNoId for none), `document(std::string& out, const R&)`
/// appends the document's JSON object, where R is T or, for a changelog stream of Change<R>,
/// its rows. Use writeElasticsearch().
template <class T, class IdFn, class DocumentFn>
class ElasticsearchSink final : public Sink<T> {
 public:
  using Row = RowOf<T>;
  ElasticsearchSink(ElasticsearchSinkOptions options, IdFn id, DocumentFn document)
      : options_(std::move(options)), id_(std::move(id)), document_(std::move(document)) {
    if (std::is_same_v<IdFn, detail::ElasticsearchNoId> &&
        options_.mode == ElasticsearchMode::Upsert)
      throw ConfigError("Elasticsearch sink for index '" + options_.index +
                        "': upsert needs an id extractor");
    if (std::is_same_v<IdFn, detail::ElasticsearchNoId> &&
        (options_.changelog || IsChange<T>::value))
      throw ConfigError("Elasticsearch sink for index '" + options_.index +
                        "': a changelog needs an id extractor (deletes and updates name it)");
  }
  void open(const SinkContext& ctx) override {
    writer_ = std::make_unique<detail::ElasticsearchBulkWriter>(options_, ctx);
  }
  void write(Batch<T>& batch) override {
    for (const auto& e : batch) {
      if constexpr (IsChange<T>::value) {
        writeRow(e.value.kind, e.value.row);
      } else if constexpr (std::is_same_v<T, Value>) {
        if (options_.changelog)
          writeRow(changeKindOf(e.value), withoutOp(e.value));
        else
          writeRow(RowKind::Insert, e.value);
      } else {
        writeRow(RowKind::Insert, e.value);
      }
    }
  }
  void flush() override {
    if (writer_) writer_->flush();
  }
  void close() override { writer_.reset(); }
  /// Stops the sender: a request in flight completes (or its retries stop), the rest is dropped.
  void cancel() override { writer_.reset(); }

 private:
  void writeRow(RowKind kind, const Row& row) {
    if (kind == RowKind::UpdateBefore) return;  // the +U that follows replaces the document
    if constexpr (std::is_same_v<IdFn, detail::ElasticsearchNoId>) {
      document_buffer_.clear();
      document_(document_buffer_, row);
      writer_->add(nullptr, document_buffer_);
    } else {
      id_buffer_.clear();
      detail::ElasticsearchIdFormat{}(id_buffer_, id_(row));
      if (kind == RowKind::Delete) {
        writer_->remove(id_buffer_);
        return;
      }
      document_buffer_.clear();
      document_(document_buffer_, row);
      writer_->add(&id_buffer_, document_buffer_);
    }
  }

  ElasticsearchSinkOptions options_;
  IdFn id_;
  DocumentFn document_;
  std::unique_ptr<detail::ElasticsearchBulkWriter> writer_;
  std::string document_buffer_;
  std::string id_buffer_;
};

/// Writes `stream` to `options.index`, with document ids from `id(const T&)` (omit it to let
/// Elasticsearch assign ids; Upsert needs it) and documents from
/// `document(std::string& out, const T&)` (default: a Value's JSON).
///
///     writeElasticsearch(orders, {.host = "http://127.0.0.1:9200", .index = "orders",
///                                 .mode = ElasticsearchMode::Upsert},
///                        [](const Value& o) { return o["id"]; });
template <class T, class IdFn = detail::ElasticsearchNoId,
          class DocumentFn = detail::ElasticsearchDocument>
SinkHandle writeElasticsearch(const DataStream<T>& stream, ElasticsearchSinkOptions options,
                              IdFn id = {}, DocumentFn document = {}, std::string name = "") {
  if (options.index.empty()) throw ConfigError("writeElasticsearch(): the index is empty");
  if (options.host.empty()) throw ConfigError("writeElasticsearch(): the host is empty");
  if (std::is_same_v<IdFn, detail::ElasticsearchNoId> && options.mode == ElasticsearchMode::Upsert)
    throw ConfigError("writeElasticsearch() to index '" + options.index +
                      "': upsert needs an id extractor");
  if (std::is_same_v<IdFn, detail::ElasticsearchNoId> && (options.changelog || IsChange<T>::value))
    throw ConfigError("writeElasticsearch() to index '" + options.index +
                      "': a changelog needs an id extractor (deletes and updates name it)");
  if (name.empty()) name = "elasticsearch " + options.index;
  return stream.sink(
      [options, id, document] {
        return std::make_unique<ElasticsearchSink<T, IdFn, DocumentFn>>(options, id, document);
      },
      std::move(name));
}

}  // namespace lightflus
