// V8Platform: the process-wide V8 initialisation.
//
// V8 needs one v8::Platform (its worker threads for GC and compilation) and one call to
// v8::V8::Initialize per process, before the first isolate exists. V8Platform does both on first
// use, thread safe, and is the only global state of lightflus::js. Every JsIsolate asks for it,
// so callers rarely touch it directly.
#pragma once

#include <v8-platform.h>

namespace lightflus::js {

/// The process-wide V8 platform. Initialised once, on the first call to instance(), from any
/// thread; never torn down: V8 cannot be initialised again after disposal, and isolates may
/// still be in use on other threads while the process exits.
///
///   v8::Platform* platform = V8Platform::instance().platform();
class V8Platform {
 public:
  /// The platform, initialising V8 on the first call. (V8 checks that libnode.so was built with
  /// the configuration its headers describe, pointer compression and the like; it aborts on a
  /// mismatch, which only a libnode108/libnode-dev version skew can cause.)
  static V8Platform& instance();

  V8Platform(const V8Platform&) = delete;
  V8Platform& operator=(const V8Platform&) = delete;

  v8::Platform* platform() const noexcept { return platform_.get(); }

  /// Runs the foreground tasks V8 has posted for `isolate` (GC finalisation and the like).
  /// Call it on the isolate's thread, inside the isolate, between calls into JavaScript.
  void pumpMessageLoop(v8::Isolate* isolate) const;

 private:
  V8Platform();

  std::unique_ptr<v8::Platform> platform_;
};

}  // namespace lightflus::js
