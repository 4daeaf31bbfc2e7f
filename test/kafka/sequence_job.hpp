// The job of the exactly-once tests, and the check of its output.
//
// Input records are "<key>:<seq>" (Kafka key <key>), each key's seq counting 1, 2, 3, ... in
// one partition. The job keys by <key>, checks in keyed state that each seq is exactly one more
// than the key's last (Flink's SemanticsCheckMapper: a restore that lost or repeated state
// fails the job), and writes the record to an ExactlyOnce Kafka sink keyed by <key>. A
// read_committed reader of the output must then see, per key, 1, 2, 3, ... n: once each, in
// order (checkSequences()).
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "lightflus/connectors/kafka.hpp"
#include "lightflus/lightflus.hpp"

namespace lightflus::test {

struct SequenceJobOptions {
  std::string brokers;
  std::string input;
  std::string output;
  std::string transactional_id;
  bool bounded = false;
  /// Counts the records the sequence check passed (may be null).
  std::shared_ptr<std::atomic<long>> processed;
  /// Sleep 1 ms after every `pause_every` records (0: never), so that a test can act while the
  /// job is in the middle of its input.
  long pause_every = 0;
};

/// "<key>:<seq>" -> <seq>; -1 when malformed.
inline long sequenceOf(const std::string& record) {
  auto colon = record.rfind(':');
  if (colon == std::string::npos) return -1;
  return std::stol(record.substr(colon + 1));
}

inline std::string keyOf(const std::string& record) {
  return record.substr(0, record.rfind(':'));
}

struct SequenceCheck {
  std::shared_ptr<std::atomic<long>> processed;
  long pause_every = 0;
  long seen = 0;
  void processElement(const std::string& record, KeyedContext<std::string, std::string>& ctx) {
    auto last = ctx.valueState<long>("last");
    long seq = sequenceOf(record);
    if (seq != last.value(0) + 1)
      throw Error("sequence check: key '" + ctx.key() + "' got " + std::to_string(seq) + " after " +
                  std::to_string(last.value(0)));
    last.update(seq);
    if (processed) processed->fetch_add(1, std::memory_order_relaxed);
    if (pause_every > 0 && ++seen % pause_every == 0)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    ctx.collect(record);
  }
};

inline void buildSequenceJob(ExecutionContext& ctx, const SequenceJobOptions& o) {
  auto records = readKafka<std::string>(ctx, {.brokers = o.brokers,
                                              .topics = {o.input},
                                              .start = KafkaStartPosition::earliest(),
                                              .bounded = o.bounded,
                                              .value_format = KafkaValueFormat::String})
                     // Fixed: the source cannot be restored at another parallelism (source.hpp);
                     // the keyed check and the sink take the job's parallelism.
                     .parallelism(2)
                     .uid("input");
  auto checked = records.keyBy([](const std::string& r) { return keyOf(r); })
                     .process<std::string>(SequenceCheck{o.processed, o.pause_every})
                     .uid("sequence-check");
  writeKafka(checked,
             {.brokers = o.brokers,
              .topic = o.output,
              .delivery = KafkaDelivery::ExactlyOnce,
              .transactional_id = o.transactional_id},
             [](const std::string& r) { return keyOf(r); })
      .uid("output");
}

/// Input lines for kcatProduce(..., keyed = true): "<key>:<key>:<seq>" for the records
/// [from, to) of a stream where `keys` keys take turns (record i: key i % keys, seq
/// i / keys + 1), so that consecutive ranges continue each other.
inline std::vector<std::string> sequenceInput(long from, long to, int keys) {
  std::vector<std::string> lines;
  lines.reserve(static_cast<std::size_t>(to - from));
  for (long i = from; i < to; ++i) {
    std::string key = "k" + std::to_string(i % keys);
    lines.push_back(key + ":" + key + ":" + std::to_string(i / keys + 1));
  }
  return lines;
}

/// What is wrong with the output records (in the order a reader got them), "" when each key's
/// sequence steps by exactly +1 from 1 and there are `count` records of `keys` keys in all.
inline std::string checkSequences(const std::vector<std::string>& output, long count, int keys) {
  std::map<std::string, long> last;
  std::string problems;
  int reported = 0;
  for (const auto& r : output) {
    long seq = sequenceOf(r);
    long& l = last[keyOf(r)];
    if (seq != l + 1 && reported++ < 10)
      problems += "key " + keyOf(r) + ": " + std::to_string(seq) + " after " + std::to_string(l) +
                  (seq <= l ? " (a duplicate or out of order)" : " (a gap or out of order)") + "\n";
    l = std::max(l, seq);
  }
  long expected_per_key = count / keys;
  for (int k = 0; k < keys; ++k) {
    long got = last["k" + std::to_string(k)];
    long want = expected_per_key + (k < count % keys ? 1 : 0);
    if (got != want && reported++ < 20)
      problems += "key k" + std::to_string(k) + ": ends at " + std::to_string(got) + ", expected " +
                  std::to_string(want) + "\n";
  }
  if (static_cast<long>(output.size()) != count)
    problems +=
        std::to_string(output.size()) + " records, expected " + std::to_string(count) + "\n";
  return problems;
}

}  // namespace lightflus::test
