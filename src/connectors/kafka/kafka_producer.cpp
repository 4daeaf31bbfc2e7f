// KafkaProducer: the librdkafka producer behind KafkaSink.
//
// Delivery reports are served after every batch and on flush; the first failed delivery is
// kept and thrown, so that a record librdkafka gave up on (after its retries, within
// delivery_timeout) fails the job instead of disappearing. In ExactlyOnce mode a transaction
// is open at all times: snapshot (prepareCommit) closes it for writing, the checkpoint's
// completion (commit) commits it and begins the next. Records written in between are held in
// memory and produced into the next transaction, so that a transaction holds exactly the
// records of one checkpoint.
#include <fmt/format.h>

#include <mutex>
#include <vector>

#include "lightflus/connectors/kafka.hpp"
#include "rdkafka_handles.hpp"

namespace lightflus::detail {

namespace {

struct HeldRecord {
  std::optional<std::string> key;
  std::string value;
  Timestamp timestamp;
};

/// The first failed delivery, written by librdkafka's delivery callback.
struct DeliveryLog : ClientLog {
  std::string first_error;  // guarded by mutex
};

void onDelivery(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
  if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) return;
  auto* log = static_cast<DeliveryLog*>(static_cast<ClientLog*>(opaque));
  std::lock_guard lock(log->mutex);
  if (log->first_error.empty())
    log->first_error = fmt::format("{} (partition {})", rd_kafka_err2str(m->err), m->partition);
}

}  // namespace

struct KafkaProducer::State {
  KafkaSinkOptions options;
  std::string where;       // "topic 'x' (subtask 1)" for messages
  DeliveryLog deliveries;  // before client: librdkafka's threads end before it goes
  KafkaClient client;
  KafkaTopic topic;  // after client: destroyed first
  bool transactional = false;
  bool prepared = false;  // the open transaction is closed for writing (a snapshot was taken)
  std::vector<HeldRecord> held;

  void checkDeliveries() {
    std::lock_guard lock(deliveries.mutex);
    if (!deliveries.first_error.empty())
      throw ConnectorError(fmt::format("Kafka sink to {}: a message could not be delivered: {}",
                                       where, deliveries.first_error));
  }
  void produceNow(const std::string* key, std::string_view value, Timestamp timestamp);
};

KafkaProducer::KafkaProducer(KafkaSinkOptions options, const SinkContext& ctx)
    : state_(std::make_unique<State>()) {
  auto& s = *state_;
  s.options = std::move(options);
  s.where = fmt::format("topic '{}' (subtask {})", s.options.topic, ctx.subtask);
  if (s.options.brokers.empty() || s.options.topic.empty())
    throw ConfigError("a Kafka sink needs brokers and a topic");
  s.transactional = s.options.delivery == KafkaDelivery::ExactlyOnce;
  if (s.transactional && s.options.transactional_id.empty())
    throw ConfigError("a Kafka sink with KafkaDelivery::ExactlyOnce needs a transactional_id");

  std::map<std::string, std::string> props{
      {"bootstrap.servers", s.options.brokers},
      {"enable.idempotence", s.options.delivery == KafkaDelivery::AtLeastOnce ? "false" : "true"},
      // Java's default partitioner, so that keys land where Java producers put them.
      {"partitioner", "murmur2_random"},
      {"linger.ms", "5"},
      {"message.timeout.ms", std::to_string(s.options.delivery_timeout.count())},
  };
  if (s.transactional) {
    props["transactional.id"] = fmt::format("{}-{}", s.options.transactional_id, ctx.subtask);
    props["transaction.timeout.ms"] = "60000";
  }
  for (const auto& [k, v] : s.options.properties) props[k] = v;
  KafkaConf conf = makeKafkaConf(props);
  rd_kafka_conf_set_dr_msg_cb(conf.get(), onDelivery);
  keepLog(conf.get(), &s.deliveries);
  s.client = makeKafkaClient(RD_KAFKA_PRODUCER, std::move(conf));
  s.topic.reset(rd_kafka_topic_new(s.client.get(), s.options.topic.c_str(), nullptr));
  if (!s.topic) throw ConnectorError("cannot create a Kafka topic handle for " + s.where);

  // Reach the brokers now, so that a wrong address fails the job at start, not at the end.
  const rd_kafka_metadata_t* md = nullptr;
  auto err = rd_kafka_metadata(s.client.get(), 0, s.topic.get(), &md,
                               static_cast<int>(s.options.connect_timeout.count()));
  KafkaMetadata owned(md);
  if (err)
    throw ConnectorError(fmt::format(
        "Kafka sink to {}: cannot reach the brokers '{}' within {} ms ({}{}); check the address "
        "and that the brokers run",
        s.where, s.options.brokers, s.options.connect_timeout.count(), rd_kafka_err2str(err),
        s.deliveries.lastErrorSuffix()));
  if (s.transactional) {
    // With the same transactional.id as before a restart, this also aborts what the previous
    // incarnation left open and fences it off.
    throwIf(rd_kafka_init_transactions(s.client.get(),
                                       static_cast<int>(s.options.connect_timeout.count())),
            "Kafka sink to " + s.where + ": initializing transactions failed");
    throwIf(rd_kafka_begin_transaction(s.client.get()),
            "Kafka sink to " + s.where + ": beginning a transaction failed");
  }
}

KafkaProducer::~KafkaProducer() = default;

void KafkaProducer::State::produceNow(const std::string* key, std::string_view value,
                                      Timestamp timestamp) {
  for (;;) {
    rd_kafka_resp_err_t err = rd_kafka_producev(
        client.get(), RD_KAFKA_V_RKT(topic.get()), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
        RD_KAFKA_V_KEY(key ? key->data() : nullptr, key ? key->size() : 0),
        RD_KAFKA_V_TIMESTAMP(timestamp >= 0 ? timestamp : 0), RD_KAFKA_V_END);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) return;
    if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL)
      throw ConnectorError(
          fmt::format("Kafka sink to {}: producing failed: {}", where, rd_kafka_err2str(err)));
    // librdkafka's queue is full: wait for deliveries (this is the sink's backpressure).
    rd_kafka_poll(client.get(), 10);
    checkDeliveries();
  }
}

void KafkaProducer::produce(const std::string* key, std::string_view value, Timestamp timestamp) {
  auto& s = *state_;
  if (s.prepared) {
    s.held.push_back(HeldRecord{key ? std::optional<std::string>(*key) : std::nullopt,
                                std::string(value), timestamp});
    return;
  }
  s.produceNow(key, value, timestamp);
}

void KafkaProducer::poll() {
  rd_kafka_poll(state_->client.get(), 0);
  state_->checkDeliveries();
}

void KafkaProducer::flush() {
  auto& s = *state_;
  // Past delivery_timeout every message has a delivery report, so this loop ends.
  while (rd_kafka_outq_len(s.client.get()) > 0) {
    rd_kafka_flush(s.client.get(), 100);
    s.checkDeliveries();
  }
  s.checkDeliveries();
}

void KafkaProducer::prepareCommit() {
  if (state_->transactional) state_->prepared = true;
}

void KafkaProducer::commit() {
  auto& s = *state_;
  if (!s.transactional || !s.prepared) return;
  int timeout = static_cast<int>(s.options.delivery_timeout.count());
  throwIf(rd_kafka_commit_transaction(s.client.get(), timeout),
          "Kafka sink to " + s.where + ": committing the transaction failed");
  throwIf(rd_kafka_begin_transaction(s.client.get()),
          "Kafka sink to " + s.where + ": beginning a transaction failed");
  s.prepared = false;
  auto held = std::move(s.held);
  s.held.clear();
  for (const auto& r : held) s.produceNow(r.key ? &*r.key : nullptr, r.value, r.timestamp);
}

}  // namespace lightflus::detail
