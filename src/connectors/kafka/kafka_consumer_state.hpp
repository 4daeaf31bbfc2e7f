// The state of one KafkaSource subtask: its consumer, its partitions and their positions.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "lightflus/connectors/kafka.hpp"
#include "rdkafka_handles.hpp"

namespace lightflus::detail {

/// One assigned partition.
struct PartitionState {
  std::string topic;
  std::int32_t partition = 0;
  std::int64_t next_offset = 0;   ///< the offset of the next record to emit
  std::int64_t stop_offset = -1;  ///< bounded: the end offset seen at start; -1: unbounded
  bool done = false;              ///< bounded: reached stop_offset
  Timestamp max_timestamp = kMinTimestamp;
  std::chrono::steady_clock::time_point last_record;
};

struct Position {
  std::string topic;
  std::int32_t partition;
  std::int64_t offset;
};

struct KafkaConsumerState {
  KafkaSourceOptions options;
  SourceContext ctx;
  std::map<std::pair<std::string, std::int32_t>, std::int64_t> restored;
  bool restored_flag = false;

  ClientLog log;  // before client: outlives librdkafka's threads
  KafkaClient client;
  KafkaQueue queue;                // the consumer queue (destroyed before client)
  std::vector<KafkaTopic> topics;  // by index in options.topics
  std::vector<PartitionState> partitions;
  std::vector<rd_kafka_message_t*> buffer;
  std::vector<KafkaMessage> messages;  // the messages of one poll
  std::chrono::steady_clock::time_point next_discovery;
  Timestamp emitted_watermark = kMinTimestamp;
  bool idle_marked = false;
  std::deque<std::vector<Position>> pending_commits;  // snapshots awaiting completion
  int failed_commits = 0;

  KafkaConsumerState() = default;
  ~KafkaConsumerState();
  KafkaConsumerState(const KafkaConsumerState&) = delete;
  KafkaConsumerState& operator=(const KafkaConsumerState&) = delete;

  void open(const SourceContext& context);
  template <class T>
  SourceStatus poll(SourceOutput<T>& out);
  void snapshot(StateWriter& w);
  void restore(StateReader& r);
  void notifyCheckpointComplete();

 private:
  std::string where() const;
  std::vector<int> readPartitionCounts(Duration timeout, bool must_succeed);
  void discoverPartitions(bool first);
  PartitionState* findPartition(std::string_view topic, std::int32_t partition);
  void resolveStartOffsets(const std::vector<std::size_t>& added, bool first);
  std::int64_t offsetForTime(const PartitionState& ps, std::int64_t high);
  void assign();
  bool allDone() const;
  void checkMessageError(const rd_kafka_message_t* m);
  Timestamp currentWatermark(std::chrono::steady_clock::time_point now, bool& all_idle) const;
};

}  // namespace lightflus::detail
