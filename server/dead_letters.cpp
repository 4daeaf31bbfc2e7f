#include "dead_letters.hpp"

namespace lightflus::server {

const OperatorMetrics* writerOf(const std::vector<OperatorMetrics>& metrics,
                                std::string_view writer) {
  std::string_view name = writer, kind;
  if (writer.starts_with("operator ") && writer.ends_with(")")) {
    auto open = writer.find(" '"), close = writer.rfind("' (");
    if (open != std::string_view::npos && close != std::string_view::npos && close > open) {
      name = writer.substr(open + 2, close - open - 2);
      kind = writer.substr(close + 3, writer.size() - close - 4);
    }
  }
  auto unique = [&](auto&& matches) -> const OperatorMetrics* {
    const OperatorMetrics* found = nullptr;
    for (const auto& m : metrics) {
      if (!matches(m)) continue;
      if (found) return nullptr;
      found = &m;
    }
    return found;
  };
  const OperatorMetrics* exact = unique(
      [&](const OperatorMetrics& m) { return m.name == name && (kind.empty() || m.kind == kind); });
  if (exact || !kind.empty()) return exact;
  // A UDF fused into a chain: the chain's name joins its operators' names with '+'.
  return unique([&](const OperatorMetrics& m) {
    std::string_view rest = m.name;
    if (rest.find('+') == std::string_view::npos) return false;
    while (!rest.empty()) {
      auto plus = rest.find('+');
      if (rest.substr(0, plus) == name) return true;
      rest = plus == std::string_view::npos ? std::string_view{} : rest.substr(plus + 1);
    }
    return false;
  });
}

std::map<int, std::uint64_t> deadLettersByOperator(
    const std::vector<OperatorMetrics>& metrics,
    const std::map<std::string, std::uint64_t>& by_writer) {
  std::map<int, std::uint64_t> by_operator;
  for (const auto& [writer, count] : by_writer)
    if (const OperatorMetrics* m = writerOf(metrics, writer)) by_operator[m->id] += count;
  return by_operator;
}

}  // namespace lightflus::server
