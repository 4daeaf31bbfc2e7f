#include "listener.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <cstdio>

#include "lightflus/error.hpp"

namespace lightflus::server {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

Listener::Listener(asio::io_context& io, tcp::endpoint endpoint, const Router& router,
                   SessionLimits limits)
    : io_(io), acceptor_(asio::make_strand(io)), router_(router), limits_(limits) {
  beast::error_code ec;
  auto check = [&](const char* what) {
    if (ec)
      throw Error("cannot " + std::string(what) + " " + endpoint.address().to_string() + ":" +
                  std::to_string(endpoint.port()) + ": " + ec.message());
  };
  acceptor_.open(endpoint.protocol(), ec);
  check("open a socket for");
  acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
  check("set SO_REUSEADDR on");
  acceptor_.bind(endpoint, ec);
  check("bind to");
  acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  check("listen on");
}

void Listener::run() {
  doAccept();
}

void Listener::stop() {
  asio::post(acceptor_.get_executor(), [self = shared_from_this()] {
    beast::error_code ec;
    self->acceptor_.close(ec);  // pending accepts end with operation_aborted
  });
}

void Listener::doAccept() {
  acceptor_.async_accept(asio::make_strand(io_),
                         beast::bind_front_handler(&Listener::onAccept, shared_from_this()));
}

void Listener::onAccept(beast::error_code ec, tcp::socket socket) {
  if (ec == asio::error::operation_aborted || !acceptor_.is_open()) return;
  if (ec) {
    // Out of file descriptors and the like: this connection is lost, the next may succeed.
    std::fprintf(stderr, "lightflusd: accept: %s\n", ec.message().c_str());
  } else {
    std::make_shared<Session>(std::move(socket), router_, limits_)->run();
  }
  doAccept();
}

}  // namespace lightflus::server
