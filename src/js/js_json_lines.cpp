#include "js_json_lines.hpp"

#include <fmt/format.h>
#include <rapidjson/error/en.h>
#include <rapidjson/memorystream.h>
#include <rapidjson/reader.h>

namespace lightflus::js {

namespace {

// Value::parseJson's nesting limit (src/runtime/value.cpp, kMaxDepth); js_value_test checks
// that both reject the same lines with the same message.
constexpr int kMaxDepth = 1000;

// A SAX handler that accepts everything but nesting deeper than kMaxDepth.
class DepthCheck : public rapidjson::BaseReaderHandler<rapidjson::UTF8<>, DepthCheck> {
 public:
  bool Default() { return true; }
  bool StartObject() { return ++depth_ <= kMaxDepth; }
  bool StartArray() { return ++depth_ <= kMaxDepth; }
  bool EndObject(rapidjson::SizeType) {
    --depth_;
    return true;
  }
  bool EndArray(rapidjson::SizeType) {
    --depth_;
    return true;
  }
  bool tooDeep() const { return depth_ > kMaxDepth; }

 private:
  int depth_ = 0;
};

}  // namespace

std::optional<std::string> jsonTextError(std::string_view text) {
  // Value::parseJson's flags: the same reader accepts and rejects the same texts.
  constexpr unsigned kFlags = rapidjson::kParseIterativeFlag | rapidjson::kParseFullPrecisionFlag |
                              rapidjson::kParseValidateEncodingFlag;
  rapidjson::MemoryStream stream(text.data(), text.size());
  DepthCheck check;
  rapidjson::Reader reader;
  const rapidjson::ParseResult result = reader.Parse<kFlags>(stream, check);
  if (result.IsError()) {
    const std::string reason = check.tooDeep()
                                   ? fmt::format("nesting is deeper than {} levels.", kMaxDepth)
                                   : rapidjson::GetParseError_En(result.Code());
    return fmt::format("invalid JSON at offset {}: {}", result.Offset(), reason);
  }
  if (stream.Tell() != text.size())
    return fmt::format("invalid JSON at offset {}: unexpected NUL character.", stream.Tell());
  return std::nullopt;
}

void JsonTextLinesSource::open(const SourceContext&) {
  reader_ = std::make_unique<detail::LineReader>(path_);
  if (restore_offset_ > 0 || restore_line_ > 0) reader_->seek(restore_offset_, restore_line_);
}

SourceStatus JsonTextLinesSource::poll(SourceOutput<Value>& out) {
  std::string_view line;
  while (!out.full()) {
    if (!reader_->next(line)) {
      auto f = reader_->fill(reader_->isStdin() ? 20 : -1);
      if (f == detail::LineReader::Fill::End) return SourceStatus::Finished;
      if (f == detail::LineReader::Fill::WouldBlock) return SourceStatus::Blocked;
      continue;
    }
    if (line.find_first_not_of(" \t") == std::string_view::npos) continue;
    if (auto error = jsonTextError(line)) {
      std::string origin = fmt::format("{}:{}", reader_->path(), reader_->lineNumber());
      if (policy_ == MalformedPolicy::Fail) throw InputError(fmt::format("{}: {}", origin, *error));
      out.deadLetter(DeadLetter{origin, std::string(line), *error});
      continue;
    }
    out.collect(Value(line));
  }
  return SourceStatus::HaveMoreOutput;
}

void JsonTextLinesSource::snapshot(StateWriter& w) {
  w.write<std::uint64_t>(reader_ ? reader_->offset() : restore_offset_);
  w.write<std::uint64_t>(reader_ ? reader_->lineNumber() : restore_line_);
}

void JsonTextLinesSource::restore(StateReader& r) {
  restore_offset_ = r.read<std::uint64_t>();
  restore_line_ = r.read<std::uint64_t>();
}

}  // namespace lightflus::js
