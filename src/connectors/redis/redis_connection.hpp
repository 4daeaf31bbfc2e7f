// RedisConnection: one connection to a Redis server, a TCP socket (TLS with OpenSSL when asked)
// under hiredis's RESP parser (redisReader). Internal to lightflus::redis.
//
// hiredis 0.14 (Debian 12) has no TLS, so the sink owns the socket and uses hiredis only for
// the protocol's replies (redisReader); RedisWriter formats the commands (RESP) itself.
// Every operation has a deadline; a failure throws RedisIoError (the connection is then
// unusable), which the writer treats as a lost connection.
#pragma once

#include <hiredis/hiredis.h>

#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

#include "lightflus/time.hpp"

typedef struct ssl_ctx_st SSL_CTX;
typedef struct ssl_st SSL;

namespace lightflus::detail {

/// The connection failed or timed out; what() says why.
class RedisIoError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct ReplyDeleter {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using RedisReply = std::unique_ptr<redisReply, ReplyDeleter>;

/// The TLS settings shared by the connections of one sink subtask (an OpenSSL SSL_CTX).
class RedisTls {
 public:
  /// Verifies the server against `ca_file` (PEM), or the system's CAs when it is empty.
  /// Throws ConfigError when the CA file cannot be read.
  RedisTls(const std::string& ca_file, bool verify);
  ~RedisTls();
  RedisTls(const RedisTls&) = delete;
  RedisTls& operator=(const RedisTls&) = delete;
  SSL_CTX* context() const { return ctx_; }
  bool verify() const { return verify_; }

 private:
  SSL_CTX* ctx_ = nullptr;
  bool verify_ = true;
};

class RedisConnection {
 public:
  /// Connects to host:port (and does the TLS handshake when `tls` is set) within
  /// `connect_timeout`; later reads and writes each get `io_timeout`.
  RedisConnection(const std::string& host, int port, const RedisTls* tls, Duration connect_timeout,
                  Duration io_timeout);
  ~RedisConnection();
  RedisConnection(const RedisConnection&) = delete;
  RedisConnection& operator=(const RedisConnection&) = delete;

  /// Writes all of `bytes` (formatted commands).
  void send(std::string_view bytes);
  /// Reads the next reply.
  RedisReply readReply();

 private:
  using Deadline = std::chrono::steady_clock::time_point;
  void waitFor(short events, Deadline deadline, const char* what);
  std::size_t readSome(char* buffer, std::size_t size, Deadline deadline);

  int fd_ = -1;
  SSL* ssl_ = nullptr;
  redisReader* reader_ = nullptr;
  Duration io_timeout_;
};

}  // namespace lightflus::detail
