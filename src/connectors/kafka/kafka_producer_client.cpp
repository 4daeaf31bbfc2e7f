// ProducerClient: a librdkafka producer of one topic (see kafka_producer_client.hpp).
//
// Delivery reports are served after every batch and on flush; the first failed delivery is
// kept and thrown, so that a record librdkafka gave up on (after its retries, within
// delivery_timeout) fails the job instead of disappearing.
#include "kafka_producer_client.hpp"

#include <fmt/format.h>

#include <chrono>
#include <thread>

namespace lightflus::detail {

namespace {

void onDelivery(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
  if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) return;
  auto* log = static_cast<DeliveryLog*>(static_cast<ClientLog*>(opaque));
  std::lock_guard lock(log->mutex);
  if (log->first_error.empty())
    log->first_error = fmt::format("{} (partition {})", rd_kafka_err2str(m->err), m->partition);
}

}  // namespace

ProducerClient::ProducerClient(const KafkaSinkOptions& options, const std::string& topic,
                               const std::string& transactional_id, std::string where)
    : where_(std::move(where)),
      delivery_timeout_ms_(static_cast<int>(options.delivery_timeout.count())) {
  std::map<std::string, std::string> props{
      {"bootstrap.servers", options.brokers},
      {"enable.idempotence", options.delivery == KafkaDelivery::AtLeastOnce ? "false" : "true"},
      // Java's default partitioner, so that keys land where Java producers put them.
      {"partitioner", "murmur2_random"},
      {"linger.ms", "5"},
      {"message.timeout.ms", std::to_string(options.delivery_timeout.count())},
  };
  if (!transactional_id.empty()) {
    props["transactional.id"] = transactional_id;
    props["transaction.timeout.ms"] = "60000";
  }
  for (const auto& [k, v] : options.properties) props[k] = v;
  KafkaConf conf = makeKafkaConf(props);
  rd_kafka_conf_set_dr_msg_cb(conf.get(), onDelivery);
  keepLog(conf.get(), &deliveries_);
  client_ = makeKafkaClient(RD_KAFKA_PRODUCER, std::move(conf));
  topic_.reset(rd_kafka_topic_new(client_.get(), topic.c_str(), nullptr));
  if (!topic_) throw ConnectorError("cannot create a Kafka topic handle for " + where_);

  // Reach the brokers now, so that a wrong address fails the job at start, not at the end.
  const rd_kafka_metadata_t* md = nullptr;
  auto err = rd_kafka_metadata(client_.get(), 0, topic_.get(), &md,
                               static_cast<int>(options.connect_timeout.count()));
  KafkaMetadata owned(md);
  if (err)
    throw ConnectorError(fmt::format(
        "Kafka sink to {}: cannot reach the brokers '{}' within {} ms ({}{}); check the address "
        "and that the brokers run",
        where_, options.brokers, options.connect_timeout.count(), rd_kafka_err2str(err),
        deliveries_.lastErrorSuffix()));
}

void ProducerClient::checkDeliveries() {
  std::lock_guard lock(deliveries_.mutex);
  if (!deliveries_.first_error.empty())
    throw ConnectorError(fmt::format("Kafka sink to {}: a message could not be delivered: {}",
                                     where_, deliveries_.first_error));
}

void ProducerClient::produce(std::optional<std::string_view> key, std::string_view value,
                             Timestamp timestamp) {
  // (RD_KAFKA_V_KEY's own parameter is called `key`: pass plain values.)
  const char* key_data = key ? key->data() : nullptr;
  std::size_t key_size = key ? key->size() : 0;
  for (;;) {
    rd_kafka_resp_err_t err = rd_kafka_producev(
        client_.get(), RD_KAFKA_V_RKT(topic_.get()), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
        RD_KAFKA_V_KEY(key_data, key_size), RD_KAFKA_V_TIMESTAMP(timestamp >= 0 ? timestamp : 0),
        RD_KAFKA_V_END);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) return;
    if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL)
      throw ConnectorError(
          fmt::format("Kafka sink to {}: producing failed: {}", where_, rd_kafka_err2str(err)));
    // librdkafka's queue is full: wait for deliveries (this is the sink's backpressure).
    rd_kafka_poll(client_.get(), 10);
    checkDeliveries();
  }
}

void ProducerClient::poll() {
  rd_kafka_poll(client_.get(), 0);
  checkDeliveries();
}

void ProducerClient::flush() {
  // Past delivery_timeout every message has a delivery report, so this loop ends.
  while (rd_kafka_outq_len(client_.get()) > 0) {
    rd_kafka_flush(client_.get(), 100);
    checkDeliveries();
  }
  checkDeliveries();
}

template <class Call>
KafkaErrorObject ProducerClient::retrying(Call call) {
  auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(delivery_timeout_ms_);
  for (;;) {
    KafkaErrorObject error(call());
    if (!error || !rd_kafka_error_is_retriable(error.get()) ||
        std::chrono::steady_clock::now() >= deadline)
      return error;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

void ProducerClient::initTransactions() {
  // With the transactional.id of an earlier producer (a crashed run, an old subtask), this
  // waits for that producer's transaction to be decided (aborting it if it was open) and
  // fences the producer off.
  KafkaErrorObject error =
      retrying([&] { return rd_kafka_init_transactions(client_.get(), delivery_timeout_ms_); });
  if (error)
    throw ConnectorError(fmt::format("Kafka sink to {}: initializing transactions failed: {}",
                                     where_, rd_kafka_error_string(error.get())));
}

void ProducerClient::beginTransaction() {
  throwIf(rd_kafka_begin_transaction(client_.get()),
          "Kafka sink to " + where_ + ": beginning a transaction failed");
}

KafkaErrorObject ProducerClient::tryCommit(const std::optional<EpochMarker>& marker) {
  if (marker) {
    KafkaPartitionList offsets(rd_kafka_topic_partition_list_new(1));
    rd_kafka_topic_partition_list_add(offsets.get(), marker->topic.c_str(), 0)->offset =
        static_cast<std::int64_t>(marker->checkpoint_id);
    KafkaGroupMetadata group(rd_kafka_consumer_group_metadata_new(marker->group.c_str()));
    if (auto error = retrying([&] {
          return rd_kafka_send_offsets_to_transaction(client_.get(), offsets.get(), group.get(),
                                                      delivery_timeout_ms_);
        }))
      return error;
  }
  return retrying([&] { return rd_kafka_commit_transaction(client_.get(), delivery_timeout_ms_); });
}

void ProducerClient::abortTransaction() {
  KafkaErrorObject error =
      retrying([&] { return rd_kafka_abort_transaction(client_.get(), delivery_timeout_ms_); });
  if (error)
    throw ConnectorError(fmt::format("Kafka sink to {}: aborting a transaction failed: {}", where_,
                                     rd_kafka_error_string(error.get())));
  // The failed deliveries belonged to the aborted transaction; its records are produced again.
  std::lock_guard lock(deliveries_.mutex);
  deliveries_.first_error.clear();
}

std::uint64_t committedEpoch(const KafkaSinkOptions& options, const std::string& group,
                             const std::string& topic) {
  std::map<std::string, std::string> props = options.properties;
  props["bootstrap.servers"] = options.brokers;
  props["group.id"] = group;
  props["enable.auto.commit"] = "false";
  // Offsets of undecided transactions are not returned: the broker answers once they are.
  props["isolation.level"] = "read_committed";
  for (const char* producer_only : {"transactional.id", "transaction.timeout.ms", "linger.ms",
                                    "enable.idempotence", "partitioner", "message.timeout.ms"})
    props.erase(producer_only);
  ClientLog log;
  KafkaConf conf = makeKafkaConf(props);
  keepLog(conf.get(), &log);
  KafkaClient consumer = makeKafkaClient(RD_KAFKA_CONSUMER, std::move(conf));
  auto deadline = std::chrono::steady_clock::now() + options.connect_timeout;
  for (;;) {
    KafkaPartitionList partitions(rd_kafka_topic_partition_list_new(1));
    auto* p = rd_kafka_topic_partition_list_add(partitions.get(), topic.c_str(), 0);
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    rd_kafka_resp_err_t err = rd_kafka_committed(
        consumer.get(), partitions.get(), static_cast<int>(std::max<long>(left.count(), 100)));
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) err = p->err;
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR)
      return p->offset < 0 ? 0 : static_cast<std::uint64_t>(p->offset);
    // A fresh broker answers "not coordinator" or "loading" for a moment: retry until the
    // deadline.
    if (std::chrono::steady_clock::now() >= deadline)
      throw ConnectorError(fmt::format(
          "Kafka sink to topic '{}': cannot read the committed epoch of group '{}' within {} ms "
          "({}{}); without it the exactly-once restore cannot tell which epochs committed",
          topic, group, options.connect_timeout.count(), rd_kafka_err2str(err),
          log.lastErrorSuffix()));
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

}  // namespace lightflus::detail
