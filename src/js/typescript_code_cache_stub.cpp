// No code cache: linked into lightflus_typescript_code_cache, the program that makes it.
#include "embedded_typescript.hpp"

namespace lightflus::js {

std::span<const std::uint8_t> embeddedTypeScriptCodeCache() noexcept {
  return {};
}

}  // namespace lightflus::js
