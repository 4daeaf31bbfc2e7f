// ProducerClient: one librdkafka producer writing one topic, with its delivery reports checked
// and its transactions (including the epoch marker) behind small calls that throw
// ConnectorError with the topic and subtask in the message.
//
// KafkaProducer owns one for its subtask; the exactly-once recovery makes short-lived ones with
// the transactional ids of old subtasks, to fence them and to produce their pending epochs.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "lightflus/connectors/kafka.hpp"
#include "rdkafka_handles.hpp"

namespace lightflus::detail {

/// The first failed delivery, written by librdkafka's delivery callback.
struct DeliveryLog : ClientLog {
  std::string first_error;  // guarded by mutex
};

/// Which epoch a transaction completes: committed as the offset of partition 0 of `topic` for
/// the consumer group `group`, atomically with the transaction's records.
struct EpochMarker {
  std::string group;
  std::string topic;
  std::uint64_t checkpoint_id = 0;
};

class ProducerClient {
 public:
  /// Connects to `options.brokers` (waiting at most connect_timeout) to write `topic`;
  /// transactional when `transactional_id` is not empty. `where` names it in messages.
  ProducerClient(const KafkaSinkOptions& options, const std::string& topic,
                 const std::string& transactional_id, std::string where);
  ProducerClient(const ProducerClient&) = delete;
  ProducerClient& operator=(const ProducerClient&) = delete;

  /// Queues one message; blocks (serving delivery reports) while librdkafka's queue is full.
  void produce(std::optional<std::string_view> key, std::string_view value, Timestamp timestamp);
  /// Serves delivery reports; throws ConnectorError if a delivery failed.
  void poll();
  /// Waits until every queued message is delivered; throws ConnectorError on a failure.
  void flush();

  /// Fences every earlier producer with this transactional id and aborts what it left open.
  void initTransactions();
  void beginTransaction();
  /// Commits the open transaction with `marker` (when given) recorded in it. Returns null on
  /// success, else the error (retriable errors are retried until delivery_timeout).
  KafkaErrorObject tryCommit(const std::optional<EpochMarker>& marker);
  /// Aborts the open transaction (after a tryCommit error that requires it).
  void abortTransaction();

  const std::string& where() const noexcept { return where_; }

 private:
  void checkDeliveries();
  /// Runs a transactional call until it succeeds, fails for good, or delivery_timeout passes.
  template <class Call>
  KafkaErrorObject retrying(Call call);

  std::string where_;
  int delivery_timeout_ms_;
  DeliveryLog deliveries_;  // before client_: librdkafka's threads end before it goes
  KafkaClient client_;
  KafkaTopic topic_;  // after client_: destroyed first
};

/// The epoch `group` has committed for partition 0 of `topic` (0 when none), read with a
/// consumer of that group. Call it after initTransactions() of the producer that writes the
/// group, so that no transaction of it is still undecided.
std::uint64_t committedEpoch(const KafkaSinkOptions& options, const std::string& group,
                             const std::string& topic);

}  // namespace lightflus::detail
