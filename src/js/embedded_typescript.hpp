// The TypeScript compiler (npm typescript, lib/typescript.js), embedded in lightflus::js at
// build time so that transpiling a job needs no Node.js and no file at run time, and V8's code
// cache of it, so that loading it takes a quarter of the time.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

namespace lightflus::js {

/// The source of typescript.js (about 9 MB of JavaScript).
std::string_view embeddedTypeScript() noexcept;

/// Its version, e.g. "5.9.3".
std::string_view embeddedTypeScriptVersion() noexcept;

/// V8's code cache of typescript.js, made at build time by lightflus_typescript_code_cache
/// (Transpiler::createCodeCache); empty in that program itself.
std::span<const std::uint8_t> embeddedTypeScriptCodeCache() noexcept;

}  // namespace lightflus::js
