// The consumer test's program: it compiles against the installed (or add_subdirectory'd) public
// headers, links lightflus::core and its public dependencies (fmt, Threads), and runs.
// Value::parseJson and toJson live in the compiled library (src/runtime/value.cpp), so this
// also checks that libflightflus itself is linked, not just that the headers are found.
#include <lightflus/error.hpp>
#include <lightflus/value.hpp>

#include <fmt/format.h>

#include <string>

int main() {
  using lightflus::Value;
  const std::string json = Value::parseJson(R"({"word": "lightflus", "count": 3})").toJson();
  if (json.find("\"lightflus\"") == std::string::npos) {
    fmt::print(stderr, "unexpected toJson output: {}\n", json);
    return 1;
  }
  try {
    (void)Value::parseJson("{not json");
    fmt::print(stderr, "parseJson accepted malformed JSON\n");
    return 1;
  } catch (const lightflus::Error& e) {
    // fmt reaches the consumer through lightflus::core's public link interface.
    fmt::print("lightflus consumer ok: {}; malformed JSON rejected: {}\n", json, e.what());
  }
  return 0;
}
