// The redis-server harness of the Redis tests.
#include "redis_server.hpp"

#include <arpa/inet.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "free_port.hpp"

namespace lightflus::test {

namespace {

struct ContextDeleter {
  void operator()(redisContext* c) const { redisFree(c); }
};
struct ReplyDeleter {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};

std::string render(const redisReply* r) {
  switch (r->type) {
    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS:
      return std::string(r->str, r->len);
    case REDIS_REPLY_INTEGER:
      return std::to_string(r->integer);
    case REDIS_REPLY_NIL:
      return "(nil)";
    case REDIS_REPLY_ERROR:
      return "(error) " + std::string(r->str, r->len);
    case REDIS_REPLY_ARRAY: {
      std::string out;
      for (std::size_t i = 0; i < r->elements; ++i) out += (i ? "\n" : "") + render(r->element[i]);
      return out;
    }
  }
  return "?";
}

}  // namespace

RedisServer::RedisServer(Options options) : options_(std::move(options)) {
  char tmpl[] = "/tmp/lightflus-redis-XXXXXX";
  if (!::mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
  dir_ = tmpl;
  if (options_.tls) makeCertificates();
  // A port taken between freeLoopbackPort() and the server's bind: try another.
  for (int attempt = 0;; ++attempt) {
    port_ = freeLoopbackPort();
    tls_port_ = 0;
    while (options_.tls && (tls_port_ == 0 || tls_port_ == port_)) tls_port_ = freeLoopbackPort();
    try {
      start();
      return;
    } catch (const std::exception&) {
      kill();
      if (attempt == 2) {
        std::filesystem::remove_all(dir_);
        throw;
      }
    }
  }
}

RedisServer::~RedisServer() {
  kill();
  std::error_code ignored;  // a failed removal must not throw from a destructor
  std::filesystem::remove_all(dir_, ignored);
}

std::string RedisServer::address() const {
  return "127.0.0.1:" + std::to_string(port_);
}

void RedisServer::start() {
  {
    std::ofstream conf(dir_ + "/redis.conf");
    conf << "port " << port_ << "\nbind 127.0.0.1\ndir " << dir_ << "\nlogfile " << dir_
         << "/redis.log\ndaemonize no\nprotected-mode no\nsave \"\"\n";
    if (options_.durable)
      conf << "appendonly yes\nappendfsync always\n";
    else
      conf << "appendonly no\n";
    if (!options_.password.empty()) conf << "requirepass " << options_.password << "\n";
    if (options_.tls)
      conf << "tls-port " << tls_port_ << "\ntls-cert-file " << dir_ << "/server.crt\n"
           << "tls-key-file " << dir_ << "/server.key\ntls-ca-cert-file " << dir_ << "/ca.crt\n"
           << "tls-auth-clients no\n";
    for (const auto& line : options_.config) conf << line << "\n";
  }
  pid_ = ::fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    std::string conf = dir_ + "/redis.conf";
    ::execlp("redis-server", "redis-server", conf.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  waitReady();
}

void RedisServer::makeCertificates() {
  // EC keys: quick to make. The server certificate names localhost and 127.0.0.1.
  std::string d = dir_;
  std::string script = "set -e; cd '" + d +
                       "'; "
                       "printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\\n' > san.ext; "
                       "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
                       "-keyout ca.key -out ca.crt -days 2 -subj /CN=lightflus-test-ca; "
                       "openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
                       "-keyout server.key -out server.csr -subj /CN=localhost; "
                       "openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial "
                       "-out server.crt -days 2 -extfile san.ext";
  std::string command = "bash -c \"" + script + "\" > '" + d + "/openssl.log' 2>&1";
  if (std::system(command.c_str()) != 0) {
    std::ifstream log(d + "/openssl.log");
    std::stringstream text;
    text << log.rdbuf();
    std::filesystem::remove_all(dir_);
    throw std::runtime_error("making the test's TLS certificates failed: " + text.str());
  }
}

void RedisServer::kill() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  int status;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
}

void RedisServer::waitReady() {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < deadline) {
    int status;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      break;
    }
    std::string pong;
    try {
      pong = query({"PING"});
    } catch (const std::exception&) {
    }
    if (pong == "PONG") return;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  std::ifstream log(dir_ + "/redis.log");
  std::stringstream text;
  text << log.rdbuf();
  throw std::runtime_error("redis-server did not start on port " + std::to_string(port_) + ": " +
                           text.str());
}

std::string RedisServer::query(const std::vector<std::string>& argv, int database) const {
  timeval tv{5, 0};
  std::unique_ptr<redisContext, ContextDeleter> c(redisConnectWithTimeout("127.0.0.1", port_, tv));
  if (!c || c->err)
    throw std::runtime_error("cannot connect to redis-server on port " + std::to_string(port_));
  auto run = [&](const std::vector<std::string>& args) {
    std::vector<const char*> a;
    std::vector<std::size_t> l;
    for (const auto& x : args) {
      a.push_back(x.data());
      l.push_back(x.size());
    }
    std::unique_ptr<redisReply, ReplyDeleter> r(static_cast<redisReply*>(
        redisCommandArgv(c.get(), static_cast<int>(a.size()), a.data(), l.data())));
    if (!r) throw std::runtime_error(std::string("redis query failed: ") + c->errstr);
    return render(r.get());
  };
  if (!options_.password.empty()) run({"AUTH", options_.password});
  if (database != 0) run({"SELECT", std::to_string(database)});
  return run(argv);
}

}  // namespace lightflus::test
