// Kafka: a source that reads topics and a sink that writes one (target lightflus::kafka).
//
//     KafkaSourceOptions in{.brokers = "127.0.0.1:9092", .topics = {"words"}, .group_id = "wc"};
//     auto words = readKafka<std::string>(ctx, in);               // DataStream<std::string>
//     auto events = readKafka<Value>(ctx, in);                    // JSON objects
//     auto records = readKafka<KafkaRecord>(ctx, in);             // key, headers, offset, ...
//     writeKafka(counts, KafkaSinkOptions{.brokers = "...", .topic = "counts"},
//                [](const Value& v) { return v["word"].asString(); });   // key extractor
//
// The source assigns the partitions of its topics to its parallel subtasks itself (no group
// rebalancing), starts each partition at the offset in the job's snapshot, else at the
// start position (by default the group's committed offset, or the earliest offset for a new
// group), snapshots the next offset of every partition, and commits those offsets to the group
// when a checkpoint completes. Message timestamps are the event time; each subtask emits the
// minimum of its partitions' watermarks. New partitions are found by a periodic metadata
// refresh and read from their earliest offset; a running source rides out broker outages
// (librdkafka reconnects; connect_timeout bounds only the start). Malformed records fail the job
// (the message names topic/partition@offset) or go to deadLetters(), as the job's MalformedPolicy
// says.
//
// The sink is idempotent by default (no duplicates from retries, order kept per partition),
// checks every delivery report (a failed delivery fails the job), and flushes when a
// checkpoint is taken and at the end: at-least-once. With KafkaDelivery::ExactlyOnce it writes
// in Kafka transactions committed when a checkpoint completes, keeps the records of the epochs
// not committed yet in its snapshot, and after a restore produces again those whose
// transaction did not commit (a marker committed in each transaction says which did):
// read_committed readers see every record once, across crashes at any moment and changes of
// parallelism. See docs/kafka.md. No librdkafka header is included here.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "lightflus/datastream.hpp"
#include "lightflus/value.hpp"

namespace lightflus {

/// One Kafka message with everything it carries (the raw form of the source).
struct KafkaRecord {
  std::string topic;
  std::int32_t partition = 0;
  std::int64_t offset = 0;
  Timestamp timestamp = kMinTimestamp;  ///< ms since the epoch; kMinTimestamp when absent
  std::optional<std::string> key;       ///< nullopt for a null key
  std::string value;                    ///< raw bytes (empty for a null value)
  std::vector<std::pair<std::string, std::string>> headers;
  friend bool operator==(const KafkaRecord&, const KafkaRecord&) = default;
};

/// Where a partition starts when the job's snapshot has no position for it.
struct KafkaStartPosition {
  enum class Kind { CommittedOrEarliest, Earliest, Latest, Timestamp };
  Kind kind = Kind::CommittedOrEarliest;
  Timestamp timestamp = 0;

  /// The group's committed offset; the earliest offset when the group has none (default).
  static KafkaStartPosition committedOrEarliest() { return {}; }
  static KafkaStartPosition earliest() { return {Kind::Earliest}; }
  /// Only records produced after the job started.
  static KafkaStartPosition latest() { return {Kind::Latest}; }
  /// The first record whose timestamp is >= `t` (ms).
  static KafkaStartPosition fromTimestamp(Timestamp t) { return {Kind::Timestamp, t}; }
};

/// How the source turns a message into a Value (readKafka<Value>).
enum class KafkaValueFormat {
  Json,      ///< the value parsed as JSON (malformed JSON follows on_malformed)
  String,    ///< the value as a string Value
  Envelope,  ///< {key, value (parsed as JSON), topic, partition, offset, timestamp, headers}
};

/// Options of readKafka().
struct KafkaSourceOptions {
  /// Bootstrap brokers, "host:port[,host:port...]".
  std::string brokers;
  std::vector<std::string> topics;
  /// Only these partitions of the topics (a partition missing at start fails the job);
  /// empty: every partition, including those added while the job runs.
  std::vector<std::int32_t> partitions;
  /// The consumer group offsets are committed to (and read from for committedOrEarliest).
  /// Empty: nothing is committed and committedOrEarliest means earliest.
  std::string group_id;
  KafkaStartPosition start = KafkaStartPosition::committedOrEarliest();
  /// Stop at the end offsets the partitions had when the job started (tests, batch jobs).
  bool bounded = false;
  KafkaValueFormat value_format = KafkaValueFormat::Json;
  MalformedPolicy on_malformed = MalformedPolicy::Fail;
  /// Watermarks per partition: max timestamp - max_out_of_orderness - 1. A partition without
  /// records for `idleness` (when set) does not hold the subtask's watermark back.
  WatermarkStrategy watermarks = {};
  /// How long the source waits for the brokers at start before failing the job.
  Duration connect_timeout{10'000};
  /// How often the topics' metadata is re-read to find new partitions (0: never).
  Duration partition_discovery_interval{5'000};
  /// Extra librdkafka consumer properties ("fetch.min.bytes", "security.protocol", ...).
  std::map<std::string, std::string> properties;
};

/// The delivery guarantee of a Kafka sink.
enum class KafkaDelivery {
  AtLeastOnce,  ///< plain producer; retries may duplicate
  Idempotent,   ///< enable.idempotence: no duplicates from retries (default)
  ExactlyOnce,  ///< transactions committed on checkpoint completion (needs transactional_id)
};

/// Options of writeKafka().
struct KafkaSinkOptions {
  std::string brokers;
  std::string topic;
  KafkaDelivery delivery = KafkaDelivery::Idempotent;
  /// ExactlyOnce: subtask i uses the transactional.id "<transactional_id>-<i>" and records
  /// the epoch each transaction completes in the consumer group "<transactional_id>-<i>-epochs".
  /// Keep it stable across restarts and unique per job: a restore fences the old subtasks' ids
  /// and reads their groups to tell which epochs committed (docs/kafka.md).
  std::string transactional_id;
  /// How long the sink waits for the brokers at start before failing the job.
  Duration connect_timeout{10'000};
  /// How long librdkafka retries a message before its delivery counts as failed.
  Duration delivery_timeout{30'000};
  /// Extra librdkafka producer properties ("linger.ms", "compression.type", ...).
  std::map<std::string, std::string> properties;
};

namespace detail {
struct KafkaConsumerState;
class KafkaProducer;
}  // namespace detail

/// Reads Kafka topics (one instance per parallel subtask). T is std::string (the value's
/// bytes), std::int64_t or double (the value parsed as a number), Value (see
/// KafkaValueFormat) or KafkaRecord. Use readKafka() rather than this class.
template <class T>
class LIGHTFLUS_API KafkaSource final : public Source<T> {
 public:
  explicit KafkaSource(KafkaSourceOptions options);
  ~KafkaSource() override;
  void open(const SourceContext& ctx) override;
  SourceStatus poll(SourceOutput<T>& out) override;
  Duration blockedWait() const override;
  void snapshot(StateWriter& w) override;
  void restore(StateReader& r) override;
  /// Positions are per partition: every new subtask reads all old ones and uses its own.
  bool restoreRescaled(const std::vector<std::string>& previous) override;
  void notifyCheckpointComplete(std::uint64_t checkpoint_id) override;
  void close() override;

 private:
  std::unique_ptr<detail::KafkaConsumerState> state_;
};

extern template class KafkaSource<std::string>;
extern template class KafkaSource<std::int64_t>;
extern template class KafkaSource<double>;
extern template class KafkaSource<Value>;
extern template class KafkaSource<KafkaRecord>;

/// A stream read from Kafka; see KafkaSource for T.
///
///     auto events = readKafka<Value>(ctx, {.brokers = b, .topics = {"events"}, .group_id = "g"});
template <class T>
DataStream<T> readKafka(ExecutionContext& ctx, KafkaSourceOptions options, std::string name = "") {
  if (name.empty()) {
    name = "kafka";
    for (const auto& t : options.topics) name += " " + t;
  }
  bool dead = options.on_malformed == MalformedPolicy::DeadLetter;
  return ctx.fromSource<T>([options] { return std::make_unique<KafkaSource<T>>(options); },
                           std::move(name), SourceOptions{.single = false, .dead_letters = dead});
}

namespace detail {

/// The librdkafka producer behind KafkaSink (compiled; one per sink subtask).
class LIGHTFLUS_API KafkaProducer {
 public:
  /// Connects to the brokers. ExactlyOnce: fences earlier producers of the subtask's
  /// transactional id (aborting what they left open) and begins a transaction.
  KafkaProducer(KafkaSinkOptions options, const SinkContext& ctx);
  ~KafkaProducer();
  KafkaProducer(const KafkaProducer&) = delete;
  KafkaProducer& operator=(const KafkaProducer&) = delete;
  /// Queues one message; blocks (serving delivery reports) while librdkafka's queue is full.
  void produce(const std::string* key, std::string_view value, Timestamp timestamp);
  /// Serves delivery reports; throws ConnectorError if a delivery failed.
  void poll();
  /// Before a snapshot: waits until every queued message is delivered (ExactlyOnce: serves
  /// delivery reports only; the commit flushes). Throws ConnectorError on a failure.
  void flush();
  /// ExactlyOnce: closes the current epoch as checkpoint `w.checkpointId()` and writes the
  /// records of every epoch not committed yet. Other deliveries write nothing.
  void snapshot(StateWriter& w);
  /// ExactlyOnce: commits every epoch up to checkpoint `checkpoint_id` in one transaction.
  void commit(std::uint64_t checkpoint_id);
  /// At the end of the input: delivers (ExactlyOnce: commits) everything written.
  void finish();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

/// The exactly-once restore (docs/kafka.md): for each old sink subtask's snapshot in
/// `previous`, fences its transactional id (aborting what it left open), reads its marker and
/// produces again, in one committed transaction, its epochs whose transaction did not commit.
/// KafkaSink::restore() runs it while the job is being restored, before any subtask of the new
/// job writes, so that recovered records come before new ones in every partition.
LIGHTFLUS_API void recoverKafkaEpochs(const KafkaSinkOptions& options,
                                      const std::vector<std::string>& previous);

/// Appends the default serialization of a value: JSON for Value, the bytes for strings,
/// the decimal form for numbers.
struct KafkaDefaultSerializer {
  template <class T>
  void operator()(std::string& out, const T& v) const {
    if constexpr (std::is_same_v<T, Value>) {
      v.appendJson(out);
    } else if constexpr (std::is_convertible_v<const T&, std::string_view>) {
      out.append(std::string_view(v));
    } else if constexpr (std::is_arithmetic_v<T>) {
      fmt::format_to(std::back_inserter(out), "{}", v);
    } else {
      static_assert(std::is_same_v<T, Value>,
                    "writeKafka() needs a value serializer for this type: "
                    "[](std::string& out, const T& v) { ... append the bytes ... }");
    }
  }
};

/// No key: librdkafka spreads the messages over the partitions.
struct KafkaNoKey {};

}  // namespace detail

/// Writes a stream to a Kafka topic: `key(const T&)` gives the message key (anything
/// convertible to std::string; messages with equal keys go to the same partition, with the
/// Java client's murmur2 hash), `serialize(std::string& out, const T&)` appends the value's
/// bytes. The element's timestamp becomes the message timestamp. Use writeKafka().
template <class T, class KeyFn, class SerializeFn>
class KafkaSink final : public Sink<T> {
 public:
  KafkaSink(KafkaSinkOptions options, KeyFn key, SerializeFn serialize)
      : options_(std::move(options)), key_(std::move(key)), serialize_(std::move(serialize)) {}
  void open(const SinkContext& ctx) override {
    producer_ = std::make_unique<detail::KafkaProducer>(options_, ctx);
  }
  void write(Batch<T>& batch) override {
    for (const auto& e : batch) {
      value_.clear();
      serialize_(value_, e.value);
      if constexpr (std::is_same_v<KeyFn, detail::KafkaNoKey>) {
        producer_->produce(nullptr, value_, e.timestamp);
      } else {
        key_buffer_ = key_(e.value);
        producer_->produce(&key_buffer_, value_, e.timestamp);
      }
    }
    producer_->poll();
  }
  void flush() override {
    if (producer_) producer_->flush();
  }
  void snapshot(StateWriter& w) override {
    if (producer_) producer_->snapshot(w);
  }
  void restore(const std::vector<std::string>& previous) override {
    detail::recoverKafkaEpochs(options_, previous);
  }
  void notifyCheckpointComplete(std::uint64_t checkpoint_id) override {
    if (producer_) producer_->commit(checkpoint_id);
  }
  void close() override {
    if (!producer_) return;
    producer_->finish();
    producer_.reset();
  }

 private:
  KafkaSinkOptions options_;
  KeyFn key_;
  SerializeFn serialize_;
  std::unique_ptr<detail::KafkaProducer> producer_;
  std::string value_;
  std::string key_buffer_;
};

/// Writes `stream` to `options.topic`, keyed by `key(const T&)` (omit it for no key), the
/// value serialized by `serialize(std::string& out, const T&)` (default: JSON for Value, the
/// bytes for strings).
///
///     writeKafka(counts, {.brokers = b, .topic = "counts"},
///                [](const WordCount& c) { return c.word; },
///                [](std::string& out, const WordCount& c) { out += std::to_string(c.n); });
template <class T, class KeyFn = detail::KafkaNoKey,
          class SerializeFn = detail::KafkaDefaultSerializer>
SinkHandle writeKafka(const DataStream<T>& stream, KafkaSinkOptions options, KeyFn key = {},
                      SerializeFn serialize = {}, std::string name = "") {
  if (name.empty()) name = "kafka " + options.topic;
  return stream.sink(
      [options, key, serialize] {
        return std::make_unique<KafkaSink<T, KeyFn, SerializeFn>>(options, key, serialize);
      },
      std::move(name));
}

/// librdkafka's mock cluster: Kafka brokers in this process, speaking the real protocol over
/// TCP on loopback, for demos, `lightflusd dev-kafka` and tests (any client, kcat included,
/// can connect). A development broker: it keeps at most ~5 MiB per partition (older records
/// are dropped silently) and hands aborted transactions to read_committed readers.
///
///     DevKafkaCluster kafka(1, {{"words", 4}});
///     std::string brokers = kafka.bootstrapServers();   // "127.0.0.1:41234"
class LIGHTFLUS_API DevKafkaCluster {
 public:
  struct Topic {
    std::string name;
    int partitions = 1;
  };
  /// Starts `brokers` brokers on free loopback ports and creates `topics`.
  explicit DevKafkaCluster(int brokers = 1, const std::vector<Topic>& topics = {});
  ~DevKafkaCluster();
  DevKafkaCluster(const DevKafkaCluster&) = delete;
  DevKafkaCluster& operator=(const DevKafkaCluster&) = delete;

  /// "host:port,host:port" of the brokers.
  const std::string& bootstrapServers() const;
  /// Creates a topic (replication factor 1); throws ConnectorError if it cannot.
  void createTopic(const std::string& name, int partitions);
  /// Takes broker `id` (1..brokers) down: its connections are closed and new ones refused,
  /// as in an outage, until setBrokerUp(id). For tests of reconnection.
  void setBrokerDown(int id);
  /// Brings broker `id` back after setBrokerDown(id).
  void setBrokerUp(int id);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace lightflus
