// Listener: accepts lightflusd's connections and starts a Session for each (after Beast's async
// server example). Each connection gets its own strand, so one slow request (a job's load in
// V8) never holds up the others.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <memory>

#include "routes.hpp"
#include "session.hpp"

namespace lightflus::server {

class Listener : public std::enable_shared_from_this<Listener> {
 public:
  /// Binds and listens on `endpoint`; throws Error when it cannot.
  Listener(boost::asio::io_context& io, boost::asio::ip::tcp::endpoint endpoint,
           const Router& router, SessionLimits limits);

  /// Starts accepting.
  void run();
  /// Stops accepting (connections already open finish their current request).
  void stop();
  /// The address it listens on (with the port chosen when asked for port 0).
  boost::asio::ip::tcp::endpoint endpoint() const { return acceptor_.local_endpoint(); }

 private:
  void doAccept();
  void onAccept(beast::error_code ec, boost::asio::ip::tcp::socket socket);

  boost::asio::io_context& io_;
  boost::asio::ip::tcp::acceptor acceptor_;
  const Router& router_;
  SessionLimits limits_;
};

}  // namespace lightflus::server
