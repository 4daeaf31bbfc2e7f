// `lightflusd dev-kafka`: a development Kafka broker (librdkafka's mock cluster) on loopback.
//
//   lightflusd dev-kafka [--brokers N] [--topic NAME:PARTITIONS ...]
//
// Starts DevKafkaCluster, creates the topics, prints the bootstrap address ("127.0.0.1:40123")
// as the first line of stdout, warns on stderr that it is a development broker, and runs until
// SIGINT or SIGTERM (exit status 0). Any Kafka client, kcat included, can connect to it. The
// port is chosen by librdkafka (2.0.2 cannot be told one), so --port is rejected.
#pragma once

#include <span>
#include <string>
#include <vector>

#include "lightflus/connectors/kafka.hpp"

namespace lightflus::server {

/// The flags of `lightflusd dev-kafka`.
struct DevKafkaOptions {
  /// --brokers N: how many mock brokers (default 1).
  int brokers = 1;
  /// --topic NAME:PARTITIONS (repeatable; PARTITIONS defaults to 1).
  std::vector<DevKafkaCluster::Topic> topics;
};

/// Parses the arguments after `dev-kafka`. Throws ConfigError with a message for the user.
DevKafkaOptions parseDevKafkaOptions(std::span<char* const> args);

/// The usage text of `dev-kafka`.
const char* devKafkaUsage() noexcept;

/// Runs the broker until SIGINT/SIGTERM; returns the process exit status (0).
int runDevKafka(const DevKafkaOptions& options);

}  // namespace lightflus::server
