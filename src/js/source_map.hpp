// SourceMap: maps positions in transpiled JavaScript back to the TypeScript the user wrote.
//
// The Transpiler emits a source map (version 3, the format of tsc and browsers) with each
// module. JsIsolate keeps the map of every script it runs from TypeScript, so that an error at
// job.js line 14 is reported at the job.ts line and column the user sees in an editor.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace lightflus::js {

/// A line and column in a source file, both counted from 1.
struct SourcePosition {
  int line = 0;
  int column = 0;
  friend bool operator==(const SourcePosition&, const SourcePosition&) = default;
};

/// The decoded "mappings" of a source map with one source, and optionally that source.
///
///   SourceMap map = SourceMap::fromMappings("AAAA;AACA,IAAI");
///   std::optional<SourcePosition> original = map.originalPosition({2, 5});
class SourceMap {
 public:
  SourceMap() = default;

  /// Decodes the "mappings" field (Base64 VLQ segments, ';' between generated lines). Throws
  /// lightflus::Error on malformed input. With `original_source` (the text the map points
  /// into), originalPosition() can be exact within a mapped segment, see there.
  static SourceMap fromMappings(std::string_view mappings, std::string_view original_source = {});

  bool empty() const noexcept { return lines_.empty(); }

  /// The original position of a generated position: the last mapped segment at or before it
  /// on its line, else the nearest mapped segment on an earlier line; nullopt when nothing
  /// before `generated` is mapped. TypeScript maps statements more than every token, so a
  /// position inside a segment (`missing` in `return missing + 1;`) would land on the
  /// segment's start; given the `generated_line`'s text and the original source, the column
  /// moves into the segment when the text from the segment's start up to the position is the
  /// same on both sides (nothing was removed in between).
  std::optional<SourcePosition> originalPosition(SourcePosition generated,
                                                 std::string_view generated_line = {}) const;

 private:
  struct Segment {
    int generated_column;  // from 0
    SourcePosition original;
  };

  SourcePosition refine(const Segment& segment, int generated_column,
                        std::string_view generated_line) const;

  std::vector<std::vector<Segment>> lines_;  // index: generated line from 0
  std::vector<std::string> original_lines_;  // index: original line from 0
};

}  // namespace lightflus::js
