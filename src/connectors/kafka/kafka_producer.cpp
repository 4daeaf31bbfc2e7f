// KafkaProducer: the producer behind KafkaSink, and the exactly-once protocol.
//
// AtLeastOnce and Idempotent: records go straight to librdkafka; a snapshot flushes.
//
// ExactlyOnce (docs/kafka.md, "Exactly-once" has the argument): the records written between
// two checkpoints form an epoch, named by the checkpoint that closes it. The sink keeps the
// records of every epoch that has not committed (write-ahead) and puts them in its snapshot.
// When checkpoint N completes, the epochs up to N are committed in one transaction that also
// records N as the committed offset of the subtask's marker group. At most one epoch is
// produced ahead of its checkpoint (streamed into the open transaction while nothing older
// waits); records of later epochs wait in memory until the older ones commit, so that a
// transaction never holds records of a checkpoint that has not completed. A restore reads the
// marker of every old subtask it takes over and produces again the epochs that did not commit,
// in a transaction of that old subtask's transactional id (which also fences it and aborts
// what it left open), before anything new is written (recoverKafkaEpochs).
#include <fmt/format.h>

#include <algorithm>
#include <deque>

#include "kafka_epochs.hpp"
#include "kafka_producer_client.hpp"
#include "lightflus/connectors/kafka.hpp"

namespace lightflus::detail {

struct KafkaProducer::State {
  KafkaSinkOptions options;
  std::string where;  // "topic 'x' (subtask 1)" for messages
  bool transactional = false;
  std::string transactional_id;  // "<transactional_id>-<subtask>"
  std::string marker_group;      // "<transactional_id>-<subtask>-epochs"
  std::unique_ptr<ProducerClient> producer;
  std::deque<EpochRecords> closed;  // closed by a snapshot, not committed yet; oldest first
  EpochRecords open;                // written since the last snapshot

  void commitUpTo(std::uint64_t checkpoint_id);
};

namespace {

void produceAll(ProducerClient& producer, EpochRecords& epoch) {
  if (epoch.in_transaction) return;
  epoch.forEach([&](std::optional<std::string_view> key, std::string_view value, Timestamp ts) {
    producer.produce(key, value, ts);
  });
  epoch.in_transaction = true;
}

/// Commits the epochs [first, last) with `marker`; on an error that requires an abort, aborts,
/// produces them again and retries (twice).
template <class It>
void commitEpochs(ProducerClient& producer, It first, It last, std::optional<EpochMarker> marker) {
  for (int attempt = 0;; ++attempt) {
    for (auto it = first; it != last; ++it) produceAll(producer, *it);
    KafkaErrorObject error = producer.tryCommit(marker);
    if (!error) return;
    if (attempt >= 2 || !rd_kafka_error_txn_requires_abort(error.get()))
      throw ConnectorError(fmt::format("Kafka sink to {}: committing the transaction failed: {}",
                                       producer.where(), rd_kafka_error_string(error.get())));
    producer.abortTransaction();
    producer.beginTransaction();
    for (auto it = first; it != last; ++it) it->in_transaction = false;
  }
}

}  // namespace

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
  if (s.transactional) {
    s.transactional_id = fmt::format("{}-{}", s.options.transactional_id, ctx.subtask);
    s.marker_group = s.transactional_id + "-epochs";
  }
  s.producer =
      std::make_unique<ProducerClient>(s.options, s.options.topic, s.transactional_id, s.where);
  if (s.transactional) {
    // Fences the producers with this transactional id of earlier runs and aborts what they
    // left open (their epochs were recovered by recoverKafkaEpochs during the restore).
    s.producer->initTransactions();
    s.producer->beginTransaction();
    s.open.in_transaction = true;  // nothing waits: records stream into the transaction
  }
}

KafkaProducer::~KafkaProducer() = default;

void KafkaProducer::produce(const std::string* key, std::string_view value, Timestamp timestamp) {
  auto& s = *state_;
  std::optional<std::string_view> k;
  if (key) k = *key;
  if (!s.transactional) {
    s.producer->produce(k, value, timestamp);
    return;
  }
  s.open.append(k, value, timestamp);
  // Streamed only while no older epoch waits for its checkpoint (see the file's comment).
  if (s.open.in_transaction) s.producer->produce(k, value, timestamp);
}

void KafkaProducer::poll() {
  state_->producer->poll();
}

void KafkaProducer::flush() {
  auto& s = *state_;
  // The transaction's commit flushes; a checkpoint need not wait for the deliveries, since its
  // snapshot holds the records.
  if (s.transactional)
    s.producer->poll();
  else
    s.producer->flush();
}

void KafkaProducer::snapshot(StateWriter& w) {
  auto& s = *state_;
  if (!s.transactional) return;
  std::uint64_t id = w.checkpointId();
  if (id == 0 || (!s.closed.empty() && id <= s.closed.back().checkpoint_id))
    throw ConnectorError(fmt::format(
        "Kafka sink to {}: snapshot for checkpoint {} after checkpoint {}: exactly-once needs "
        "increasing checkpoint ids",
        s.where, id, s.closed.empty() ? 0 : s.closed.back().checkpoint_id));
  if (s.open.count > 0) {
    s.open.checkpoint_id = id;
    s.closed.push_back(std::move(s.open));
    s.open = EpochRecords{};  // held (not in the transaction) until the closed epochs commit
  }
  EpochSnapshot::write(w, s.transactional_id, s.marker_group, s.options.topic, s.closed);
}

void KafkaProducer::commit(std::uint64_t checkpoint_id) {
  if (state_->transactional) state_->commitUpTo(checkpoint_id);
}

void KafkaProducer::State::commitUpTo(std::uint64_t checkpoint_id) {
  auto end = std::find_if(closed.begin(), closed.end(),
                          [&](const EpochRecords& e) { return e.checkpoint_id > checkpoint_id; });
  if (end == closed.begin()) return;  // nothing closed up to that checkpoint
  EpochMarker marker{marker_group, options.topic, std::prev(end)->checkpoint_id};
  commitEpochs(*producer, closed.begin(), end, marker);
  closed.erase(closed.begin(), end);
  producer->beginTransaction();
  if (closed.empty()) {
    // Nothing older waits any more: the open epoch goes into the new transaction and streams.
    produceAll(*producer, open);
  }
}

void KafkaProducer::finish() {
  auto& s = *state_;
  if (!s.transactional) {
    s.producer->flush();
    return;
  }
  // The input ended: no checkpoint follows, so everything written commits now.
  std::optional<EpochMarker> marker;
  if (!s.closed.empty())
    marker = EpochMarker{s.marker_group, s.options.topic, s.closed.back().checkpoint_id};
  s.closed.push_back(std::move(s.open));
  s.open = EpochRecords{};
  commitEpochs(*s.producer, s.closed.begin(), s.closed.end(), marker);
  s.closed.clear();
}

void recoverKafkaEpochs(const KafkaSinkOptions& options, const std::vector<std::string>& previous) {
  for (const auto& bytes : previous) {
    if (bytes.empty()) continue;  // a subtask that was not exactly-once
    EpochSnapshot old = EpochSnapshot::read(bytes);
    ProducerClient client(
        options, old.topic, old.transactional_id,
        fmt::format("topic '{}' (recovering '{}')", old.topic, old.transactional_id));
    // Now no transaction of the old subtask is undecided: its marker is final.
    client.initTransactions();
    std::uint64_t committed = committedEpoch(options, old.marker_group, old.topic);
    std::erase_if(old.pending, [&](const EpochRecords& e) { return e.checkpoint_id <= committed; });
    if (old.pending.empty()) continue;
    client.beginTransaction();
    commitEpochs(client, old.pending.begin(), old.pending.end(),
                 EpochMarker{old.marker_group, old.topic, old.pending.back().checkpoint_id});
  }
}

}  // namespace lightflus::detail
