#include "serve_command.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/signal_set.hpp>
#include <charconv>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "auth.hpp"
#include "job_registry.hpp"
#include "lightflus/error.hpp"
#include "listener.hpp"
#include "routes.hpp"

namespace lightflus::server {

namespace asio = boost::asio;

namespace {

template <class T>
T parseNumber(std::string_view flag, std::string_view text, T min, T max) {
  T value{};
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || value < min || value > max)
    throw ConfigError(
        fmt::format("{} expects a number from {} to {}, got '{}'", flag, min, max, text));
  return value;
}

}  // namespace

const char* serveUsage() noexcept {
  return "usage: lightflusd serve [--bind ADDRESS] [--port N] [--data-dir DIR] [--token T]\n"
         "                        [--max-body-bytes N] [--max-jobs N] [--threads N]\n"
         "                        [--heap-limit MiB] [--time-limit SECONDS]\n"
         "                        [--on-error fail|dead-letter]\n"
         "                        [--checkpoint-interval DURATION] [--keep-checkpoints N]\n"
         "                        [--max-restarts N] [--job-workers N] [--job-nice N]\n"
         "                        [--allow-path DIR ...]\n"
         "  defaults: --bind 127.0.0.1 --port 8080 --data-dir ./lightflus-data\n"
         "  --max-body-bytes 10485760 --max-jobs 100 --max-restarts 3 --job-workers 2\n"
         "  --job-nice 5; checkpoints every 5 s (or the job's own interval); file connectors\n"
         "  only under the data dir unless --allow-path; the token also from LIGHTFLUS_TOKEN.\n";
}

ServeOptions parseServeOptions(std::span<char* const> args) {
  ServeOptions options;
  if (const char* token = std::getenv("LIGHTFLUS_TOKEN")) options.token = token;
  std::vector<char*> job_flags;
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string_view arg = args[i];
    auto value = [&]() -> std::string_view {
      if (i + 1 >= args.size()) throw ConfigError(fmt::format("{} expects a value", arg));
      return args[++i];
    };
    if (arg == "--bind") {
      options.bind = value();
    } else if (arg == "--port") {
      options.port = parseNumber<unsigned short>(arg, value(), 0, 65535);
    } else if (arg == "--data-dir") {
      options.data_dir = value();
    } else if (arg == "--token") {
      options.token = value();
    } else if (arg == "--max-body-bytes") {
      options.max_body_bytes = parseNumber<std::uint64_t>(arg, value(), 1, std::uint64_t{1} << 32);
    } else if (arg == "--max-jobs") {
      options.max_jobs = parseNumber<std::size_t>(arg, value(), 1, 100000);
    } else if (arg == "--threads") {
      options.threads = parseNumber<int>(arg, value(), 1, 256);
    } else if (arg == "--max-restarts") {
      options.supervision.max_restarts = parseNumber<int>(arg, value(), 0, 100);
    } else if (arg == "--job-workers") {
      options.supervision.limits.workers = parseNumber<int>(arg, value(), 1, 256);
    } else if (arg == "--job-nice") {
      options.supervision.limits.nice = parseNumber<int>(arg, value(), 0, 19);
    } else if (arg == "--allow-path") {
      std::string_view dir = value();
      if (dir.empty()) throw ConfigError("--allow-path expects a directory");
      options.supervision.allow_paths.emplace_back(dir);
    } else if (arg == "--heap-limit" || arg == "--time-limit" || arg == "--on-error" ||
               arg == "--keep-checkpoints" || arg == "--checkpoint-interval") {
      job_flags.push_back(args[i]);
      value();
      job_flags.push_back(args[i]);
    } else {
      throw ConfigError(fmt::format("unknown option '{}'", arg));
    }
  }
  // The job flags are those of `run`: parse them the same way (with a placeholder job path).
  static char placeholder[] = "-";
  job_flags.push_back(placeholder);
  options.job_defaults = parseRunOptions(job_flags);
  options.job_defaults.job_path.clear();

  boost::system::error_code ec;
  asio::ip::address address = asio::ip::make_address(options.bind, ec);
  if (ec) throw ConfigError(fmt::format("--bind expects an IP address, got '{}'", options.bind));
  if (!address.is_loopback() && options.token.empty())
    throw ConfigError(
        fmt::format("refusing to listen on {} (not loopback) without a token: pass --token or set "
                    "LIGHTFLUS_TOKEN",
                    options.bind));
  return options;
}

int serve(const ServeOptions& options) {
  JobRegistry registry(options.data_dir, options.max_jobs, options.job_defaults,
                       options.supervision);
  std::size_t resumed = registry.restore();
  Router router(registry, BearerAuth(options.token));

  asio::io_context io(options.threads);
  SessionLimits limits;
  limits.max_body_bytes = options.max_body_bytes;
  auto listener = std::make_shared<Listener>(
      io, asio::ip::tcp::endpoint(asio::ip::make_address(options.bind), options.port), router,
      limits);
  listener->run();
  auto endpoint = listener->endpoint();
  std::fprintf(stderr, "lightflusd: listening on http://%s:%u (data dir %s, %zu jobs resumed)\n",
               endpoint.address().to_string().c_str(), static_cast<unsigned>(endpoint.port()),
               options.data_dir.c_str(), resumed);
  std::fprintf(stderr, "lightflusd: web console at http://%s:%u/\n",
               endpoint.address().to_string().c_str(), static_cast<unsigned>(endpoint.port()));
  std::fflush(stderr);

  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& ec, int signal) {
    if (ec) return;
    std::fprintf(stderr,
                 "lightflusd: %s: stopping (jobs resume from their checkpoints on the next "
                 "start)\n",
                 signal == SIGINT ? "SIGINT" : "SIGTERM");
    listener->stop();
    registry.shutdown();
    io.stop();
  });

  std::vector<std::jthread> threads;
  for (int i = 1; i < options.threads; ++i) threads.emplace_back([&io] { io.run(); });
  io.run();
  for (auto& thread : threads) thread.join();
  registry.shutdown();
  return 0;
}

}  // namespace lightflus::server
