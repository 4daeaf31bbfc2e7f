#include "http_connection.hpp"

#include <openssl/crypto.h>
#include <algorithm>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <cctype>

#include "lightflus/error.hpp"

namespace lightflus::detail {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

HttpEndpoint HttpEndpoint::parse(const std::string& url, const std::string& default_port) {
  HttpEndpoint e;
  std::string rest = url;
  std::string port = default_port;
  if (rest.rfind("http://", 0) == 0) {
    rest = rest.substr(7);
    port = "80";
  } else if (rest.rfind("https://", 0) == 0) {
    rest = rest.substr(8);
    e.tls = true;
    port = "443";
  } else if (rest.find("://") != std::string::npos) {
    throw ConfigError("'" + url + "': only http:// and https:// URLs are supported");
  }
  std::size_t slash = rest.find('/');
  std::string host_port = rest.substr(0, slash);
  if (slash != std::string::npos) e.path_prefix = rest.substr(slash);
  while (!e.path_prefix.empty() && e.path_prefix.back() == '/') e.path_prefix.pop_back();
  if (!host_port.empty() && host_port.front() == '[') {  // [::1]:9200
    std::size_t close = host_port.find(']');
    if (close == std::string::npos) throw ConfigError("'" + url + "': unterminated IPv6 address");
    e.host = host_port.substr(1, close - 1);
    if (close + 1 < host_port.size()) {
      if (host_port[close + 1] != ':') throw ConfigError("'" + url + "': expected ':' after ']'");
      port = host_port.substr(close + 2);
    }
  } else if (std::size_t colon = host_port.rfind(':'); colon != std::string::npos) {
    e.host = host_port.substr(0, colon);
    port = host_port.substr(colon + 1);
  } else {
    e.host = host_port;
  }
  if (e.host.empty()) throw ConfigError("'" + url + "' names no host");
  if (port.empty() || port.size() > 5 ||
      !std::all_of(port.begin(), port.end(), [](unsigned char c) { return std::isdigit(c); }) ||
      std::stoi(port) == 0 || std::stoi(port) > 65535)
    throw ConfigError("'" + url + "': the port must be a number from 1 to 65535");
  e.port = port;
  return e;
}

std::string HttpEndpoint::url() const {
  bool v6 = host.find(':') != std::string::npos;
  return std::string(tls ? "https://" : "http://") + (v6 ? "[" + host + "]" : host) + ":" + port +
         path_prefix;
}

struct HttpConnection::State {
  HttpEndpoint endpoint;
  TlsOptions tls_options;
  asio::io_context ioc;
  std::unique_ptr<ssl::context> ssl_context;  // HTTPS only: plain HTTP never touches OpenSSL
  // Declared after ioc: destroyed before it.
  std::unique_ptr<beast::tcp_stream> plain;
  std::unique_ptr<beast::ssl_stream<beast::tcp_stream>> tls;
  beast::flat_buffer buffer;

  bool connected() const { return plain || tls; }
  beast::tcp_stream& lowest() { return tls ? beast::get_lowest_layer(*tls) : *plain; }

  // Runs the io_context until the operation just started has completed (or timed out: a
  // tcp_stream past its expiry closes its socket and the operation ends with error::timeout).
  void run() {
    ioc.restart();
    ioc.run();
  }

  void close() {
    if (connected()) {
      beast::error_code ignored;
      lowest().socket().shutdown(tcp::socket::shutdown_both, ignored);
      lowest().close();
    }
    tls.reset();
    plain.reset();
    buffer.clear();
  }

  bool connect(std::chrono::steady_clock::time_point deadline, HttpTransportError& error) {
    beast::error_code ec;
    tcp::resolver resolver(ioc);
    auto results = resolver.resolve(endpoint.host, endpoint.port, ec);
    if (ec) {
      error.message = "cannot resolve '" + endpoint.host + "': " + ec.message();
      return false;
    }
    if (endpoint.tls)
      tls = std::make_unique<beast::ssl_stream<beast::tcp_stream>>(ioc, *ssl_context);
    else
      plain = std::make_unique<beast::tcp_stream>(ioc);
    lowest().expires_at(deadline);
    lowest().async_connect(results, [&](beast::error_code e, const tcp::endpoint&) { ec = e; });
    run();
    if (ec) {
      error.message = "cannot connect to " + endpoint.url() + ": " + ec.message();
      close();
      return false;
    }
    if (endpoint.tls) {
      if (!SSL_set_tlsext_host_name(tls->native_handle(), endpoint.host.c_str())) {
        error.message = "cannot set the TLS server name '" + endpoint.host + "'";
        close();
        return false;
      }
      if (tls_options.verify) tls->set_verify_callback(ssl::host_name_verification(endpoint.host));
      tls->async_handshake(ssl::stream_base::client, [&](beast::error_code e) { ec = e; });
      run();
      if (ec) {
        error.message = "TLS handshake with " + endpoint.url() + " failed: " + ec.message();
        close();
        return false;
      }
    }
    return true;
  }
};

HttpConnection::HttpConnection(HttpEndpoint endpoint, TlsOptions tls)
    : state_(std::make_unique<State>()) {
  state_->endpoint = std::move(endpoint);
  state_->tls_options = std::move(tls);
  if (state_->endpoint.tls) {
    state_->ssl_context = std::make_unique<ssl::context>(ssl::context::tls_client);
    auto& context = *state_->ssl_context;
    try {
      if (!state_->tls_options.ca_file.empty())
        context.load_verify_file(state_->tls_options.ca_file);
      else
        context.set_default_verify_paths();
    } catch (const boost::system::system_error& e) {
      throw ConfigError("cannot load the CA certificates '" + state_->tls_options.ca_file +
                        "': " + e.what());
    }
    context.set_verify_mode(state_->tls_options.verify ? ssl::verify_peer : ssl::verify_none);
  }
}

HttpConnection::~HttpConnection() {
  state_->close();
  // OpenSSL keeps per-thread state (error queue, random generators) for each thread that used
  // it; free this thread's now rather than leave it to the thread's end.
  if (state_->ssl_context) OPENSSL_thread_stop();
}

bool HttpConnection::post(const std::string& target, const std::string& content_type,
                          const std::string& body,
                          const std::vector<std::pair<std::string, std::string>>& headers,
                          std::chrono::milliseconds timeout, HttpResponse& response,
                          HttpTransportError& error) {
  auto& s = *state_;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  bool reused = s.connected();
  while (true) {
    if (!s.connected() && !s.connect(deadline, error)) return false;
    http::request<http::string_body> request{http::verb::post, target, 11};
    request.set(http::field::host, s.endpoint.host + ":" + s.endpoint.port);
    request.set(http::field::user_agent, "lightflus");
    request.set(http::field::content_type, content_type);
    for (const auto& [name, value] : headers) request.set(name, value);
    request.keep_alive(true);
    request.body() = body;
    request.prepare_payload();

    beast::error_code ec;
    http::response_parser<http::string_body> parser;
    parser.body_limit(std::uint64_t{1} << 30);
    s.lowest().expires_at(deadline);
    auto exchange = [&](auto& stream) {
      http::async_write(stream, request, [&](beast::error_code e, std::size_t) { ec = e; });
      s.run();
      if (ec) return;
      http::async_read(stream, s.buffer, parser, [&](beast::error_code e, std::size_t) { ec = e; });
      s.run();
    };
    if (s.tls)
      exchange(*s.tls);
    else
      exchange(*s.plain);
    if (ec) {
      s.close();
      // A kept-alive connection the server closed while idle: try once on a new one.
      if (reused && ec != beast::error::timeout) {
        reused = false;
        continue;
      }
      error.message =
          (ec == beast::error::timeout ? "no response from " : "request to ") + s.endpoint.url() +
          target +
          (ec == beast::error::timeout ? " within " + std::to_string(timeout.count()) + " ms"
                                       : " failed: " + ec.message());
      return false;
    }
    auto message = parser.release();
    response.status = static_cast<int>(message.result_int());
    response.body = std::move(message.body());
    if (!message.keep_alive()) s.close();
    return true;
  }
}

}  // namespace lightflus::detail
