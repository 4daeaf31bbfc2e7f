#include "js_blocks.hpp"

#include <charconv>
#include <map>
#include <memory>
#include <mutex>

#include "lightflus/detail/channel.hpp"

namespace lightflus::js {

bool splitJsonArray(std::string_view text,
                    std::vector<std::pair<std::size_t, std::size_t>>& spans) {
  spans.clear();
  std::size_t i = 0;
  const std::size_t n = text.size();
  auto space = [&] {
    while (i < n && (text[i] == ' ' || text[i] == '\n' || text[i] == '\t' || text[i] == '\r')) ++i;
  };
  space();
  if (i >= n || text[i] != '[') return false;
  ++i;
  space();
  if (i < n && text[i] == ']') return true;
  std::size_t start = i;
  int depth = 0;
  for (; i < n; ++i) {
    const char c = text[i];
    if (c == '"') {
      for (++i; i < n && text[i] != '"'; ++i)
        if (text[i] == '\\') ++i;  // the escaped character
    } else if (c == '[' || c == '{') {
      ++depth;
    } else if (c == ']' || c == '}') {
      if (depth == 0) {  // the array's end
        std::size_t end = i;
        while (end > start && (text[end - 1] == ' ' || text[end - 1] == '\n')) --end;
        spans.emplace_back(start, end);
        return true;
      }
      --depth;
    } else if (c == ',' && depth == 0) {
      std::size_t end = i;
      while (end > start && (text[end - 1] == ' ' || text[end - 1] == '\n')) --end;
      spans.emplace_back(start, end);
      ++i;
      space();
      start = i;
      --i;
    }
  }
  return false;
}

const Value& routingKey(int key_group, int max_parallelism) {
  static std::mutex mutex;
  static std::map<int, std::shared_ptr<const std::vector<Value>>> tables;
  std::shared_ptr<const std::vector<Value>> table;
  {
    std::lock_guard lock(mutex);
    auto& t = tables[max_parallelism];
    if (!t) {
      // The smallest integer of each key group.
      auto keys = std::make_shared<std::vector<Value>>(static_cast<std::size_t>(max_parallelism));
      std::vector<bool> found(static_cast<std::size_t>(max_parallelism), false);
      int missing = max_parallelism;
      for (std::int64_t i = 0; missing > 0; ++i) {
        Value v(i);
        auto g = static_cast<std::size_t>(detail::keyGroupOf(v.hash(), max_parallelism));
        if (found[g]) continue;
        found[g] = true;
        (*keys)[g] = std::move(v);
        --missing;
      }
      t = std::move(keys);
    }
    table = t;
  }
  return (*table)[static_cast<std::size_t>(key_group)];
}

KeyGroupBlocks::KeyGroupBlocks(int max_parallelism)
    : max_parallelism_(max_parallelism), blocks_(static_cast<std::size_t>(max_parallelism)) {
  routingKey(0, max_parallelism);  // the table, made once, before the first batch
}

int KeyGroupBlocks::keyGroup(std::string_view key_json) const {
  // A string without escapes hashes as its text between the quotes (Value::hash of a String);
  // anything else as the Value the JSON text is.
  std::size_t hash;
  std::int64_t integer = 0;
  const char* end = key_json.data() + key_json.size();
  if (key_json.size() >= 2 && key_json.front() == '"' && key_json.back() == '"' &&
      key_json.find('\\') == std::string_view::npos)
    hash = std::hash<std::string_view>{}(key_json.substr(1, key_json.size() - 2));
  else if (!key_json.empty() && key_json.size() <= 18 &&
           std::from_chars(key_json.data(), end, integer).ptr == end)
    hash = Value(integer).hash();  // an integer, as parseJson would make it
  else
    hash = Value::parseJson(key_json).hash();
  return detail::keyGroupOf(hash, max_parallelism_);
}

void KeyGroupBlocks::add(std::string_view key_json, std::string_view value_json, Timestamp time) {
  const int group = keyGroup(key_json);
  Block& b = blocks_[static_cast<std::size_t>(group)];
  if (!b.used) {
    b.used = true;
    b.first = time;
    used_.push_back(group);
  } else {
    b.keys.push_back(',');
    b.values.push_back(',');
    b.times.push_back(',');
  }
  b.keys += key_json;
  b.values += value_json;
  if (time == kMinTimestamp) {
    b.times += "null";
  } else {
    char buffer[24];
    auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, time);
    b.times.append(buffer, end);
  }
}

void KeyGroupBlocks::take(Batch<KeyedValue>& out) {
  std::string text;
  for (int group : used_) {
    Block& b = blocks_[static_cast<std::size_t>(group)];
    text.clear();
    text.reserve(b.keys.size() + b.values.size() + b.times.size() + 20);
    text += "{\"k\":[";
    text += b.keys;
    text += "],\"v\":[";
    text += b.values;
    text += "],\"t\":[";
    text += b.times;
    text += "]}";
    out.push_back(Element<KeyedValue>{
        KeyedValue{routingKey(group, max_parallelism_), Value(std::string_view(text))}, b.first});
    b.keys.clear();
    b.values.clear();
    b.times.clear();
    b.used = false;
  }
  used_.clear();
}

}  // namespace lightflus::js
