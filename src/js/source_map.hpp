// SourceMap: maps positions in JavaScript back to the files the user wrote.
//
// Two kinds of maps come in. The Transpiler emits one (version 3, the format of tsc and
// browsers) with each module it transpiles: one source, the .ts file itself. The CLI sends one
// with a job it bundled with esbuild (`lightflus apply`): the bundle's sources are the job's
// files (`wordCount.ts`, `lib/parse.ts`). JsIsolate keeps the map of every script that has one,
// so that an error at job.js line 14 is reported at the file, line and column the user sees in
// an editor.
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

/// Where a generated position came from.
struct OriginalLocation {
  /// The source file as the map names it; empty when the map names none (fromMappings: its one
  /// source is the script's own file, under the name the script runs as).
  std::string_view source;
  SourcePosition position;
};

/// The decoded "mappings" of a source map, its sources' names and, optionally, their text.
///
///   SourceMap map = SourceMap::fromMappings("AAAA;AACA,IAAI");
///   std::optional<SourcePosition> original = map.originalPosition({2, 5});
///
///   SourceMap bundle = SourceMap::fromJson(R"({"version":3,"sources":["job.ts"],...})");
///   std::string where = bundle.locate("job.js", {28, 20});  // "job.ts:9:13"
class SourceMap {
 public:
  SourceMap() = default;

  /// Decodes the "mappings" field (Base64 VLQ segments, ';' between generated lines) of a map
  /// with one source, which it does not name. Throws lightflus::Error on malformed input. With
  /// `original_source` (the text the map points into), originalPosition() can be exact within
  /// a mapped segment, see there.
  static SourceMap fromMappings(std::string_view mappings, std::string_view original_source = {});

  /// Reads a whole source map (version 3, JSON), such as esbuild's for a bundle: "mappings",
  /// "sources" (each prefixed with "sourceRoot" when there is one) and, where present,
  /// "sourcesContent". Throws lightflus::Error saying what is wrong with it.
  static SourceMap fromJson(std::string_view json);

  bool empty() const noexcept { return lines_.empty(); }

  /// The original position of a generated position: the last mapped segment at or before it
  /// on its line, else the nearest mapped segment on an earlier line; nullopt when nothing
  /// before `generated` is mapped. TypeScript maps statements more than every token, so a
  /// position inside a segment (`missing` in `return missing + 1;`) would land on the
  /// segment's start; given the `generated_line`'s text and the original source, the column
  /// moves into the segment when the text from the segment's start up to the position is the
  /// same on both sides (nothing was removed in between).
  std::optional<OriginalLocation> originalLocation(SourcePosition generated,
                                                   std::string_view generated_line = {}) const;

  /// originalLocation() without the source.
  std::optional<SourcePosition> originalPosition(SourcePosition generated,
                                                 std::string_view generated_line = {}) const;

  /// `file:line:column` for a generated position in the script `resource`: the original
  /// source (`resource` when the map names none) and position, or `resource` and the
  /// generated position when nothing maps it.
  std::string locate(std::string_view resource, SourcePosition generated,
                     std::string_view generated_line = {}) const;

 private:
  struct Segment {
    int generated_column;  // from 0
    int source;            // index into sources_ (and original_lines_)
    SourcePosition original;
  };

  static SourceMap decode(std::string_view mappings);
  OriginalLocation locationOf(const Segment& segment) const;
  SourcePosition refine(const Segment& segment, int generated_column,
                        std::string_view generated_line) const;

  std::vector<std::vector<Segment>> lines_;  // index: generated line from 0
  std::vector<std::string> sources_;         // empty: one unnamed source
  // Per source, its lines (index: original line from 0); empty where the text is not known.
  std::vector<std::vector<std::string>> original_lines_;
};

}  // namespace lightflus::js
