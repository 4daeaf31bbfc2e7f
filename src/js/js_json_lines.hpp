// JSON lines as text for JavaScript operators (the "raw" path of FileSource.jsonLines).
//
// A JSON-lines file read by JavaScript operators does not become Value trees: the source checks
// each line with RapidJSON's SAX reader (no tree is built) and emits the line itself, as a
// string Value holding JSON text; the first JavaScript operator parses a whole batch with one
// JSON.parse (ValueConverter::parseJsonTexts), as a plain Node.js script would. The check is
// Value::parseJson's, with its flags, its nesting limit and its message, so a malformed line
// fails the job or goes to the dead letters exactly as with JsonLinesSource, and the lines V8
// gets are ones both parsers accept. The snapshot (byte offset and line number) is
// JsonLinesSource's, so a checkpoint restores into either source.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "lightflus/connectors/file.hpp"
#include "lightflus/source.hpp"
#include "lightflus/value.hpp"

namespace lightflus::js {

/// Why `text` is not one JSON value as Value::parseJson reads it ("invalid JSON at offset 3:
/// ..."), or nothing when it is. Builds no tree.
std::optional<std::string> jsonTextError(std::string_view text);

/// FileSource.jsonLines for JavaScript readers: each line that is JSON, as a string Value of its
/// text; blank lines are skipped and malformed lines handled as JsonLinesSource handles them.
class JsonTextLinesSource final : public Source<Value> {
 public:
  JsonTextLinesSource(std::string path, MalformedPolicy policy)
      : path_(std::move(path)), policy_(policy) {}
  void open(const SourceContext& context) override;
  SourceStatus poll(SourceOutput<Value>& out) override;
  void snapshot(StateWriter& w) override;
  void restore(StateReader& r) override;

 private:
  std::string path_;
  MalformedPolicy policy_;
  std::unique_ptr<detail::LineReader> reader_;
  std::uint64_t restore_offset_ = 0, restore_line_ = 0;
};

}  // namespace lightflus::js
