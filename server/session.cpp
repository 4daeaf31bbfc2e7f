#include "session.hpp"

#include <boost/asio/dispatch.hpp>

namespace lightflus::server {

namespace asio = boost::asio;

Session::Session(asio::ip::tcp::socket&& socket, const Router& router, SessionLimits limits)
    : stream_(std::move(socket)), router_(router), limits_(limits) {}

void Session::run() {
  asio::dispatch(stream_.get_executor(),
                 beast::bind_front_handler(&Session::doRead, shared_from_this()));
}

void Session::doRead() {
  parser_.emplace();
  parser_->header_limit(limits_.max_header_bytes);
  parser_->body_limit(limits_.max_body_bytes);
  stream_.expires_after(limits_.header_timeout);
  http::async_read_header(stream_, buffer_, *parser_,
                          beast::bind_front_handler(&Session::onHeader, shared_from_this()));
}

void Session::onHeader(beast::error_code ec, std::size_t) {
  if (ec) return fail(ec);
  const auto& header = parser_->get();
  if (auto refusal = router_.refuseUnauthorized(header.base())) return doWrite(std::move(*refusal));
  if (beast::iequals(header[http::field::expect], "100-continue")) {
    continue_ = std::make_shared<http::response<http::empty_body>>(http::status::continue_,
                                                                   header.version());
    http::async_write(stream_, *continue_,
                      [self = shared_from_this()](beast::error_code write_ec, std::size_t) {
                        if (write_ec) return self->fail(write_ec);
                        self->doReadBody();
                      });
    return;
  }
  doReadBody();
}

void Session::doReadBody() {
  stream_.expires_after(limits_.body_timeout);
  http::async_read(stream_, buffer_, *parser_,
                   beast::bind_front_handler(&Session::onRead, shared_from_this()));
}

void Session::onRead(beast::error_code ec, std::size_t) {
  if (ec) return fail(ec);
  stream_.expires_never();  // a handler (a job's load) may take a while
  doWrite(router_.handle(parser_->get()));
}

void Session::doWrite(Response response) {
  response_ = std::make_shared<Response>(std::move(response));
  bool keep_alive = response_->keep_alive();
  stream_.expires_after(limits_.body_timeout);
  http::async_write(stream_, *response_,
                    beast::bind_front_handler(&Session::onWrite, shared_from_this(), keep_alive));
}

void Session::onWrite(bool keep_alive, beast::error_code ec, std::size_t) {
  if (ec) return doClose();
  if (!keep_alive) {
    // A refused request's body (over the limit, without a token) was never read: closing now
    // would reset the connection while the client still sends it, and the client would see
    // `write EPIPE` instead of our answer. So drain it first, for a bounded time.
    if (parser_ && !parser_->is_done()) return doLinger();
    return doClose();
  }
  response_.reset();
  doRead();
}

void Session::doLinger() {
  doClose();  // our side is done: the client sees the answer and the end of it
  stream_.expires_after(limits_.linger_timeout);
  linger_buffer_.resize(16 << 10);
  stream_.async_read_some(asio::buffer(linger_buffer_),
                          beast::bind_front_handler(&Session::onLinger, shared_from_this()));
}

void Session::onLinger(beast::error_code ec, std::size_t) {
  // The client closed, or the linger time is over: the socket closes with the session.
  if (ec) return;
  stream_.async_read_some(asio::buffer(linger_buffer_),
                          beast::bind_front_handler(&Session::onLinger, shared_from_this()));
}

void Session::fail(beast::error_code ec) {
  if (ec == http::error::end_of_stream || ec == beast::error::timeout ||
      ec.category() != http::make_error_code(http::error::end_of_stream).category())
    return doClose();  // the peer left, was too slow, or the socket failed: nothing to answer
  if (ec == http::error::body_limit)
    return doWrite(errorResponse(http::status::payload_too_large,
                                 "the request body exceeds the limit of " +
                                     std::to_string(limits_.max_body_bytes) + " bytes",
                                 11, false));
  if (ec == http::error::header_limit)
    return doWrite(errorResponse(http::status::request_header_fields_too_large,
                                 "the request header exceeds the limit", 11, false));
  doWrite(errorResponse(http::status::bad_request, "malformed HTTP request: " + ec.message(), 11,
                        false));
}

void Session::doClose() {
  beast::error_code ec;
  stream_.socket().shutdown(asio::ip::tcp::socket::shutdown_send, ec);
  // A peer that already closed makes shutdown fail; the socket closes with the session anyway.
}

}  // namespace lightflus::server
