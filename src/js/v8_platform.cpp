#include "v8_platform.hpp"

#include <libplatform/libplatform.h>
#include <v8-initialization.h>

#include <string_view>

#include "lightflus/error.hpp"

namespace lightflus::js {

namespace {

// Process-wide V8 flags, set once before V8::Initialize (V8 forbids changing them later).
// - no WebAssembly: jobs do not need it, and its memory lives outside the heap limit.
constexpr std::string_view kV8Flags = "--no-expose-wasm";

}  // namespace

V8Platform& V8Platform::instance() {
  // A function-local static: initialised exactly once even when several threads start their
  // first isolate at the same time. Deliberately leaked (see the class comment).
  static V8Platform* platform = new V8Platform();
  return *platform;
}

V8Platform::V8Platform() : platform_(v8::platform::NewDefaultPlatform()) {
  v8::V8::SetFlagsFromString(kV8Flags.data(), kV8Flags.size());
  v8::V8::InitializePlatform(platform_.get());
  if (!v8::V8::Initialize()) {
    throw Error(
        "V8 failed to initialise: libnode.so does not match the V8 headers it was built with "
        "(reconfigure so that libnode108 and libnode-dev come from the same Debian version)");
  }
}

void V8Platform::pumpMessageLoop(v8::Isolate* isolate) const {
  while (v8::platform::PumpMessageLoop(platform_.get(), isolate)) {
  }
}

}  // namespace lightflus::js
