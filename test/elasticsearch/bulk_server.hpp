// BulkServer: an Elasticsearch stand-in for tests. A Boost.Beast HTTP server on a free loopback
// port that answers POST /_bulk like Elasticsearch, checks the request's format (Content-Type
// application/x-ndjson, action/document line pairs, a trailing newline) and records the
// documents it accepts. It can be told to answer whole requests with an error status (429,
// 500, ...), to answer documents with a per-item status (429), and to refuse documents with a
// mapping error (400 mapper_parsing_exception).
#pragma once

#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "lightflus/value.hpp"

namespace lightflus::test {

class BulkServer {
 public:
  struct Document {
    std::string action;  ///< "index", "update" or "delete"
    std::string index;
    std::optional<std::string> id;
    Value source;  ///< the document (for update: its "doc"; null for delete)
  };

  /// HTTPS with this certificate and private key (PEM files).
  struct Tls {
    std::string certificate_file;
    std::string key_file;
  };

  /// Starts on 127.0.0.1 on a free port (HTTPS when `tls` is given); the destructor stops it.
  explicit BulkServer(std::optional<Tls> tls = std::nullopt);
  ~BulkServer();
  BulkServer(const BulkServer&) = delete;
  BulkServer& operator=(const BulkServer&) = delete;

  /// "http://127.0.0.1:<port>", or "https://localhost:<port>" with TLS.
  std::string url() const;

  /// The next requests are answered with these statuses, one per request, before any is taken.
  void failRequests(std::vector<int> statuses);
  /// The next `count` documents are answered with a per-item `status` (not recorded).
  void failItems(int count, int status);
  /// Documents whose `field` is true are refused with 400 mapper_parsing_exception.
  void refuseWhere(std::string field);

  /// Accepted documents in arrival order.
  std::vector<Document> documents() const;
  /// The index as Elasticsearch would hold it: id -> source (index replaces, update merges).
  std::map<std::string, Value> byId() const;
  /// Per bulk request received (failed ones too): its number of documents and its body size.
  std::vector<std::size_t> requestDocuments() const;
  std::vector<std::size_t> requestBytes() const;
  /// What was wrong with the requests' format (empty when everything was well formed).
  std::vector<std::string> formatErrors() const;

  struct State;

 private:
  std::shared_ptr<State> state_;
  std::thread thread_;
};

/// A loopback port with nothing listening on it.
int closedLoopbackPort();

}  // namespace lightflus::test
