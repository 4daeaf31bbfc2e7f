// Epochs of the exactly-once Kafka sink: the records one sink subtask wrote between two
// checkpoints, and the state it keeps in a checkpoint (docs/kafka.md, "Exactly-once").
//
// An epoch is named by the checkpoint that closed it. The sink keeps the records of every epoch
// that has not committed yet, so that a restore can produce them again when the transaction
// that held them did not commit. Each transaction records the last epoch it holds as the
// committed offset of partition 0 of the output topic for the subtask's marker group
// (send_offsets_to_transaction), atomically with its records: that offset tells a restore
// which epochs committed.
#pragma once

#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lightflus/serializer.hpp"
#include "lightflus/time.hpp"

namespace lightflus::detail {

/// The records of one epoch, packed into one string (one allocation per epoch, copied into a
/// snapshot as it is). Per record: a flag byte (1: with a key), [u32 key size, key], u32 value
/// size, value, i64 timestamp.
struct EpochRecords {
  /// The checkpoint that closed the epoch; 0 while it is open.
  std::uint64_t checkpoint_id = 0;
  std::string packed;
  std::uint64_t count = 0;
  /// Every record of the epoch has been produced into the open transaction.
  bool in_transaction = false;

  void append(std::optional<std::string_view> key, std::string_view value, Timestamp timestamp) {
    packed.push_back(key ? '\1' : '\0');
    if (key) appendBytes(*key);
    appendBytes(value);
    packed.append(reinterpret_cast<const char*>(&timestamp), sizeof timestamp);
    ++count;
  }

  /// Calls f(std::optional<std::string_view> key, std::string_view value, Timestamp) per record.
  template <class F>
  void forEach(F&& f) const {
    StateReader r(packed);
    for (std::uint64_t i = 0; i < count; ++i) {
      std::optional<std::string_view> key;
      if (r.read<char>() != '\0') key = r.readView(r.read<std::uint32_t>());
      std::string_view value = r.readView(r.read<std::uint32_t>());
      f(key, value, r.read<Timestamp>());
    }
  }

 private:
  void appendBytes(std::string_view bytes) {
    auto n = static_cast<std::uint32_t>(bytes.size());
    packed.append(reinterpret_cast<const char*>(&n), sizeof n);
    packed.append(bytes);
  }
};

/// What an exactly-once sink subtask keeps in a checkpoint: who it was and the epochs that had
/// not committed when the checkpoint was taken (the checkpoint's own epoch last).
struct EpochSnapshot {
  static constexpr std::uint32_t kFormat = 1;

  std::string transactional_id;  ///< "<transactional_id>-<subtask>"
  std::string marker_group;      ///< the group whose committed offset names the last epoch
  std::string topic;             ///< the output topic; partition 0 carries the marker
  std::vector<EpochRecords> pending;

  template <class Epochs>
  static void write(StateWriter& w, const std::string& transactional_id,
                    const std::string& marker_group, const std::string& topic,
                    const Epochs& pending) {
    w.write(kFormat);
    w.write(transactional_id);
    w.write(marker_group);
    w.write(topic);
    w.writeSize(pending.size());
    for (const auto& e : pending) {
      w.write(e.checkpoint_id);
      w.write(e.count);
      w.write(e.packed);
    }
  }

  /// Parses write()'s output; throws InputError when it is not one.
  static EpochSnapshot read(std::string_view bytes) {
    StateReader r(bytes);
    if (auto format = r.read<std::uint32_t>(); format != kFormat)
      throw InputError("the Kafka sink's snapshot has format " + std::to_string(format) +
                       ", this version reads format " + std::to_string(kFormat));
    EpochSnapshot s;
    s.transactional_id = r.read<std::string>();
    s.marker_group = r.read<std::string>();
    s.topic = r.read<std::string>();
    auto n = r.readSize();
    for (std::uint64_t i = 0; i < n; ++i) {
      EpochRecords e;
      e.checkpoint_id = r.read<std::uint64_t>();
      e.count = r.read<std::uint64_t>();
      e.packed = r.read<std::string>();
      s.pending.push_back(std::move(e));
    }
    if (!r.atEnd()) throw InputError("the Kafka sink's snapshot has trailing bytes");
    return s;
  }
};

}  // namespace lightflus::detail
