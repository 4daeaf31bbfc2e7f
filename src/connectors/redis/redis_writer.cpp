// RedisWriter: the connection behind RedisSink (RedisConnection: a socket, TLS optional, under
// hiredis's RESP formatter and parser).
//
// Commands are formatted once (RESP) into one buffer, `pending`, and stay there until their
// reply arrives, so that after a lost connection exactly the commands not yet acknowledged
// are sent again (at-least-once). Nothing is allocated per command once the buffer has grown.
// flush() writes every pending command and then reads the replies in order: one round trip for the
// whole pipeline. An error reply fails the job with the command and key, except the transient ones
// a restarting server gives (LOADING, BUSY, TRYAGAIN, MASTERDOWN), which count as a lost
// connection.
#include <fmt/format.h>
#include <hiredis/hiredis.h>

#include <chrono>
#include <optional>
#include <thread>

#include "lightflus/connectors/redis.hpp"
#include "lightflus/error.hpp"
#include "redis_connection.hpp"

namespace lightflus::detail {

namespace {

using Clock = std::chrono::steady_clock;

std::string shortened(std::string_view s) {
  if (s.size() <= 80) return std::string(s);
  return std::string(s.substr(0, 77)) + "...";
}

/// Appends a command in RESP: *<argc> then $<len> <bytes> per argument.
void appendArgument(std::string& out, std::string_view arg) {
  fmt::format_to(std::back_inserter(out), "${}\r\n", arg.size());
  out.append(arg);
  out.append("\r\n");
}

std::string format(const std::vector<std::string>& args) {
  std::string out = fmt::format("*{}\r\n", args.size());
  for (const auto& a : args) appendArgument(out, a);
  return out;
}

/// "SET on key 'k'": the first two arguments of a formatted command, for error messages.
std::string describe(std::string_view resp) {
  std::string parts[2];
  std::size_t at = resp.find('\n') + 1;
  for (auto& part : parts) {
    if (at == 0 || at >= resp.size() || resp[at] != '$') break;
    std::size_t eol = resp.find("\r\n", at);
    std::size_t len = std::stoul(std::string(resp.substr(at + 1, eol - at - 1)));
    part = std::string(resp.substr(eol + 2, len));
    at = eol + 2 + len + 2;
  }
  return fmt::format("{} on key '{}'", parts[0], shortened(parts[1]));
}

/// "host" or "host:port" (a bracketed IPv6 address keeps its colons).
void splitHost(const std::string& spec, int default_port, std::string& host, int& port) {
  host = spec;
  port = default_port;
  auto colon = spec.rfind(':');
  if (colon == std::string::npos || colon == 0) return;
  if (spec.find(':') != colon && spec.front() != '[') return;  // bare IPv6 address
  std::string digits = spec.substr(colon + 1);
  if (digits.empty() || digits.find_first_not_of("0123456789") != std::string::npos ||
      digits.size() > 5)
    throw ConfigError(fmt::format("Redis sink: the host '{}' has no valid port after ':'", spec));
  host = spec.substr(0, colon);
  port = std::stoi(digits);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
}

bool isTransient(std::string_view error) {
  for (std::string_view prefix : {"LOADING", "BUSY", "TRYAGAIN", "MASTERDOWN"})
    if (error.substr(0, prefix.size()) == prefix) return true;
  return false;
}

}  // namespace

struct RedisWriter::State {
  RedisSinkOptions options;
  std::string host;
  int port = 6379;
  std::string where;  // "Redis sink to host:port", for messages
  std::unique_ptr<RedisTls> tls;
  std::unique_ptr<RedisConnection> connection;
  std::string pending;                    // the RESP of the unacknowledged commands
  std::vector<std::size_t> pending_ends;  // where each of them ends in `pending`
  std::string last_error;

  void queue(std::initializer_list<std::string_view> parts,
             const std::vector<std::pair<std::string, std::string>>* fields = nullptr);
  void acknowledge(std::size_t n);
  void connectWithin(Duration limit, bool reconnecting);
  bool tryConnect();
  bool sendPending();
};

RedisWriter::RedisWriter(RedisSinkOptions options, const SinkContext& ctx)
    : state_(std::make_unique<State>()) {
  auto& s = *state_;
  s.options = std::move(options);
  splitHost(s.options.host, s.options.port, s.host, s.port);
  // The engine prefixes the job, operator and subtask to the errors of a sink.
  (void)ctx;
  s.where = fmt::format("Redis sink to {}:{}", s.host, s.port);
  if (s.host.empty()) throw ConfigError(s.where + ": the sink has no host");
  if (s.port < 1 || s.port > 65535)
    throw ConfigError(fmt::format("{}: the port {} is not in 1..65535", s.where, s.port));
  if (s.options.tls)
    s.tls = std::make_unique<RedisTls>(s.options.tls_ca_file, s.options.tls_verify);
  if (s.options.database < 0)
    throw ConfigError(fmt::format("{}: the database {} is negative", s.where, s.options.database));
  if (s.options.batch_size == 0) s.options.batch_size = 1;
  s.connectWithin(s.options.connect_timeout, false);
}

RedisWriter::~RedisWriter() = default;

bool RedisWriter::State::tryConnect() {
  try {
    connection = std::make_unique<RedisConnection>(host, port, tls.get(), options.connect_timeout,
                                                   options.io_timeout);
  } catch (const RedisIoError& e) {
    last_error = e.what();
    return false;
  }
  // AUTH and SELECT go first on every connection; a refusal is not transient: fail at once.
  auto run = [&](std::vector<std::string> args, const std::string& what) {
    RedisReply reply;
    try {
      connection->send(format(args));
      reply = connection->readReply();
    } catch (const RedisIoError& e) {
      last_error = e.what();
      connection.reset();
      return false;
    }
    if (reply->type == REDIS_REPLY_ERROR) {
      std::string error(reply->str, reply->len);
      if (isTransient(error)) {
        last_error = error;
        connection.reset();
        return false;
      }
      connection.reset();
      throw ConnectorError(fmt::format("{}: {} failed: {}", where, what, error));
    }
    return true;
  };
  if (!options.password.empty()) {
    std::vector<std::string> args{"AUTH"};
    if (!options.username.empty()) args.push_back(options.username);
    args.push_back(options.password);
    if (!run(std::move(args), "AUTH")) return false;
  }
  if (options.database != 0 && !run({"SELECT", std::to_string(options.database)},
                                    fmt::format("SELECT {}", options.database)))
    return false;
  // A server still loading its data refuses writes: find out now, before the pipeline.
  return run({"PING"}, "PING");
}

void RedisWriter::State::connectWithin(Duration limit, bool reconnecting) {
  const auto deadline = Clock::now() + limit;
  auto backoff = std::chrono::milliseconds(50);
  while (!tryConnect()) {
    auto now = Clock::now();
    if (now >= deadline) {
      if (reconnecting)
        throw ConnectorError(fmt::format(
            "{}: lost the connection and could not reconnect within {} ms (last error: {}); {} "
            "command(s) not acknowledged. Check that redis-server runs at {}:{}",
            where, limit.count(), last_error, pending_ends.size(), host, port));
      throw ConnectorError(fmt::format(
          "{}: cannot connect to Redis at {}:{} within {} ms ({}); check the address and that "
          "redis-server runs",
          where, host, port, limit.count(), last_error));
    }
    std::this_thread::sleep_for(std::min<Clock::duration>(backoff, deadline - now));
    backoff = std::min(backoff * 2, std::chrono::milliseconds(1000));
  }
}

void RedisWriter::State::queue(std::initializer_list<std::string_view> parts,
                               const std::vector<std::pair<std::string, std::string>>* fields) {
  std::size_t argc = parts.size() + (fields ? 2 * fields->size() : 0);
  fmt::format_to(std::back_inserter(pending), "*{}\r\n", argc);
  for (auto p : parts) appendArgument(pending, p);
  if (fields)
    for (const auto& [f, v] : *fields) {
      appendArgument(pending, f);
      appendArgument(pending, v);
    }
  pending_ends.push_back(pending.size());
}

void RedisWriter::State::acknowledge(std::size_t n) {
  if (n == 0) return;
  const std::size_t bytes = pending_ends[n - 1];
  pending.erase(0, bytes);
  pending_ends.erase(pending_ends.begin(), pending_ends.begin() + static_cast<std::ptrdiff_t>(n));
  for (auto& end : pending_ends) end -= bytes;
}

void RedisWriter::write(std::string_view key, const std::string* field, std::string_view value,
                        const std::vector<std::pair<std::string, std::string>>* fields) {
  auto& s = *state_;
  const auto& o = s.options;
  std::string ttl = o.ttl.count() > 0 ? std::to_string(o.ttl.count()) : std::string();
  switch (o.command) {
    case RedisCommand::Set:
      if (ttl.empty())
        s.queue({"SET", key, value});
      else
        s.queue({"SET", key, value, "PX", ttl});
      break;
    case RedisCommand::HSet: {
      std::string_view hash = o.hash_key.empty() ? key : std::string_view(o.hash_key);
      if (!o.hash_key.empty())
        s.queue({"HSET", hash, key, value});
      else if (field)
        s.queue({"HSET", hash, *field, value});
      else if (fields && !fields->empty())
        s.queue({"HSET", hash}, fields);
      else
        throw ConfigError(fmt::format(
            "{}: HSET on key '{}' has no field: set a fixed hash key (the key extractor then "
            "gives the field), give a field extractor, or write object values (one field per "
            "member)",
            s.where, shortened(key)));
      if (!ttl.empty()) s.queue({"PEXPIRE", hash, ttl});
      break;
    }
    case RedisCommand::XAdd:
      if (fields && fields->empty())
        throw ConfigError(fmt::format("{}: XADD on key '{}' of an empty object: no fields", s.where,
                                      shortened(key)));
      if (fields)
        s.queue({"XADD", key, "*"}, fields);
      else
        s.queue({"XADD", key, "*", o.stream_field, value});
      if (!ttl.empty()) s.queue({"PEXPIRE", key, ttl});
      break;
  }
  if (s.pending_ends.size() >= o.batch_size) flush();
}

void RedisWriter::remove(std::string_view key, const std::string* field) {
  auto& s = *state_;
  const auto& o = s.options;
  if (o.command == RedisCommand::HSet && !o.hash_key.empty())
    s.queue({"HDEL", o.hash_key, key});
  else if (o.command == RedisCommand::HSet && field)
    s.queue({"HDEL", key, *field});
  else
    s.queue({"DEL", key});
  if (s.pending_ends.size() >= o.batch_size) flush();
}

// Sends the pending commands and reads their replies; acknowledged commands leave `pending`.
// Returns false when the connection was lost (the rest stay pending).
bool RedisWriter::State::sendPending() {
  const std::size_t n = std::min(pending_ends.size(), options.batch_size);
  std::size_t done = 0;
  try {
    connection->send(std::string_view(pending).substr(0, pending_ends[n - 1]));
    for (; done < n; ++done) {
      RedisReply reply = connection->readReply();
      if (reply->type != REDIS_REPLY_ERROR) continue;
      std::string error(reply->str, reply->len);
      if (isTransient(error)) {
        last_error = error;
        acknowledge(done);
        return false;
      }
      std::size_t from = done == 0 ? 0 : pending_ends[done - 1];
      throw ConnectorError(fmt::format(
          "{}: the command {} failed: {}", where,
          describe(std::string_view(pending).substr(from, pending_ends[done] - from)), error));
    }
  } catch (const RedisIoError& e) {
    last_error = e.what();
    acknowledge(done);
    return false;
  }
  acknowledge(n);
  return true;
}

void RedisWriter::flush() {
  auto& s = *state_;
  while (!s.pending_ends.empty()) {
    if (!s.connection) s.connectWithin(s.options.reconnect_timeout, true);
    if (!s.sendPending()) s.connection.reset();  // reconnect and resend what is unacknowledged
  }
}

}  // namespace lightflus::detail
