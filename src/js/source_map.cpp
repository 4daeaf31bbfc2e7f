#include "source_map.hpp"

#include <algorithm>
#include <array>
#include <string>

#include "lightflus/error.hpp"

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

}  // namespace

SourceMap SourceMap::fromMappings(std::string_view mappings, std::string_view original_source) {
  SourceMap map;
  for (std::size_t start = 0; start < original_source.size();) {
    std::size_t end = std::min(original_source.find('\n', start), original_source.size());
    map.original_lines_.emplace_back(original_source.substr(start, end - start));
    start = end + 1;
  }
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
          {generated_column, SourcePosition{original_line + 1, original_column + 1}});
    }
  }
  for (auto& line : map.lines_) {
    std::stable_sort(line.begin(), line.end(), [](const Segment& a, const Segment& b) {
      return a.generated_column < b.generated_column;
    });
  }
  return map;
}

std::optional<SourcePosition> SourceMap::originalPosition(SourcePosition generated,
                                                          std::string_view generated_line) const {
  int line = std::min<int>(generated.line - 1, static_cast<int>(lines_.size()) - 1);
  if (line < 0) return std::nullopt;
  const auto& segments = lines_[line];
  if (line == generated.line - 1) {
    int column = generated.column - 1;
    auto after = std::upper_bound(segments.begin(), segments.end(), column,
                                  [](int c, const Segment& s) { return c < s.generated_column; });
    if (after != segments.begin()) return refine(*std::prev(after), column, generated_line);
    // Before the first mapped segment of its line (indentation, say): the line's first
    // segment names the statement the position belongs to.
    if (!segments.empty()) return segments.front().original;
  } else if (!segments.empty()) {
    return segments.back().original;
  }
  for (int l = line - 1; l >= 0; --l) {
    if (!lines_[l].empty()) return lines_[l].back().original;
  }
  return std::nullopt;
}

SourcePosition SourceMap::refine(const Segment& segment, int generated_column,
                                 std::string_view generated_line) const {
  int line = segment.original.line - 1;
  auto start = static_cast<std::size_t>(segment.generated_column);
  auto end = static_cast<std::size_t>(generated_column) + 1;  // the position's character too
  if (line >= static_cast<int>(original_lines_.size()) || end > generated_line.size()) {
    return segment.original;
  }
  std::string_view original_line = original_lines_[line];
  auto original_start = static_cast<std::size_t>(segment.original.column - 1);
  std::string_view span = generated_line.substr(start, end - start);
  if (original_line.substr(std::min(original_start, original_line.size()), span.size()) != span) {
    return segment.original;
  }
  return {segment.original.line,
          segment.original.column + (generated_column - segment.generated_column)};
}

}  // namespace lightflus::js
