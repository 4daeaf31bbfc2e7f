#include "source_map.hpp"

#include <algorithm>
#include <array>
#include <string>

#include "lightflus/error.hpp"
#include "lightflus/value.hpp"

namespace lightflus::js {

namespace {

constexpr std::string_view kBase64 =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

constexpr std::array<int, 256> makeBase64Table() {
  std::array<int, 256> table{};
  table.fill(-1);
  for (std::size_t i = 0; i < kBase64.size(); ++i)
    table[static_cast<unsigned char>(kBase64[i])] = i;
  return table;
}

constexpr std::array<int, 256> kBase64Table = makeBase64Table();

// Reads one Base64 VLQ number at `pos` (advancing it).
int readVlq(std::string_view text, std::size_t& pos) {
  long value = 0;
  int shift = 0;
  while (true) {
    if (pos >= text.size()) throw Error("source map: truncated VLQ number in \"mappings\"");
    int digit = kBase64Table[static_cast<unsigned char>(text[pos++])];
    if (digit < 0 || shift > 30) throw Error("source map: invalid VLQ digit in \"mappings\"");
    value |= static_cast<long>(digit & 31) << shift;
    shift += 5;
    if ((digit & 32) == 0) break;
  }
  return static_cast<int>((value & 1) ? -(value >> 1) : (value >> 1));
}

// The lines of `text`, without their line breaks.
std::vector<std::string> linesOf(std::string_view text) {
  std::vector<std::string> lines;
  for (std::size_t start = 0; start < text.size();) {
    std::size_t end = std::min(text.find('\n', start), text.size());
    lines.emplace_back(text.substr(start, end - start));
    start = end + 1;
  }
  return lines;
}

}  // namespace

SourceMap SourceMap::decode(std::string_view mappings) {
  SourceMap map;
  map.lines_.emplace_back();
  // Fields other than the generated column are relative to the previous segment of the whole
  // map; the generated column restarts at each line.
  int source = 0, original_line = 0, original_column = 0;
  int generated_column = 0;
  std::size_t pos = 0;
  while (pos < mappings.size()) {
    char c = mappings[pos];
    if (c == ';') {
      map.lines_.emplace_back();
      generated_column = 0;
      ++pos;
      continue;
    }
    if (c == ',') {
      ++pos;
      continue;
    }
    generated_column += readVlq(mappings, pos);
    int fields = 1;
    while (pos < mappings.size() && mappings[pos] != ',' && mappings[pos] != ';') {
      int value = readVlq(mappings, pos);
      switch (fields++) {
        case 1:
          source += value;
          break;
        case 2:
          original_line += value;
          break;
        case 3:
          original_column += value;
          break;
        default:
          break;  // the name index is not needed
      }
    }
    if (fields >= 4) {
      map.lines_.back().push_back(
          {generated_column, source, SourcePosition{original_line + 1, original_column + 1}});
    }
  }
  for (auto& line : map.lines_) {
    std::stable_sort(line.begin(), line.end(), [](const Segment& a, const Segment& b) {
      return a.generated_column < b.generated_column;
    });
  }
  return map;
}

SourceMap SourceMap::fromMappings(std::string_view mappings, std::string_view original_source) {
  SourceMap map = decode(mappings);
  map.original_lines_.push_back(linesOf(original_source));
  return map;
}

SourceMap SourceMap::fromJson(std::string_view json) {
  Value doc;
  try {
    doc = Value::parseJson(json);
  } catch (const std::exception& e) {
    throw Error(std::string("source map: not JSON: ") + e.what());
  }
  if (!doc.isObject()) throw Error("source map: expected a JSON object");
  // Looked up const: a missing key must not be added (that would move the members the
  // references below point at).
  const Value& json_map = doc;
  const Value& version = json_map["version"];
  if (!version.isNull() && !(version.isInt() && version.asInt() == 3))
    throw Error("source map: only version 3 is supported");
  const Value& mappings = json_map["mappings"];
  if (!mappings.isString()) throw Error("source map: \"mappings\" must be a string");
  const Value& sources = json_map["sources"];
  if (!sources.isArray() || sources.asArray().empty())
    throw Error("source map: \"sources\" must be a non-empty array of file names");
  std::string root =
      json_map["sourceRoot"].isString() ? std::string(json_map["sourceRoot"].asString()) : "";
  if (!root.empty() && !root.ends_with('/')) root += '/';

  SourceMap map = decode(mappings.asString());
  const Value& contents = json_map["sourcesContent"];
  for (std::size_t i = 0; i < sources.asArray().size(); ++i) {
    const Value& name = sources[i];
    if (!name.isString()) throw Error("source map: \"sources\" must hold file names (strings)");
    map.sources_.push_back(root + std::string(name.asString()));
    const bool has_text =
        contents.isArray() && i < contents.asArray().size() && contents[i].isString();
    map.original_lines_.push_back(has_text ? linesOf(contents[i].asString())
                                           : std::vector<std::string>{});
  }
  for (const auto& line : map.lines_) {
    for (const Segment& segment : line) {
      if (segment.source < 0 || segment.source >= static_cast<int>(map.sources_.size()))
        throw Error("source map: a mapping names source " + std::to_string(segment.source) +
                    ", but \"sources\" has " + std::to_string(map.sources_.size()));
    }
  }
  return map;
}

std::optional<OriginalLocation> SourceMap::originalLocation(SourcePosition generated,
                                                            std::string_view generated_line) const {
  int line = std::min<int>(generated.line - 1, static_cast<int>(lines_.size()) - 1);
  if (line < 0) return std::nullopt;
  const auto& segments = lines_[line];
  if (line == generated.line - 1) {
    int column = generated.column - 1;
    auto after = std::upper_bound(segments.begin(), segments.end(), column,
                                  [](int c, const Segment& s) { return c < s.generated_column; });
    if (after != segments.begin()) {
      OriginalLocation location = locationOf(*std::prev(after));
      location.position = refine(*std::prev(after), column, generated_line);
      return location;
    }
    // Before the first mapped segment of its line (indentation, say): the line's first
    // segment names the statement the position belongs to.
    if (!segments.empty()) return locationOf(segments.front());
  } else if (!segments.empty()) {
    return locationOf(segments.back());
  }
  for (int l = line - 1; l >= 0; --l) {
    if (!lines_[l].empty()) return locationOf(lines_[l].back());
  }
  return std::nullopt;
}

std::optional<SourcePosition> SourceMap::originalPosition(SourcePosition generated,
                                                          std::string_view generated_line) const {
  auto location = originalLocation(generated, generated_line);
  if (!location) return std::nullopt;
  return location->position;
}

std::string SourceMap::locate(std::string_view resource, SourcePosition generated,
                              std::string_view generated_line) const {
  std::string file(resource);
  SourcePosition position = generated;
  if (auto location = originalLocation(generated, generated_line)) {
    if (!location->source.empty()) file = location->source;
    position = location->position;
  }
  return file + ":" + std::to_string(position.line) + ":" + std::to_string(position.column);
}

OriginalLocation SourceMap::locationOf(const Segment& segment) const {
  std::string_view source;
  if (segment.source >= 0 && segment.source < static_cast<int>(sources_.size()))
    source = sources_[segment.source];
  return {source, segment.original};
}

SourcePosition SourceMap::refine(const Segment& segment, int generated_column,
                                 std::string_view generated_line) const {
  // A map from fromMappings has one source: its segments' source index says nothing.
  const std::size_t source = sources_.empty() ? 0 : static_cast<std::size_t>(segment.source);
  if (source >= original_lines_.size()) return segment.original;
  const std::vector<std::string>& original_lines = original_lines_[source];
  int line = segment.original.line - 1;
  auto start = static_cast<std::size_t>(segment.generated_column);
  auto end = static_cast<std::size_t>(generated_column) + 1;  // the position's character too
  if (line < 0 || line >= static_cast<int>(original_lines.size()) || end > generated_line.size()) {
    return segment.original;
  }
  std::string_view original_line = original_lines[line];
  auto original_start = static_cast<std::size_t>(segment.original.column - 1);
  std::string_view span = generated_line.substr(start, end - start);
  if (original_line.substr(std::min(original_start, original_line.size()), span.size()) != span) {
    return segment.original;
  }
  return {segment.original.line,
          segment.original.column + (generated_column - segment.generated_column)};
}

}  // namespace lightflus::js
