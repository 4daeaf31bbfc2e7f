// SourceMap: decoding "mappings" and looking up original positions.
#include "source_map.hpp"

#include <catch2/catch.hpp>

#include "lightflus/error.hpp"

using lightflus::js::SourceMap;
using lightflus::js::SourcePosition;

TEST_CASE("source map segments map generated positions to original ones", "[js]") {
  // Line 1: one segment, column 0 -> 1:1. Line 2: column 0 -> 2:1, then +4 columns -> 2:5.
  // Line 3: "ACCD": column 0, source +1, line +1 -> 3, column -1 (D) -> 4: 3:4.
  SourceMap map = SourceMap::fromMappings("AAAA;AACA,IAAI;ACCD");
  CHECK(map.originalPosition({1, 10}) == SourcePosition{1, 1});
  CHECK(map.originalPosition({2, 1}) == SourcePosition{2, 1});
  CHECK(map.originalPosition({2, 3}) == SourcePosition{2, 1});
  CHECK(map.originalPosition({2, 5}) == SourcePosition{2, 5});
  CHECK(map.originalPosition({2, 40}) == SourcePosition{2, 5});
  CHECK(map.originalPosition({3, 7}) == SourcePosition{3, 4});
  // Past the last mapped line: the last mapping before it.
  CHECK(map.originalPosition({9, 1}) == SourcePosition{3, 4});
}

TEST_CASE("a generated line without segments maps to the last mapping before it", "[js]") {
  // Line 1 is unmapped (a "use strict" prologue, say); line 3 too.
  SourceMap map = SourceMap::fromMappings(";AAAA,EAAE;;AAEA");
  CHECK_FALSE(map.originalPosition({1, 1}).has_value());
  CHECK(map.originalPosition({2, 4}) == SourcePosition{1, 3});
  CHECK(map.originalPosition({3, 1}) == SourcePosition{1, 3});
  CHECK(map.originalPosition({4, 1}) == SourcePosition{3, 3});
}

TEST_CASE("malformed mappings are an Error", "[js]") {
  CHECK_THROWS_AS(SourceMap::fromMappings("AA!A"), lightflus::Error);
  CHECK_THROWS_AS(SourceMap::fromMappings("AAAg"), lightflus::Error);
}

TEST_CASE("with the original source, a position inside a segment keeps its offset", "[js]") {
  // Original line 1: "let n: number = missing + 1;"; generated: "let n = missing + 1;".
  // Segments: generated column 0 -> 1:1 (the statement), generated column 4 -> 1:5 (`n`).
  SourceMap map = SourceMap::fromMappings("AAAA,IAAI", "let n: number = missing + 1;\n");
  std::string_view generated = "let n = missing + 1;";
  // `missing` is at generated column 9; from `n` on, ": number" sits in between: no match,
  // so the segment's start is the answer.
  CHECK(map.originalPosition({1, 9}, generated) == SourcePosition{1, 5});
  // Inside the first segment, before anything was removed: exact.
  CHECK(map.originalPosition({1, 3}, generated) == SourcePosition{1, 3});
  // Without the generated line's text: the segment's start.
  CHECK(map.originalPosition({1, 3}) == SourcePosition{1, 1});
}
