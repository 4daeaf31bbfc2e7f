#include "redis_connection.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>

#include <fmt/format.h>

#include "lightflus/error.hpp"

namespace lightflus::detail {

namespace {

using Clock = std::chrono::steady_clock;

std::string sslError() {
  unsigned long code = ERR_get_error();
  if (code == 0) return errno ? std::strerror(errno) : "the connection was closed";
  char text[256];
  ERR_error_string_n(code, text, sizeof text);
  ERR_clear_error();
  return text;
}

/// Blocks SIGPIPE on this thread while OpenSSL writes to the socket (it uses write(), which
/// raises SIGPIPE on a closed connection and would end the process), and consumes a SIGPIPE
/// the write raised.
class SigpipeBlock {
 public:
  SigpipeBlock() {
    sigset_t pipe;
    sigemptyset(&pipe);
    sigaddset(&pipe, SIGPIPE);
    sigset_t pending;
    sigpending(&pending);
    was_pending_ = sigismember(&pending, SIGPIPE) == 1;
    pthread_sigmask(SIG_BLOCK, &pipe, &old_);
  }
  ~SigpipeBlock() {
    if (!was_pending_) {
      sigset_t pipe;
      sigemptyset(&pipe);
      sigaddset(&pipe, SIGPIPE);
      timespec zero{0, 0};
      while (sigtimedwait(&pipe, nullptr, &zero) > 0) {
      }
    }
    pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }

 private:
  sigset_t old_;
  bool was_pending_ = false;
};

}  // namespace

RedisTls::RedisTls(const std::string& ca_file, bool verify) : verify_(verify) {
  ctx_ = SSL_CTX_new(TLS_client_method());
  if (!ctx_) throw ConnectorError("Redis sink: cannot create a TLS context: " + sslError());
  SSL_CTX_set_min_proto_version(ctx_, TLS1_2_VERSION);
  if (verify) {
    int ok = ca_file.empty() ? SSL_CTX_set_default_verify_paths(ctx_)
                             : SSL_CTX_load_verify_locations(ctx_, ca_file.c_str(), nullptr);
    if (ok != 1) {
      std::string error = sslError();
      SSL_CTX_free(ctx_);
      OPENSSL_thread_stop();
      throw ConfigError(fmt::format("Redis sink: cannot load the TLS CA certificates {}: {}",
                                    ca_file.empty() ? "of the system" : "'" + ca_file + "'",
                                    error));
    }
    SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER, nullptr);
  } else {
    SSL_CTX_set_verify(ctx_, SSL_VERIFY_NONE, nullptr);
  }
}

RedisTls::~RedisTls() {
  SSL_CTX_free(ctx_);
  // Frees OpenSSL's state of this thread (error queue, random generator), which it would
  // otherwise keep until the worker thread ends; OpenSSL makes it again if it is used again.
  OPENSSL_thread_stop();
}

RedisConnection::RedisConnection(const std::string& host, int port, const RedisTls* tls,
                                 Duration connect_timeout, Duration io_timeout)
    : io_timeout_(io_timeout) {
  const Deadline deadline = Clock::now() + connect_timeout;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  std::string service = std::to_string(port);
  if (int rc = getaddrinfo(host.c_str(), service.c_str(), &hints, &found); rc != 0)
    throw RedisIoError(fmt::format("cannot resolve '{}': {}", host, gai_strerror(rc)));
  std::unique_ptr<addrinfo, void (*)(addrinfo*)> addresses(found, freeaddrinfo);
  std::string error = "no address";
  for (addrinfo* a = found; a && fd_ < 0; a = a->ai_next) {
    int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) continue;
    fd_ = fd;
    try {
      if (::connect(fd, a->ai_addr, a->ai_addrlen) != 0) {
        if (errno != EINPROGRESS) throw RedisIoError(std::strerror(errno));
        waitFor(POLLOUT, deadline, "connecting");
        int so_error = 0;
        socklen_t len = sizeof so_error;
        ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_error, &len);
        if (so_error != 0) throw RedisIoError(std::strerror(so_error));
      }
    } catch (const RedisIoError& e) {
      error = e.what();  // try the next address (IPv4 and IPv6 of "localhost")
      ::close(fd);
      fd_ = -1;
    }
  }
  if (fd_ < 0) throw RedisIoError(error);
  int one = 1;
  ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  ::setsockopt(fd_, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
  reader_ = redisReaderCreate();
  if (!reader_) {
    ::close(fd_);
    throw RedisIoError("out of memory");
  }
  if (!tls) return;
  try {
    ssl_ = SSL_new(tls->context());
    if (!ssl_) throw RedisIoError("cannot create a TLS session: " + sslError());
    SSL_set_fd(ssl_, fd_);
    in6_addr ip;
    bool is_ip =
        inet_pton(AF_INET, host.c_str(), &ip) == 1 || inet_pton(AF_INET6, host.c_str(), &ip) == 1;
    if (!is_ip) SSL_set_tlsext_host_name(ssl_, host.c_str());
    if (tls->verify()) {
      X509_VERIFY_PARAM* param = SSL_get0_param(ssl_);
      if (is_ip)
        X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str());
      else
        X509_VERIFY_PARAM_set1_host(param, host.c_str(), 0);
    }
    for (;;) {
      ERR_clear_error();
      int rc = SSL_connect(ssl_);
      if (rc == 1) break;
      int reason = SSL_get_error(ssl_, rc);
      if (reason == SSL_ERROR_WANT_READ)
        waitFor(POLLIN, deadline, "the TLS handshake");
      else if (reason == SSL_ERROR_WANT_WRITE)
        waitFor(POLLOUT, deadline, "the TLS handshake");
      else if (long verify = SSL_get_verify_result(ssl_); verify != X509_V_OK)
        throw RedisIoError(std::string("TLS handshake failed: the server's certificate: ") +
                           X509_verify_cert_error_string(verify));
      else
        throw RedisIoError("TLS handshake failed: " + sslError());
    }
  } catch (...) {
    if (ssl_) SSL_free(ssl_);
    redisReaderFree(reader_);
    ::close(fd_);
    throw;
  }
}

RedisConnection::~RedisConnection() {
  if (ssl_) SSL_free(ssl_);  // no close_notify: the server does not need it
  if (reader_) redisReaderFree(reader_);
  if (fd_ >= 0) ::close(fd_);
}

void RedisConnection::waitFor(short events, Deadline deadline, const char* what) {
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) throw RedisIoError(fmt::format("timed out {}", what));
    pollfd p{fd_, events, 0};
    int rc = ::poll(&p, 1, static_cast<int>(left.count()));
    if (rc > 0) return;  // ready, or an error the next call reports
    if (rc < 0 && errno != EINTR) throw RedisIoError(std::strerror(errno));
  }
}

void RedisConnection::send(std::string_view bytes) {
  const Deadline deadline = Clock::now() + io_timeout_;
  while (!bytes.empty()) {
    if (ssl_) {
      SigpipeBlock no_sigpipe;
      ERR_clear_error();
      int n = SSL_write(ssl_, bytes.data(),
                        static_cast<int>(std::min<std::size_t>(bytes.size(), 1 << 30)));
      if (n > 0) {
        bytes.remove_prefix(static_cast<std::size_t>(n));
        continue;
      }
      int reason = SSL_get_error(ssl_, n);
      if (reason == SSL_ERROR_WANT_WRITE)
        waitFor(POLLOUT, deadline, "writing");
      else if (reason == SSL_ERROR_WANT_READ)
        waitFor(POLLIN, deadline, "writing");
      else
        throw RedisIoError("writing failed: " + sslError());
    } else {
      ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n > 0) {
        bytes.remove_prefix(static_cast<std::size_t>(n));
      } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        waitFor(POLLOUT, deadline, "writing");
      } else if (n < 0 && errno != EINTR) {
        throw RedisIoError(std::string("writing failed: ") + std::strerror(errno));
      }
    }
  }
}

std::size_t RedisConnection::readSome(char* buffer, std::size_t size, Deadline deadline) {
  for (;;) {
    if (ssl_) {
      ERR_clear_error();
      int n = SSL_read(ssl_, buffer, static_cast<int>(size));
      if (n > 0) return static_cast<std::size_t>(n);
      int reason = SSL_get_error(ssl_, n);
      if (reason == SSL_ERROR_WANT_READ)
        waitFor(POLLIN, deadline, "waiting for a reply");
      else if (reason == SSL_ERROR_WANT_WRITE)
        waitFor(POLLOUT, deadline, "waiting for a reply");
      else if (reason == SSL_ERROR_ZERO_RETURN)
        throw RedisIoError("the server closed the connection");
      else
        throw RedisIoError("reading failed: " + sslError());
    } else {
      ssize_t n = ::recv(fd_, buffer, size, 0);
      if (n > 0) return static_cast<std::size_t>(n);
      if (n == 0) throw RedisIoError("the server closed the connection");
      if (errno == EAGAIN || errno == EWOULDBLOCK)
        waitFor(POLLIN, deadline, "waiting for a reply");
      else if (errno != EINTR)
        throw RedisIoError(std::string("reading failed: ") + std::strerror(errno));
    }
  }
}

RedisReply RedisConnection::readReply() {
  const Deadline deadline = Clock::now() + io_timeout_;
  for (;;) {
    void* reply = nullptr;
    if (redisReaderGetReply(reader_, &reply) != REDIS_OK)
      throw RedisIoError(std::string("malformed reply: ") + reader_->errstr);
    if (reply) return RedisReply(static_cast<redisReply*>(reply));
    char buffer[16 * 1024];
    std::size_t n = readSome(buffer, sizeof buffer, deadline);
    if (redisReaderFeed(reader_, buffer, n) != REDIS_OK)
      throw RedisIoError(std::string("malformed reply: ") + reader_->errstr);
  }
}

}  // namespace lightflus::detail
