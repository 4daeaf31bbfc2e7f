#include "dev_kafka_command.hpp"

#include <signal.h>

#include <charconv>
#include <cstdio>

#include <fmt/format.h>

#include "lightflus/error.hpp"

namespace lightflus::server {

namespace {

int parseCount(std::string_view what, std::string_view text) {
  int value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || value < 1)
    throw ConfigError(fmt::format("{} expects a number of at least 1, got '{}'", what, text));
  return value;
}

DevKafkaCluster::Topic parseTopic(std::string_view spec) {
  auto colon = spec.rfind(':');
  std::string_view name = colon == std::string_view::npos ? spec : spec.substr(0, colon);
  if (name.empty())
    throw ConfigError(fmt::format("--topic expects NAME[:PARTITIONS], got '{}'", spec));
  int partitions = colon == std::string_view::npos
                       ? 1
                       : parseCount("the partitions of --topic", spec.substr(colon + 1));
  return {std::string(name), partitions};
}

// Blocks SIGINT and SIGTERM in every thread (librdkafka's included, which inherit the mask)
// before the cluster starts, so that sigwait() below is the only place they arrive. Their
// disposition is reset first: a shell starts background jobs with SIGINT ignored, and an
// ignored signal is discarded rather than left pending for sigwait().
sigset_t blockStopSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGINT, SIG_DFL);
  signal(SIGTERM, SIG_DFL);
  return set;
}

}  // namespace

const char* devKafkaUsage() noexcept {
  return "usage: lightflusd dev-kafka [--brokers N] [--topic NAME:PARTITIONS ...]\n"
         "  Starts a development Kafka broker (librdkafka's mock cluster) on loopback, prints\n"
         "  its bootstrap address on the first line of stdout and runs until SIGINT/SIGTERM.\n";
}

DevKafkaOptions parseDevKafkaOptions(std::span<char* const> args) {
  DevKafkaOptions options;
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string_view arg = args[i];
    auto value = [&]() -> std::string_view {
      if (i + 1 >= args.size()) throw ConfigError(fmt::format("{} expects a value", arg));
      return args[++i];
    };
    if (arg == "--brokers") {
      options.brokers = parseCount(arg, value());
    } else if (arg == "--topic") {
      options.topics.push_back(parseTopic(value()));
    } else if (arg == "--port" || arg.starts_with("--port=")) {
      throw ConfigError(
          "--port is not supported: librdkafka 2.0.2's mock cluster picks free ports itself; "
          "read the bootstrap address from the first line of dev-kafka's output instead");
    } else {
      throw ConfigError(fmt::format("unknown argument '{}'", arg));
    }
  }
  return options;
}

int runDevKafka(const DevKafkaOptions& options) {
  sigset_t stop = blockStopSignals();
  DevKafkaCluster cluster(options.brokers, options.topics);
  std::printf("%s\n", cluster.bootstrapServers().c_str());
  std::fflush(stdout);
  std::fprintf(stderr,
               "lightflusd dev-kafka: a development broker (librdkafka's mock cluster), not for "
               "production: it silently trims partitions beyond ~5 MiB (or 100,000 batches) and "
               "has no read_committed isolation. Stop it with Ctrl-C.\n");
  int received = 0;
  sigwait(&stop, &received);
  return 0;
}

}  // namespace lightflus::server
