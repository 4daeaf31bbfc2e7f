// A real Apache Kafka broker (KRaft, one node) for tests, and kcat as an independent client.
//
// KafkaBroker runs `scripts/kafka.sh start` (Apache Kafka from Maven Central, cached in
// ~/.cache/lightflus/kafka, on Java 17) on free loopback ports in a temp dir, waits until it
// answers, and stops it (and removes its directory) in its destructor.
#pragma once

#include <sys/types.h>

#include <string>
#include <utility>
#include <vector>

namespace lightflus::test {

class KafkaBroker {
 public:
  /// Starts the broker; throws std::runtime_error with the script's output if it cannot.
  KafkaBroker();
  ~KafkaBroker();
  KafkaBroker(const KafkaBroker&) = delete;
  KafkaBroker& operator=(const KafkaBroker&) = delete;

  const std::string& bootstrapServers() const { return bootstrap_; }

 private:
  void stop();
  pid_t pid_ = -1;
  std::string bootstrap_;
};

/// Runs a shell command; returns its stdout. Throws std::runtime_error if it exits non-zero.
std::string run(const std::string& command, const std::string& input = "");

/// Produces `lines` with kcat ("key:value" lines when `keyed`) to `topic` (partition -1: any).
void kcatProduce(const std::string& brokers, const std::string& topic,
                 const std::vector<std::string>& lines, int partition = -1, bool keyed = false);

/// Reads a whole topic with kcat, one "%k\t%s" (or "%s" when !with_keys) line per message.
std::vector<std::string> kcatConsume(const std::string& brokers, const std::string& topic,
                                     bool with_keys = false, const std::string& extra = "");

/// Creates a topic on a real broker with librdkafka's admin API (replication factor 1).
void createTopic(const std::string& brokers, const std::string& topic, int partitions);

/// Raises the partition count of `topic` on a real broker to `total` (admin API).
void addPartitions(const std::string& brokers, const std::string& topic, int total);

/// The offsets `group` has committed for partitions 0..partitions-1 of `topic` (-1: none).
std::vector<long> committedOffsets(const std::string& brokers, const std::string& group,
                                   const std::string& topic, int partitions);

}  // namespace lightflus::test
