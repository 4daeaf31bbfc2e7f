// Session: one HTTP/1.1 connection of lightflusd (after Beast's async server example).
//
// doRead reads a request's header (with the header timeout), onHeader answers
// `Expect: 100-continue` and reads the body (with the body timeout and the body limit), onRead
// hands the request to the Router, doWrite sends the response and onWrite reads the next request
// or closes. A malformed request gets 400, a body over the limit 413; both close the connection
// (after draining the unread body for a while, so that the client reads the answer rather than
// a reset) and leave the server running. The session keeps itself alive through shared_from_this
// while an operation is pending.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "http_message.hpp"
#include "routes.hpp"

namespace lightflus::server {

namespace beast = boost::beast;

/// Limits of every connection.
struct SessionLimits {
  std::uint64_t max_body_bytes = std::uint64_t{10} << 20;
  std::uint32_t max_header_bytes = 64 << 10;
  std::chrono::seconds header_timeout{10};
  std::chrono::seconds body_timeout{60};
  /// How long an unread body is drained after a refusal (413, 401) before the socket closes.
  std::chrono::seconds linger_timeout{5};
};

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(boost::asio::ip::tcp::socket&& socket, const Router& router, SessionLimits limits);

  /// Starts reading requests (on the session's strand).
  void run();

 private:
  void doRead();
  void onHeader(beast::error_code ec, std::size_t bytes);
  void doReadBody();
  void onRead(beast::error_code ec, std::size_t bytes);
  void doWrite(Response response);
  void onWrite(bool keep_alive, beast::error_code ec, std::size_t bytes);
  // Answers a request that could not be read (400, 413) and closes, or just closes.
  void fail(beast::error_code ec);
  void doClose();
  // Reads and drops what the client still sends (a refused body), then lets the socket close.
  void doLinger();
  void onLinger(beast::error_code ec, std::size_t bytes);

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  const Router& router_;
  SessionLimits limits_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::shared_ptr<Response> response_;
  std::shared_ptr<http::response<http::empty_body>> continue_;
  std::vector<char> linger_buffer_;
};

}  // namespace lightflus::server
