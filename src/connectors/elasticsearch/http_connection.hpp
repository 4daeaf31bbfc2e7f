// HttpConnection: one keep-alive HTTP/1.1 or HTTPS connection to a server, for request/response
// exchanges with a deadline (Boost.Beast over Asio; OpenSSL for HTTPS). Internal to
// lightflus::elasticsearch.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace lightflus::detail {

/// Where a server is: parsed from "http://host:port/prefix", "https://host", "host:port", "host".
struct HttpEndpoint {
  bool tls = false;
  std::string host;
  std::string port;
  std::string path_prefix;  ///< "" or "/prefix" (no trailing slash)

  /// Throws ConfigError naming `url` when it cannot be parsed.
  static HttpEndpoint parse(const std::string& url, const std::string& default_port);
  /// "http://host:port/prefix".
  std::string url() const;
};

/// What a request got back.
struct HttpResponse {
  int status = 0;
  std::string body;
};

/// The network failed (resolve, connect, TLS, send, receive, timeout); the message says which.
struct HttpTransportError {
  std::string message;
};

class HttpConnection {
 public:
  struct TlsOptions {
    bool verify = true;
    std::string ca_file;
  };
  HttpConnection(HttpEndpoint endpoint, TlsOptions tls);
  ~HttpConnection();
  HttpConnection(const HttpConnection&) = delete;
  HttpConnection& operator=(const HttpConnection&) = delete;

  /// Sends a POST and reads the response before `timeout` passes. Returns false (and fills
  /// `error`) on a transport failure; the connection is then closed and the next call reconnects.
  bool post(const std::string& target, const std::string& content_type, const std::string& body,
            const std::vector<std::pair<std::string, std::string>>& headers,
            std::chrono::milliseconds timeout, HttpResponse& response, HttpTransportError& error);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace lightflus::detail
