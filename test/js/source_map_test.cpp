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

TEST_CASE("a bundle's source map names the file of each position", "[js]") {
  // Generated line 1 -> a.ts 1:1; line 2: column 0 -> lib/b.ts 3:5 (source +1, line +2,
  // column +4), column 6 -> a.ts 2:1 (source -1, line -1, column -4).
  SourceMap map =
      SourceMap::fromJson(R"({"version":3,"sourceRoot":"src","sources":["a.ts","lib/b.ts"],)"
                          R"("mappings":"AAAA;ACEI,MDDJ","names":[]})");
  auto first = map.originalLocation({1, 3});
  REQUIRE(first.has_value());
  CHECK(first->source == "src/a.ts");
  CHECK(first->position == SourcePosition{1, 1});
  CHECK(map.locate("bundle.js", {2, 2}) == "src/lib/b.ts:3:5");
  CHECK(map.locate("bundle.js", {2, 9}) == "src/a.ts:2:1");
  // Nothing mapped before it: the generated position, in the bundle.
  CHECK(SourceMap::fromJson(R"({"sources":["a.ts"],"mappings":";AAAA"})")
            .locate("bundle.js", {1, 4}) == "bundle.js:1:4");
  // A map without names (the transpiler's) keeps the script's name.
  CHECK(SourceMap::fromMappings("AAAA").locate("job.ts", {1, 7}) == "job.ts:1:1");
}

TEST_CASE("a source map that is not one is an Error that says why", "[js]") {
  CHECK_THROWS_WITH(SourceMap::fromJson("{"), Catch::StartsWith("source map: not JSON"));
  CHECK_THROWS_WITH(SourceMap::fromJson(R"({"version":2,"sources":["a"],"mappings":""})"),
                    "source map: only version 3 is supported");
  CHECK_THROWS_WITH(SourceMap::fromJson(R"({"sources":["a"]})"),
                    "source map: \"mappings\" must be a string");
  CHECK_THROWS_WITH(SourceMap::fromJson(R"({"sources":[],"mappings":""})"),
                    Catch::Contains("\"sources\" must be a non-empty array"));
  CHECK_THROWS_WITH(SourceMap::fromJson(R"({"sources":["a"],"mappings":"ACAA"})"),
                    "source map: a mapping names source 1, but \"sources\" has 1");
}
