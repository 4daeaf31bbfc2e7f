// KafkaSource: reads the partitions assigned to one subtask with a librdkafka consumer.
//
// The subtask assigns its partitions itself (assign(), not subscribe(): no rebalancing; see
// DESIGN.md) and knows the concrete next offset of every partition from the start: positions
// in the snapshot, else the start position resolved to an offset (committed, earliest, latest
// or by timestamp). poll() never waits: it takes what librdkafka has already fetched and
// returns Blocked when that is nothing; librdkafka's queue callback wakes the task when
// messages arrive.
#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <deque>
#include <thread>

#include "kafka_consumer_state.hpp"

namespace lightflus {

namespace detail {

namespace {

/// Errors after which records would be skipped or never come: the job fails. Everything else
/// librdkafka reports to a consumer (lost connections, leader changes) it retries itself.
bool isPermanent(rd_kafka_resp_err_t err) {
  switch (err) {
    case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART:
    case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC:
    case RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION:
    case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE:
    case RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET:
    case RD_KAFKA_RESP_ERR__FATAL:
      return true;
    default:
      return false;
  }
}

std::string_view payload(const rd_kafka_message_t* m) {
  return m->payload ? std::string_view(static_cast<const char*>(m->payload), m->len)
                    : std::string_view();
}

Timestamp messageTimestamp(const rd_kafka_message_t* m) {
  rd_kafka_timestamp_type_t type;
  std::int64_t ts = rd_kafka_message_timestamp(m, &type);
  return type == RD_KAFKA_TIMESTAMP_NOT_AVAILABLE || ts < 0 ? kMinTimestamp : ts;
}

void onQueueNonEmpty(rd_kafka_t*, void* opaque) {
  static_cast<const SourceContext*>(opaque)->wakeup();
}

template <class N>
bool parseNumber(std::string_view s, N& out) {
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && end == s.data() + s.size() && !s.empty();
}

}  // namespace

// --- Decoding by type: false (with `error`) for a malformed record -------------------------

bool decode(const rd_kafka_message_t* m, const KafkaSourceOptions&, std::string& out,
            std::string&) {
  out.assign(payload(m));
  return true;
}

bool decode(const rd_kafka_message_t* m, const KafkaSourceOptions&, std::int64_t& out,
            std::string& error) {
  if (parseNumber(payload(m), out)) return true;
  error = "not an integer";
  return false;
}

bool decode(const rd_kafka_message_t* m, const KafkaSourceOptions&, double& out,
            std::string& error) {
  if (parseNumber(payload(m), out)) return true;
  error = "not a number";
  return false;
}

KafkaRecord toRecord(const rd_kafka_message_t* m) {
  KafkaRecord r;
  r.topic = rd_kafka_topic_name(m->rkt);
  r.partition = m->partition;
  r.offset = m->offset;
  r.timestamp = messageTimestamp(m);
  if (m->key) r.key.emplace(static_cast<const char*>(m->key), m->key_len);
  r.value.assign(payload(m));
  rd_kafka_headers_t* headers = nullptr;
  if (rd_kafka_message_headers(m, &headers) == RD_KAFKA_RESP_ERR_NO_ERROR) {
    const char* name;
    const void* value;
    std::size_t size;
    for (std::size_t i = 0;
         rd_kafka_header_get_all(headers, i, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR;
         ++i)
      r.headers.emplace_back(
          name, value ? std::string(static_cast<const char*>(value), size) : std::string());
  }
  return r;
}

bool decode(const rd_kafka_message_t* m, const KafkaSourceOptions&, KafkaRecord& out,
            std::string&) {
  out = toRecord(m);
  return true;
}

bool decode(const rd_kafka_message_t* m, const KafkaSourceOptions& options, Value& out,
            std::string& error) {
  auto parse = [&](Value& v) {
    // A null value (a tombstone) is a null Value.
    if (!m->payload) return true;
    try {
      v = Value::parseJson(payload(m));
      return true;
    } catch (const InputError& e) {
      error = e.what();
      return false;
    }
  };
  switch (options.value_format) {
    case KafkaValueFormat::Json:
      out = Value();
      return parse(out);
    case KafkaValueFormat::String:
      out = m->payload ? Value(payload(m)) : Value();
      return true;
    case KafkaValueFormat::Envelope: {
      Value value;
      if (!parse(value)) return false;
      KafkaRecord r = toRecord(m);
      Value headers = Value::object();
      for (const auto& [k, v] : r.headers) headers[k] = v;
      out = Value::object();
      out["key"] = r.key ? Value(*r.key) : Value();
      out["value"] = std::move(value);
      out["topic"] = r.topic;
      out["partition"] = r.partition;
      out["offset"] = r.offset;
      out["timestamp"] = r.timestamp == kMinTimestamp ? Value() : Value(r.timestamp);
      out["headers"] = std::move(headers);
      return true;
    }
  }
  return false;
}

// --- KafkaConsumerState ----------------------------------------------------------------------

KafkaConsumerState::~KafkaConsumerState() {
  messages.clear();
  // The queue callback points into this object: turn it off before anything goes.
  if (queue) rd_kafka_queue_cb_event_enable(queue.get(), nullptr, nullptr);
  queue.reset();
  topics.clear();
  if (client) rd_kafka_consumer_close(client.get());
}

void KafkaConsumerState::open(const SourceContext& context) {
  ctx = context;
  if (options.brokers.empty() || options.topics.empty())
    throw ConfigError("a Kafka source needs brokers and at least one topic");
  std::map<std::string, std::string> props{
      {"bootstrap.servers", options.brokers},
      // assign() needs a group even when nothing is committed.
      {"group.id", options.group_id.empty()
                       ? fmt::format("lightflus-{}-{}", ctx.job_name, ctx.operator_name)
                       : options.group_id},
      {"client.id", fmt::format("lightflus-{}-{}", ctx.job_name, ctx.subtask)},
      {"enable.auto.commit", "false"},
      {"enable.auto.offset.store", "false"},
      {"enable.partition.eof", "false"},
      {"auto.offset.reset", "error"},
  };
  for (const auto& [k, v] : options.properties) props[k] = v;
  KafkaConf conf = makeKafkaConf(props);
  keepLog(conf.get(), &log);
  client = makeKafkaClient(RD_KAFKA_CONSUMER, std::move(conf));
  rd_kafka_poll_set_consumer(client.get());
  queue.reset(rd_kafka_queue_get_consumer(client.get()));
  rd_kafka_queue_cb_event_enable(queue.get(), onQueueNonEmpty, &ctx);
  for (const auto& t : options.topics) {
    KafkaTopic handle(rd_kafka_topic_new(client.get(), t.c_str(), nullptr));
    if (!handle) throw ConnectorError("cannot create a Kafka topic handle for '" + t + "'");
    topics.push_back(std::move(handle));
  }
  discoverPartitions(true);
}

std::string KafkaConsumerState::where() const {
  return fmt::format("Kafka source '{}' (brokers '{}')", ctx.operator_name, options.brokers);
}

/// Partition counts by topic index; waits up to `timeout` for the brokers.
std::vector<int> KafkaConsumerState::readPartitionCounts(Duration timeout, bool must_succeed) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  std::vector<int> counts(topics.size(), 0);
  for (std::size_t i = 0; i < topics.size(); ++i) {
    for (;;) {
      auto left = std::chrono::duration_cast<Duration>(deadline - std::chrono::steady_clock::now());
      const rd_kafka_metadata_t* md = nullptr;
      auto err = rd_kafka_metadata(client.get(), 0, topics[i].get(), &md,
                                   static_cast<int>(std::max<std::int64_t>(left.count(), 1)));
      KafkaMetadata owned(md);
      rd_kafka_resp_err_t topic_err = RD_KAFKA_RESP_ERR_NO_ERROR;
      if (!err && md->topic_cnt == 1) {
        topic_err = md->topics[0].err;
        if (!topic_err && md->topics[0].partition_cnt > 0) {
          counts[i] = md->topics[0].partition_cnt;
          break;
        }
      }
      if (std::chrono::steady_clock::now() + Duration(100) >= deadline) {
        if (!must_succeed) return {};
        if (err)
          throw ConnectorError(fmt::format(
              "{}: cannot reach the brokers within {} ms ({}{}); check the address and that "
              "the brokers run",
              where(), options.connect_timeout.count(), rd_kafka_err2str(err),
              log.lastErrorSuffix()));
        throw ConnectorError(
            fmt::format("{}: topic '{}' is not available: {}", where(), options.topics[i],
                        topic_err ? rd_kafka_err2str(topic_err) : "no partitions"));
      }
      // A topic just created may have no leader yet: ask again shortly.
      std::this_thread::sleep_for(Duration(100));
    }
  }
  return counts;
}

void KafkaConsumerState::discoverPartitions(bool first) {
  next_discovery = std::chrono::steady_clock::now() + options.partition_discovery_interval;
  auto counts = readPartitionCounts(first ? options.connect_timeout : Duration(500), first);
  if (counts.empty()) return;  // brokers unreachable for now: try again at the next interval
  const auto& pinned = options.partitions;
  if (first)
    for (std::size_t t = 0; t < counts.size(); ++t)
      for (std::int32_t p : pinned)
        if (p < 0 || p >= counts[t])
          throw ConfigError(
              fmt::format("{}: topic '{}' has {} partitions; there is no partition {}", where(),
                          options.topics[t], counts[t], p));
  std::vector<std::size_t> added;
  for (std::size_t t = 0; t < counts.size(); ++t) {
    for (int p = 0; p < counts[t]; ++p) {
      if (!pinned.empty() && std::find(pinned.begin(), pinned.end(), p) == pinned.end()) continue;
      if ((static_cast<int>(t) + p) % ctx.parallelism != ctx.subtask) continue;
      if (findPartition(options.topics[t], p)) continue;
      PartitionState ps;
      ps.topic = options.topics[t];
      ps.partition = p;
      ps.last_record = std::chrono::steady_clock::now();
      partitions.push_back(std::move(ps));
      added.push_back(partitions.size() - 1);
    }
  }
  if (added.empty()) return;
  resolveStartOffsets(added, first);
  assign();
}

PartitionState* KafkaConsumerState::findPartition(std::string_view topic, std::int32_t partition) {
  for (auto& p : partitions)
    if (p.partition == partition && p.topic == topic) return &p;
  return nullptr;
}

void KafkaConsumerState::resolveStartOffsets(const std::vector<std::size_t>& added, bool first) {
  int timeout = static_cast<int>(options.connect_timeout.count());
  std::vector<std::size_t> committed_needed;
  for (auto i : added) {
    auto& ps = partitions[i];
    std::int64_t low = 0, high = 0;
    // A partition just created may have no leader yet: ask again until the timeout.
    auto deadline = std::chrono::steady_clock::now() + options.connect_timeout;
    rd_kafka_resp_err_t err;
    while ((err = rd_kafka_query_watermark_offsets(client.get(), ps.topic.c_str(), ps.partition,
                                                   &low, &high, timeout)) &&
           std::chrono::steady_clock::now() + Duration(100) < deadline)
      std::this_thread::sleep_for(Duration(100));
    if (err)
      throw ConnectorError(fmt::format("{}: cannot read the offsets of {}/{}: {}", where(),
                                       ps.topic, ps.partition, rd_kafka_err2str(err)));
    if (options.bounded) ps.stop_offset = high;
    auto restored_it = restored.find({ps.topic, ps.partition});
    if (restored_it != restored.end()) {
      ps.next_offset = restored_it->second;
    } else if (!first || restored_flag) {
      ps.next_offset = low;  // a partition created after the job started: all of it
    } else {
      switch (options.start.kind) {
        case KafkaStartPosition::Kind::Earliest:
          ps.next_offset = low;
          break;
        case KafkaStartPosition::Kind::Latest:
          ps.next_offset = high;
          break;
        case KafkaStartPosition::Kind::Timestamp:
          ps.next_offset = offsetForTime(ps, high);
          break;
        case KafkaStartPosition::Kind::CommittedOrEarliest:
          ps.next_offset = low;
          if (!options.group_id.empty()) committed_needed.push_back(i);
          break;
      }
    }
  }
  if (committed_needed.empty()) return;
  KafkaPartitionList list(
      rd_kafka_topic_partition_list_new(static_cast<int>(committed_needed.size())));
  for (auto i : committed_needed)
    rd_kafka_topic_partition_list_add(list.get(), partitions[i].topic.c_str(),
                                      partitions[i].partition);
  // A broker that has just started (or moved the group) answers "not coordinator" or "loading"
  // for a while: retry those until the timeout, fail on anything else.
  auto retriable = [](rd_kafka_resp_err_t e) {
    return e == RD_KAFKA_RESP_ERR_NOT_COORDINATOR ||
           e == RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS ||
           e == RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE;
  };
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout);
  for (;;) {
    rd_kafka_resp_err_t err = rd_kafka_committed(client.get(), list.get(), timeout);
    for (int k = 0; err == RD_KAFKA_RESP_ERR_NO_ERROR && k < list->cnt; ++k)
      err = list->elems[k].err;
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) break;
    if (!retriable(err) || std::chrono::steady_clock::now() >= deadline)
      throw ConnectorError(fmt::format("{}: cannot read the committed offsets of group '{}': {}",
                                       where(), options.group_id, rd_kafka_err2str(err)));
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  for (int k = 0; k < list->cnt; ++k) {
    const auto& tp = list->elems[k];
    if (tp.offset >= 0) findPartition(tp.topic, tp.partition)->next_offset = tp.offset;
  }
}

std::int64_t KafkaConsumerState::offsetForTime(const PartitionState& ps, std::int64_t high) {
  KafkaPartitionList list(rd_kafka_topic_partition_list_new(1));
  rd_kafka_topic_partition_list_add(list.get(), ps.topic.c_str(), ps.partition)->offset =
      options.start.timestamp;
  if (auto err = rd_kafka_offsets_for_times(client.get(), list.get(),
                                            static_cast<int>(options.connect_timeout.count())))
    throw ConnectorError(fmt::format("{}: cannot look up offsets by time in {}/{}: {}", where(),
                                     ps.topic, ps.partition, rd_kafka_err2str(err)));
  std::int64_t offset = list->elems[0].offset;
  return offset >= 0 ? offset : high;  // -1: no record that late yet
}

void KafkaConsumerState::assign() {
  KafkaPartitionList list(rd_kafka_topic_partition_list_new(static_cast<int>(partitions.size())));
  for (auto& ps : partitions) {
    if (ps.stop_offset >= 0 && ps.next_offset >= ps.stop_offset) ps.done = true;
    if (ps.done) continue;
    rd_kafka_topic_partition_list_add(list.get(), ps.topic.c_str(), ps.partition)->offset =
        ps.next_offset;
  }
  if (auto err = rd_kafka_assign(client.get(), list.get()))
    throw ConnectorError(
        fmt::format("{}: assigning partitions failed: {}", where(), rd_kafka_err2str(err)));
}

bool KafkaConsumerState::allDone() const {
  return options.bounded &&
         std::all_of(partitions.begin(), partitions.end(), [](const auto& p) { return p.done; });
}

void KafkaConsumerState::checkMessageError(const rd_kafka_message_t* m) {
  if (!isPermanent(m->err)) return;
  if (m->rkt)
    throw ConnectorError(fmt::format("{}: {}/{}: {}", where(), rd_kafka_topic_name(m->rkt),
                                     m->partition, rd_kafka_message_errstr(m)));
  throw ConnectorError(fmt::format("{}: {}", where(), rd_kafka_message_errstr(m)));
}

Timestamp KafkaConsumerState::currentWatermark(std::chrono::steady_clock::time_point now,
                                               bool& all_idle) const {
  Timestamp w = kMaxTimestamp;
  all_idle = true;
  for (const auto& p : partitions) {
    if (p.done) continue;
    if (options.watermarks.idleness.count() > 0 &&
        now - p.last_record >= options.watermarks.idleness)
      continue;
    all_idle = false;
    Timestamp pw = p.max_timestamp == kMinTimestamp
                       ? kMinTimestamp
                       : p.max_timestamp - options.watermarks.max_out_of_orderness.count() - 1;
    w = std::min(w, pw);
  }
  return all_idle ? kMinTimestamp : w;
}

void KafkaConsumerState::snapshot(StateWriter& w) {
  std::vector<Position> positions;
  w.writeSize(partitions.size());
  for (const auto& p : partitions) {
    w.write(p.topic);
    w.write(p.partition);
    w.write(p.next_offset);
    positions.push_back({p.topic, p.partition, p.next_offset});
  }
  pending_commits.push_back(std::move(positions));
}

void KafkaConsumerState::restore(StateReader& r) {
  auto n = r.readSize();
  for (std::uint64_t i = 0; i < n; ++i) {
    auto topic = r.read<std::string>();
    auto partition = r.read<std::int32_t>();
    restored[{topic, partition}] = r.read<std::int64_t>();
  }
  restored_flag = true;
}

void KafkaConsumerState::notifyCheckpointComplete() {
  if (pending_commits.empty()) return;
  // Checkpoints complete in order: the latest snapshot covers the earlier ones.
  auto positions = std::move(pending_commits.back());
  pending_commits.clear();
  if (options.group_id.empty() || positions.empty()) return;
  KafkaPartitionList list(rd_kafka_topic_partition_list_new(static_cast<int>(positions.size())));
  for (const auto& p : positions)
    rd_kafka_topic_partition_list_add(list.get(), p.topic.c_str(), p.partition)->offset = p.offset;
  auto err = rd_kafka_commit(client.get(), list.get(), 0);
  if (!err) {
    failed_commits = 0;
    return;
  }
  // The positions are in the checkpoint, so one failed commit loses nothing; a group that
  // stays behind would mislead a restart without a checkpoint, so repeated failures do fail.
  if (++failed_commits >= 3)
    throw ConnectorError(fmt::format("{}: committing offsets to group '{}' failed {} times: {}",
                                     where(), options.group_id, failed_commits,
                                     rd_kafka_err2str(err)));
}

template <class T>
SourceStatus KafkaConsumerState::poll(SourceOutput<T>& out) {
  auto now = std::chrono::steady_clock::now();
  if (!options.bounded && options.partition_discovery_interval.count() > 0 && now >= next_discovery)
    discoverPartitions(false);
  if (allDone()) return SourceStatus::Finished;

  std::size_t want = std::min<std::size_t>(std::max<std::size_t>(out.remaining(), 1), 1024);
  buffer.resize(want);
  ssize_t n = rd_kafka_consume_batch_queue(queue.get(), 0, buffer.data(), want);
  if (n < 0)
    throw ConnectorError(
        fmt::format("{}: consuming failed: {}", where(), rd_kafka_err2str(rd_kafka_last_error())));
  // Owned before anything can throw: a message not destroyed keeps rd_kafka_destroy waiting.
  messages.clear();
  for (ssize_t i = 0; i < n; ++i) messages.emplace_back(buffer[static_cast<std::size_t>(i)]);
  bool emitted = false;
  std::string error;
  for (auto& m : messages) {
    if (m->err) {
      checkMessageError(m.get());
      continue;
    }
    PartitionState* ps = findPartition(rd_kafka_topic_name(m->rkt), m->partition);
    // Not ours, done, or fetched before a re-assignment moved the position: not a new record.
    if (!ps || ps->done || m->offset < ps->next_offset) continue;
    if (ps->stop_offset >= 0 && m->offset >= ps->stop_offset) {
      ps->done = true;
      continue;
    }
    T value;
    Timestamp ts = messageTimestamp(m.get());
    if (decode(m.get(), options, value, error)) {
      out.collect(std::move(value), ts);
    } else {
      std::string origin = fmt::format("{}/{}@{}", ps->topic, ps->partition, m->offset);
      if (options.on_malformed == MalformedPolicy::Fail)
        throw InputError(
            fmt::format("{}: {} (a job can send such records to its dead-letter output: "
                        "MalformedPolicy::DeadLetter, lightflusd run --on-error dead-letter)",
                        origin, error));
      out.deadLetter(DeadLetter{std::move(origin), std::string(payload(m.get())), error});
    }
    emitted = true;
    ps->next_offset = m->offset + 1;
    ps->max_timestamp = std::max(ps->max_timestamp, ts);
    ps->last_record = now;
    if (ps->stop_offset >= 0 && ps->next_offset >= ps->stop_offset) ps->done = true;
  }
  bool all_idle = false;
  Timestamp w = currentWatermark(now, all_idle);
  if (w > emitted_watermark && w != kMaxTimestamp) {
    emitted_watermark = w;
    out.emitWatermark(w);
  }
  // A subtask without partitions (more subtasks than partitions, or a pinned partition read
  // by another subtask) is idle too: nothing it could emit may hold the watermark back.
  if (all_idle && !idle_marked) out.markIdle();
  idle_marked = all_idle;
  if (emitted) idle_marked = false;
  messages.clear();
  if (allDone()) return SourceStatus::Finished;
  return static_cast<std::size_t>(n) == want ? SourceStatus::HaveMoreOutput : SourceStatus::Blocked;
}

}  // namespace detail

// --- KafkaSource<T> --------------------------------------------------------------------------

template <class T>
KafkaSource<T>::KafkaSource(KafkaSourceOptions options)
    : state_(std::make_unique<detail::KafkaConsumerState>()) {
  state_->options = std::move(options);
}
template <class T>
KafkaSource<T>::~KafkaSource() = default;
template <class T>
void KafkaSource<T>::open(const SourceContext& ctx) {
  state_->open(ctx);
}
template <class T>
SourceStatus KafkaSource<T>::poll(SourceOutput<T>& out) {
  return state_->poll(out);
}
template <class T>
Duration KafkaSource<T>::blockedWait() const {
  // librdkafka's queue callback wakes the task as soon as messages arrive; this is a fallback
  // that also paces partition discovery and idleness.
  return Duration(50);
}
template <class T>
void KafkaSource<T>::snapshot(StateWriter& w) {
  state_->snapshot(w);
}
template <class T>
void KafkaSource<T>::restore(StateReader& r) {
  state_->restore(r);
}
template <class T>
bool KafkaSource<T>::restoreRescaled(const std::vector<std::string>& previous) {
  // Each old subtask wrote the positions of the partitions it had; together they cover every
  // partition the job had read. This subtask starts those it is assigned at their position.
  for (const auto& bytes : previous) {
    if (bytes.empty()) continue;
    StateReader r(bytes);
    state_->restore(r);
  }
  state_->restored_flag = true;
  return true;
}
template <class T>
void KafkaSource<T>::notifyCheckpointComplete(std::uint64_t) {
  state_->notifyCheckpointComplete();
}
template <class T>
void KafkaSource<T>::close() {
  state_.reset();
}

template class KafkaSource<std::string>;
template class KafkaSource<std::int64_t>;
template class KafkaSource<double>;
template class KafkaSource<Value>;
template class KafkaSource<KafkaRecord>;

}  // namespace lightflus
