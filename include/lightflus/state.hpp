// Keyed state: values, lists and maps scoped to the key being processed.
//
// Operators after keyBy() keep state per key in a KeyedStateBackend: one hash table per named
// state. ValueState, ListState and MapState are handles that read and write the entry of the
// current key. Keys belong to key groups (hash of the key modulo the job's max parallelism);
// a snapshot writes every entry, and a restore keeps the entries whose key group the subtask
// owns, so state can be restored at a different parallelism.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "lightflus/detail/channel.hpp"
#include "lightflus/serializer.hpp"

namespace lightflus {

namespace detail {

/// Whether `key` belongs to `subtask` of `parallelism` (key-group ranges).
template <class K, class Hash>
bool ownsKey(const K& key, const Hash& hash, int subtask, int parallelism, int max_parallelism) {
  int kg = keyGroupOf(hash(key), max_parallelism);
  return subtaskOfKeyGroup(kg, parallelism, max_parallelism) == subtask;
}

template <class K>
class StateTableBase {
 public:
  explicit StateTableBase(const void* type) : type_tag(type) {}
  virtual ~StateTableBase() = default;
  const void* type_tag;
  virtual void snapshot(StateWriter& w) const = 0;
  virtual void restore(StateReader& r, const std::function<bool(const K&)>& owned) = 0;
  virtual void erase(const K& key) = 0;
};

template <class K, class S, class Hash = std::hash<K>>
class StateTable final : public StateTableBase<K> {
 public:
  StateTable() : StateTableBase<K>(typeTag<S>()) {}
  std::unordered_map<K, S, Hash> map;

  void snapshot(StateWriter& w) const override {
    if constexpr (std::is_trivially_copyable_v<K> && std::is_trivially_copyable_v<S>)
      w.reserve(sizeof(std::uint64_t) + map.size() * (sizeof(K) + sizeof(S)));
    w.writeSize(map.size());
    for (const auto& [k, v] : map) {
      writeIfSerializable(w, k);
      writeIfSerializable(w, v);
    }
  }
  void restore(StateReader& r, const std::function<bool(const K&)>& owned) override {
    auto n = r.readSize();
    for (std::uint64_t i = 0; i < n; ++i) {
      K k = readIfSerializable<K>(r);
      S v = readIfSerializable<S>(r);
      if (owned(k)) map.insert_or_assign(std::move(k), std::move(v));
    }
  }
  void erase(const K& key) override { map.erase(key); }
};

}  // namespace detail

/// Named state tables of one keyed operator subtask, and the current key.
template <class K, class Hash = std::hash<K>>
class KeyedStateBackend {
 public:
  template <class S>
  detail::StateTable<K, S, Hash>& table(const std::string& name) {
    auto it = tables_.find(name);
    if (it == tables_.end()) {
      auto t = std::make_unique<detail::StateTable<K, S, Hash>>();
      auto* raw = t.get();
      tables_.emplace(name, std::move(t));
      // Entries restored before the table was declared are waiting in pending_.
      if (auto p = pending_.find(name); p != pending_.end()) {
        for (auto& bytes : p->second) {
          StateReader r(bytes);
          raw->restore(r, owned_);
        }
        pending_.erase(p);
      }
      return *raw;
    }
    if (it->second->type_tag != detail::typeTag<S>())
      throw ConfigError("state '" + name + "' was declared with two different types");
    return static_cast<detail::StateTable<K, S, Hash>&>(*it->second);
  }

  const K& currentKey() const { return *current_key_; }
  void setCurrentKey(const K* key) { current_key_ = key; }

  void snapshot(StateWriter& w) const {
    w.writeSize(tables_.size() + pending_.size());
    for (const auto& [name, t] : tables_) {
      // The form of w.write(std::vector<std::string>{bytes}), written in place.
      w.write(name);
      w.writeSize(1);
      w.writeLengthPrefixed([&](StateWriter& inner) { t->snapshot(inner); });
    }
    for (const auto& [name, parts] : pending_) {
      w.write(name);
      w.write(parts);
    }
  }
  /// Reads the snapshots of all old subtasks; keeps what `owned` accepts.
  void restore(const std::vector<std::string>& previous, std::function<bool(const K&)> owned) {
    owned_ = std::move(owned);
    for (const auto& bytes : previous) {
      if (bytes.empty()) continue;
      StateReader r(bytes);
      auto n = r.readSize();
      for (std::uint64_t i = 0; i < n; ++i) {
        auto name = r.read<std::string>();
        auto parts = r.read<std::vector<std::string>>();
        auto& dst = pending_[name];
        dst.insert(dst.end(), parts.begin(), parts.end());
      }
    }
  }
  void clearKey(const K& key) {
    for (auto& [name, t] : tables_) t->erase(key);
  }

 private:
  std::map<std::string, std::unique_ptr<detail::StateTableBase<K>>> tables_;
  std::map<std::string, std::vector<std::string>> pending_;
  std::function<bool(const K&)> owned_ = [](const K&) { return true; };
  const K* current_key_ = nullptr;
};

/// One value per key.
template <class K, class S, class Hash = std::hash<K>>
class ValueState {
 public:
  ValueState(detail::StateTable<K, S, Hash>& table, KeyedStateBackend<K, Hash>& backend)
      : table_(&table), backend_(&backend) {}
  /// The value of the current key, or nullptr.
  const S* get() const {
    auto it = table_->map.find(backend_->currentKey());
    return it == table_->map.end() ? nullptr : &it->second;
  }
  /// The value of the current key, or `fallback`.
  S value(S fallback = S{}) const {
    const S* v = get();
    return v ? *v : fallback;
  }
  void update(S value) { table_->map.insert_or_assign(backend_->currentKey(), std::move(value)); }
  void clear() { table_->map.erase(backend_->currentKey()); }

 private:
  detail::StateTable<K, S, Hash>* table_;
  KeyedStateBackend<K, Hash>* backend_;
};

/// A list per key.
template <class K, class S, class Hash = std::hash<K>>
class ListState {
 public:
  ListState(detail::StateTable<K, std::vector<S>, Hash>& table, KeyedStateBackend<K, Hash>& backend)
      : table_(&table), backend_(&backend) {}
  void add(S value) { table_->map[backend_->currentKey()].push_back(std::move(value)); }
  /// The list of the current key (empty if none).
  const std::vector<S>& get() const {
    static const std::vector<S> empty;
    auto it = table_->map.find(backend_->currentKey());
    return it == table_->map.end() ? empty : it->second;
  }
  void update(std::vector<S> values) {
    table_->map.insert_or_assign(backend_->currentKey(), std::move(values));
  }
  void clear() { table_->map.erase(backend_->currentKey()); }

 private:
  detail::StateTable<K, std::vector<S>, Hash>* table_;
  KeyedStateBackend<K, Hash>* backend_;
};

/// A map per key.
template <class K, class UK, class UV, class Hash = std::hash<K>>
class MapState {
 public:
  using Map = std::unordered_map<UK, UV>;
  MapState(detail::StateTable<K, Map, Hash>& table, KeyedStateBackend<K, Hash>& backend)
      : table_(&table), backend_(&backend) {}
  void put(UK key, UV value) {
    table_->map[backend_->currentKey()].insert_or_assign(std::move(key), std::move(value));
  }
  /// The value of `key`, inserted default-constructed if absent, to update in place.
  UV& getOrInsert(const UK& key) { return table_->map[backend_->currentKey()][key]; }
  const UV* get(const UK& key) const {
    auto it = table_->map.find(backend_->currentKey());
    if (it == table_->map.end()) return nullptr;
    auto v = it->second.find(key);
    return v == it->second.end() ? nullptr : &v->second;
  }
  bool contains(const UK& key) const { return get(key) != nullptr; }
  void remove(const UK& key) {
    auto it = table_->map.find(backend_->currentKey());
    if (it != table_->map.end()) it->second.erase(key);
  }
  /// All entries of the current key.
  const Map& entries() const {
    static const Map empty;
    auto it = table_->map.find(backend_->currentKey());
    return it == table_->map.end() ? empty : it->second;
  }
  void clear() { table_->map.erase(backend_->currentKey()); }

 private:
  detail::StateTable<K, Map, Hash>* table_;
  KeyedStateBackend<K, Hash>* backend_;
};

}  // namespace lightflus
