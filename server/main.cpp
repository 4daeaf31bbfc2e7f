// lightflusd: the Lightflus daemon and command-line entry point.
//
//   lightflusd run JOB.ts|JOB.js [flags]   one job in the foreground (run_command.hpp)
//   lightflusd serve [flags]                the daemon and its REST API (serve_command.hpp)
//   lightflusd dev-kafka [flags]            a development Kafka broker (dev_kafka_command.hpp)
//
// Errors go to stderr as `lightflusd: error: ...`; the exit status is 0 on success, 1 when the
// job fails, 2 for a usage error, 130/143 after SIGINT/SIGTERM.
#include <cstdio>
#include <cstring>
#include <exception>
#include <span>
#include <string_view>

#include "job_process_command.hpp"
#include "lightflus/error.hpp"
#include "run_command.hpp"
#include "serve_command.hpp"
#ifdef LIGHTFLUS_WITH_DEV_KAFKA
#include "dev_kafka_command.hpp"
#endif

namespace {

constexpr const char* kUsage =
    "usage: lightflusd <command> [options]\n"
    "\n"
    "commands:\n"
    "  run JOB.ts|JOB.js   run one TypeScript or JavaScript job in the foreground\n"
    "  serve               run the daemon and its REST API\n"
    "  dev-kafka           start a development Kafka broker on loopback\n"
    "\n"
    "`lightflusd run --help` and `lightflusd serve --help` show their flags.\n";

int run(std::span<char* const> args) {
  for (char* arg : args) {
    if (std::strcmp(arg, "--help") == 0 || std::strcmp(arg, "-h") == 0) {
      std::fputs(lightflus::server::runUsage(), stdout);
      return 0;
    }
  }
  lightflus::server::RunOptions options;
  try {
    options = lightflus::server::parseRunOptions(args);
  } catch (const lightflus::ConfigError& e) {
    std::fprintf(stderr, "lightflusd run: %s\n%s", e.what(), lightflus::server::runUsage());
    return 2;
  }
  try {
    return lightflus::server::runJob(options);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "lightflusd: error: %s\n", e.what());
    return 1;
  }
}

#ifdef LIGHTFLUS_WITH_DEV_KAFKA
int devKafka(std::span<char* const> args) {
  for (char* arg : args) {
    if (std::strcmp(arg, "--help") == 0 || std::strcmp(arg, "-h") == 0) {
      std::fputs(lightflus::server::devKafkaUsage(), stdout);
      return 0;
    }
  }
  lightflus::server::DevKafkaOptions options;
  try {
    options = lightflus::server::parseDevKafkaOptions(args);
  } catch (const lightflus::ConfigError& e) {
    std::fprintf(stderr, "lightflusd dev-kafka: %s\n%s", e.what(),
                 lightflus::server::devKafkaUsage());
    return 2;
  }
  try {
    return lightflus::server::runDevKafka(options);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "lightflusd: error: %s\n", e.what());
    return 1;
  }
}
#endif

// Internal: one job of `serve` in its own process (job_process_command.hpp); not in the help.
int jobProcess(std::span<char* const> args) {
  lightflus::server::JobProcessOptions options;
  try {
    options = lightflus::server::parseJobProcessOptions(args);
  } catch (const lightflus::ConfigError& e) {
    std::fprintf(stderr, "lightflusd job-process: %s\n", e.what());
    return 2;
  }
  try {
    return lightflus::server::runJobProcess(options);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "lightflusd: error: %s\n", e.what());
    return 1;
  }
}

int serve(std::span<char* const> args) {
  for (char* arg : args) {
    if (std::strcmp(arg, "--help") == 0 || std::strcmp(arg, "-h") == 0) {
      std::fputs(lightflus::server::serveUsage(), stdout);
      return 0;
    }
  }
  lightflus::server::ServeOptions options;
  try {
    options = lightflus::server::parseServeOptions(args);
  } catch (const lightflus::ConfigError& e) {
    std::fprintf(stderr, "lightflusd serve: %s\n%s", e.what(), lightflus::server::serveUsage());
    return 2;
  }
  try {
    return lightflus::server::serve(options);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "lightflusd: error: %s\n", e.what());
    return 1;
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::span<char* const> args(argv, static_cast<std::size_t>(argc));
  if (args.size() < 2) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  std::string_view command = args[1];
  if (command == "run") return run(args.subspan(2));
#ifdef LIGHTFLUS_WITH_DEV_KAFKA
  if (command == "dev-kafka") return devKafka(args.subspan(2));
#endif
  if (command == "serve") return serve(args.subspan(2));
  if (command == "job-process") return jobProcess(args.subspan(2));
  if (command == "dev-kafka") {
    std::fprintf(
        stderr,
        "lightflusd dev-kafka: not available in this build (configured without librdkafka)\n");
    return 1;
  }
  if (command == "--help" || command == "-h" || command == "help") {
    std::fputs(kUsage, stdout);
    return 0;
  }
  std::fprintf(stderr, "lightflusd: unknown command '%s'\n%s", args[1], kUsage);
  return 2;
}
