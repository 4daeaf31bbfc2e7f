// A real redis-server for tests, and a plain hiredis client to check what a job wrote.
//
// RedisServer starts `redis-server` (Debian's package) on a free loopback port in a temp dir,
// without persistence unless asked (durable: an append-only file fsynced on every write, so
// that what the server acknowledged survives kill()). It can be killed (SIGKILL) and started
// again on the same port and dir. The destructor kills it and removes the dir; the server
// also dies with the test process (PR_SET_PDEATHSIG). With Options::tls it also listens with
// TLS, with certificates the harness makes with the openssl command.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace lightflus::test {

class RedisServer {
 public:
  struct Options {
    /// requirepass (the default user's password); empty: none.
    std::string password;
    /// Extra redis.conf lines, e.g. "user app on >secret ~* &* +@all".
    std::vector<std::string> config;
    /// appendonly yes + appendfsync always: acknowledged writes survive kill().
    bool durable = false;
    /// Also listen with TLS on tlsPort(), with a certificate for localhost and 127.0.0.1
    /// signed by a CA made for the test (caFile()); clients need no certificate.
    bool tls = false;
  };

  /// Starts the server; throws std::runtime_error (with its log) if it does not answer.
  explicit RedisServer(Options options);
  RedisServer() : RedisServer(Options{}) {}
  ~RedisServer();
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  int port() const { return port_; }
  /// The TLS port (Options::tls) and the PEM file of the CA that signed its certificate.
  int tlsPort() const { return tls_port_; }
  std::string caFile() const { return dir_ + "/ca.crt"; }
  /// "127.0.0.1:<port>".
  std::string address() const;
  /// Kills the server at once (SIGKILL) and waits for it.
  void kill();
  /// Starts it again on the same port and dir (after kill()).
  void start();

  /// Runs one command on a new connection (AUTH with the password first) and renders the
  /// reply: strings as they are, integers in decimal, nil as "(nil)", errors as
  /// "(error) ...", arrays as their elements joined by '\n'.
  std::string query(const std::vector<std::string>& argv, int database = 0) const;

 private:
  void waitReady();
  Options options_;
  std::string dir_;
  void makeCertificates();
  int port_ = 0;
  int tls_port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace lightflus::test
