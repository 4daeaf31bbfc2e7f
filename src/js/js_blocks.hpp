// Key-group blocks: how JavaScript operators hand keyed elements across a keyBy exchange.
//
// A keyed exchange of Values costs per element: a Value tree (or string) made from V8, the
// key's hash, a slot in a queue, and a conversion back into V8 on the other side. Between two
// JavaScript operators (a fused chain and keyBy in front of a rolling reduce or a process
// function) the elements go instead as blocks: per batch, one element per key group present,
// whose value is the JSON text {"k": [keys], "v": [values], "t": [timestamps]} of the
// elements of that group, and whose key is a routing key chosen so that the exchange sends it
// to the subtask owning that key group (routingKey). The reader parses a batch of blocks with
// one JSON.parse. Each element's key group is computed from its real key, as the engine's hash
// exchange computes it (std::hash<Value>, keyGroupOf), so keyed state, snapshots and restores
// by key group are the same as without blocks.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "lightflus/element.hpp"
#include "lightflus/value.hpp"

namespace lightflus::js {

/// An element of a keyed stream: (key, value) (as in js_operators.hpp).
using KeyedValue = std::pair<Value, Value>;

/// The spans [begin, end) of the items of the JSON array text `text` (as JSON.stringify writes
/// it: no whitespace needed, but tolerated), appended to `spans`. False when `text` is not an
/// array.
bool splitJsonArray(std::string_view text, std::vector<std::pair<std::size_t, std::size_t>>& spans);

/// A Value whose key group is `key_group` (the exchange routes it to that group's subtask).
const Value& routingKey(int key_group, int max_parallelism);

/// Collects elements into key-group blocks.
class KeyGroupBlocks {
 public:
  explicit KeyGroupBlocks(int max_parallelism);

  /// Adds an element: its key and value as JSON texts, and its timestamp.
  void add(std::string_view key_json, std::string_view value_json, Timestamp time);
  /// The blocks so far as keyed elements (stamped with their first element's time), appended
  /// to `out`; starts over.
  void take(Batch<KeyedValue>& out);

 private:
  struct Block {
    std::string keys, values, times;
    Timestamp first = kMinTimestamp;
    bool used = false;
  };
  int keyGroup(std::string_view key_json) const;

  int max_parallelism_;
  std::vector<Block> blocks_;
  std::vector<int> used_;
};

}  // namespace lightflus::js
