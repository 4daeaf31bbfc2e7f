#include "bulk_server.hpp"

#include <fmt/format.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <mutex>
#include <type_traits>
#include <utility>

#include "lightflus/error.hpp"

namespace lightflus::test {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

struct BulkServer::State {
  asio::io_context ioc;
  tcp::acceptor acceptor{ioc};
  int port = 0;
  std::unique_ptr<ssl::context> tls;  // HTTPS when set

  mutable std::mutex mutex;
  std::deque<int> fail_requests;
  int fail_items = 0;
  int fail_item_status = 429;
  std::string refuse_field;
  std::vector<Document> documents;
  std::map<std::string, Value> by_id;
  std::vector<std::size_t> request_documents, request_bytes;
  std::vector<std::string> format_errors;

  // Answers one request (under the mutex).
  http::response<http::string_body> handle(const http::request<http::string_body>& request) {
    std::lock_guard lock(mutex);
    const std::string& body = request.body();
    request_bytes.push_back(body.size());
    auto reply = [&](int status, std::string text) {
      http::response<http::string_body> response{static_cast<http::status>(status),
                                                 request.version()};
      response.set(http::field::content_type, "application/json");
      response.keep_alive(request.keep_alive());
      response.body() = std::move(text);
      response.prepare_payload();
      return response;
    };
    auto malformed = [&](std::string what) {
      format_errors.push_back(what);
      request_documents.push_back(0);
      return reply(400, Value(what).toJson());
    };
    if (request.method() != http::verb::post || request.target() != "/_bulk")
      return malformed("not POST /_bulk: " + std::string(request.target()));
    if (request[http::field::content_type] != "application/x-ndjson")
      return malformed("Content-Type is '" + std::string(request[http::field::content_type]) + "'");
    if (body.empty() || body.back() != '\n') return malformed("the body does not end with \\n");
    std::vector<std::string_view> lines;
    for (std::size_t at = 0; at < body.size();) {
      std::size_t end = body.find('\n', at);
      lines.emplace_back(body.data() + at, end - at);
      at = end + 1;
    }
    // Actions: index and update are followed by a document line, delete is not.
    struct Action {
      std::string name;
      Value meta;
      Value doc;
    };
    std::vector<Action> actions;
    for (std::size_t i = 0; i < lines.size();) {
      Value action;
      try {
        action = Value::parseJson(lines[i]);
      } catch (const Error& e) {
        return malformed(std::string("a line is not JSON: ") + e.what());
      }
      if (!action.isObject() || action.size() != 1)
        return malformed("not an action object: " + std::string(lines[i]));
      const auto& [name, meta] = std::as_const(action).asObject().front();
      if ((name != "index" && name != "update" && name != "delete") || !meta["_index"].isString())
        return malformed("unexpected action " + std::string(lines[i]));
      Action a{name, meta, Value()};
      if (name == "delete") {
        if (!meta["_id"].isString())
          return malformed("a delete without _id: " + std::string(lines[i]));
        ++i;
      } else {
        if (i + 1 >= lines.size()) return malformed("an action without a document line");
        try {
          a.doc = Value::parseJson(lines[i + 1]);
        } catch (const Error& e) {
          return malformed(std::string("a line is not JSON: ") + e.what());
        }
        if (!a.doc.isObject())
          return malformed("not a document object: " + std::string(lines[i + 1]));
        i += 2;
      }
      actions.push_back(std::move(a));
    }
    request_documents.push_back(actions.size());
    if (!fail_requests.empty()) {
      int status = fail_requests.front();
      fail_requests.pop_front();
      return reply(status,
                   R"({"error":"stand-in failure","status":)" + std::to_string(status) + "}");
    }

    Value items = Value::array();
    bool errors = false;
    for (auto& [name, meta, doc] : actions) {
      std::optional<std::string> id;
      if (meta["_id"].isString()) id = std::string(meta["_id"].asString());
      if (name == "delete") {
        // As Elasticsearch: 200 "deleted", or 404 "not_found" for a missing id (not an error).
        Value result = Value::object();
        result["_index"] = meta["_index"];
        result["_id"] = *id;
        bool found = by_id.erase(*id) > 0;
        result["result"] = found ? "deleted" : "not_found";
        result["status"] = found ? 200 : 404;
        documents.push_back(Document{name, std::string(meta["_index"].asString()), id, Value()});
        Value item = Value::object();
        item[name] = std::move(result);
        items.asArray().push_back(std::move(item));
        continue;
      }
      const Value& cdoc = doc;
      Value source = doc;
      if (name == "update") {
        if (!id || !cdoc["doc"].isObject() || cdoc["doc_as_upsert"] != Value(true))
          return malformed("an update without _id, doc or doc_as_upsert: " + cdoc.toJson());
        source = cdoc["doc"];
      }
      Value result = Value::object();
      result["_index"] = meta["_index"];
      if (id) result["_id"] = *id;
      if (fail_items > 0) {
        --fail_items;
        errors = true;
        result["status"] = fail_item_status;
        result["error"] = Value::parseJson(R"json({"type":"es_rejected_execution_exception",
            "reason":"rejected execution (stand-in)"})json");
      } else if (!refuse_field.empty() && std::as_const(source)[refuse_field] == Value(true)) {
        errors = true;
        result["status"] = 400;
        result["error"] = Value::object();
        result["error"]["type"] = "mapper_parsing_exception";
        result["error"]["reason"] = "failed to parse field [" + refuse_field + "] of type [long]";
      } else {
        result["status"] = name == "index" ? 201 : 200;
        if (id) {
          Value& stored = by_id[*id];
          if (name == "index" || !stored.isObject()) {
            stored = source;
          } else {
            for (const auto& [key, value] : source.asObject()) stored[key] = value;
          }
        }
        documents.push_back(Document{name, std::string(meta["_index"].asString()), id, source});
      }
      Value item = Value::object();
      item[name] = std::move(result);
      items.asArray().push_back(std::move(item));
    }
    Value response = Value::object();
    response["took"] = 1;
    response["errors"] = errors;
    response["items"] = std::move(items);
    return reply(200, response.toJson());
  }
};

namespace {

// One connection: read a request, answer it, again while the client keeps it alive. Stream is
// beast::tcp_stream or, for HTTPS, beast::ssl_stream<beast::tcp_stream>.
template <class Stream>
class Session : public std::enable_shared_from_this<Session<Stream>> {
 public:
  Session(Stream stream, BulkServer::State& state) : stream_(std::move(stream)), state_(state) {}
  void start() {
    if constexpr (std::is_same_v<Stream, beast::tcp_stream>) {
      doRead();
    } else {
      stream_.async_handshake(ssl::stream_base::server,
                              [self = this->shared_from_this()](beast::error_code ec) {
                                if (!ec) self->doRead();
                              });
    }
  }

 private:
  void doRead() {
    request_ = {};
    http::async_read(
        stream_, buffer_, request_,
        [self = this->shared_from_this()](beast::error_code ec, std::size_t) { self->onRead(ec); });
  }
  void onRead(beast::error_code ec) {
    if (ec) return;  // closed by the client (or the server stopping)
    response_ = state_.handle(request_);
    http::async_write(
        stream_, response_,
        [self = this->shared_from_this()](beast::error_code e, std::size_t) { self->onWrite(e); });
  }
  void onWrite(beast::error_code ec) {
    if (ec) return;
    if (!response_.keep_alive()) {
      beast::error_code ignored;
      beast::get_lowest_layer(stream_).socket().shutdown(tcp::socket::shutdown_send, ignored);
      return;
    }
    doRead();
  }

  Stream stream_;
  BulkServer::State& state_;
  beast::flat_buffer buffer_;
  http::request<http::string_body> request_;
  http::response<http::string_body> response_;
};

void doAccept(BulkServer::State& state) {
  state.acceptor.async_accept([&state](beast::error_code ec, tcp::socket socket) {
    if (ec) return;  // the acceptor was closed
    if (state.tls)
      std::make_shared<Session<beast::ssl_stream<beast::tcp_stream>>>(
          beast::ssl_stream<beast::tcp_stream>(beast::tcp_stream(std::move(socket)), *state.tls),
          state)
          ->start();
    else
      std::make_shared<Session<beast::tcp_stream>>(beast::tcp_stream(std::move(socket)), state)
          ->start();
    doAccept(state);
  });
}

}  // namespace

BulkServer::BulkServer(std::optional<Tls> tls) : state_(std::make_shared<State>()) {
  if (tls) {
    state_->tls = std::make_unique<ssl::context>(ssl::context::tls_server);
    state_->tls->use_certificate_chain_file(tls->certificate_file);
    state_->tls->use_private_key_file(tls->key_file, ssl::context::pem);
  }
  tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"), 0);
  state_->acceptor.open(endpoint.protocol());
  state_->acceptor.set_option(asio::socket_base::reuse_address(true));
  state_->acceptor.bind(endpoint);
  state_->acceptor.listen();
  state_->port = state_->acceptor.local_endpoint().port();
  doAccept(*state_);
  thread_ = std::thread([state = state_] { state->ioc.run(); });
}

BulkServer::~BulkServer() {
  state_->ioc.stop();
  thread_.join();
}

std::string BulkServer::url() const {
  if (state_->tls) return fmt::format("https://localhost:{}", state_->port);
  return fmt::format("http://127.0.0.1:{}", state_->port);
}

void BulkServer::failRequests(std::vector<int> statuses) {
  std::lock_guard lock(state_->mutex);
  state_->fail_requests.assign(statuses.begin(), statuses.end());
}

void BulkServer::failItems(int count, int status) {
  std::lock_guard lock(state_->mutex);
  state_->fail_items = count;
  state_->fail_item_status = status;
}

void BulkServer::refuseWhere(std::string field) {
  std::lock_guard lock(state_->mutex);
  state_->refuse_field = std::move(field);
}

std::vector<BulkServer::Document> BulkServer::documents() const {
  std::lock_guard lock(state_->mutex);
  return state_->documents;
}

std::map<std::string, Value> BulkServer::byId() const {
  std::lock_guard lock(state_->mutex);
  return state_->by_id;
}

std::vector<std::size_t> BulkServer::requestDocuments() const {
  std::lock_guard lock(state_->mutex);
  return state_->request_documents;
}

std::vector<std::size_t> BulkServer::requestBytes() const {
  std::lock_guard lock(state_->mutex);
  return state_->request_bytes;
}

std::vector<std::string> BulkServer::formatErrors() const {
  std::lock_guard lock(state_->mutex);
  return state_->format_errors;
}

int closedLoopbackPort() {
  asio::io_context ioc;
  tcp::acceptor acceptor(ioc, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  return acceptor.local_endpoint().port();  // closed when the acceptor goes
}

}  // namespace lightflus::test
