// The `lightflus` runtime bundle (bindings/ts, built by esbuild at build time): the script every
// worker isolate evaluates before a job, which installs `globalThis.lightflus` (the API and the
// host entry points of docs/js-graph.md).
#pragma once

#include <string_view>

namespace lightflus::js {

/// The source of lightflus-runtime.js.
std::string_view embeddedRuntime() noexcept;

}  // namespace lightflus::js
