// Keyed JavaScript operators that take their keyBy's batch as it is, without key-group blocks.
//
// Across a keyBy over JSON texts the elements travel as key-group blocks (js_blocks.hpp): the
// keyBy parses each line to compute its time and key, and the keyed operator after it (a
// process function, a tumbling or sliding window) parses the blocks again. Where the keyBy and
// its reader share a task (parallelism 1: the engine chains the edge, so the keyBy's output is
// the reader's input itself) there is nothing to route, and the keyBy hands the reader the
// arrays it parsed, in the same isolate and the same HandleScope: each element is parsed once.
// Both stay engine operators of their own (names, record counts, dead letters, uids and
// snapshots are those of the unfused job), so checkpoints restore between the two forms and at
// any parallelism.
//
// The keyBy finds its reader through JsKeyedReaders, a table the graph builder shares between
// the two operators' factories: the engine makes a chained operator before the one feeding it,
// and the reader enters itself under its input's address. A keyBy whose output is not in the
// table (an exchange, a fan-out) sends blocks as before.
#pragma once

#include <v8-container.h>
#include <v8-local-handle.h>
#include <v8-typed-array.h>

#include <cstddef>
#include <mutex>
#include <unordered_map>

namespace lightflus::js {

/// A keyed batch as JS arrays: keys (undefined where `same`), same[i] = 1 where the key is the
/// value itself, and the values. `times` has the elements' timestamps (NaN: none) where the
/// batch came as key-group blocks or straight from a keyBy (else it is empty); `count` says how
/// many elements there are.
struct KeyedArrays {
  v8::Local<v8::Array> keys;
  v8::Local<v8::Uint8Array> same;
  v8::Local<v8::Array> values;
  v8::Local<v8::Float64Array> times;
  std::size_t count = 0;
};

/// A keyed operator a keyBy in the same task hands its parsed batches to.
class JsKeyedReader {
 public:
  virtual ~JsKeyedReader() = default;
  /// Adds elements as the keyBy parsed them (keys as key-group blocks would carry them: through
  /// JSON text) and hands on what they made. Called on the task's thread inside the keyBy's
  /// isolate scope and HandleScope.
  virtual void addParsed(const KeyedArrays& arrays) = 0;
};

/// The keyed readers of one job's graph, by the address of their input.
class JsKeyedReaders {
 public:
  void add(const void* input, JsKeyedReader* reader) {
    std::lock_guard lock(mutex_);
    readers_[input] = reader;
  }
  void remove(const void* input) {
    std::lock_guard lock(mutex_);
    readers_.erase(input);
  }
  /// The reader whose input is `input`, or null.
  JsKeyedReader* find(const void* input) const {
    std::lock_guard lock(mutex_);
    auto it = readers_.find(input);
    return it == readers_.end() ? nullptr : it->second;
  }

 private:
  mutable std::mutex mutex_;
  std::unordered_map<const void*, JsKeyedReader*> readers_;
};

}  // namespace lightflus::js
