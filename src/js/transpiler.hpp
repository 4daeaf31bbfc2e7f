// Transpiler: TypeScript jobs to JavaScript, inside V8.
//
// `lightflusd run job.ts` needs no Node.js: the TypeScript compiler itself (npm typescript,
// embedded at build time) runs in an isolate of its own, and each job goes through its
// ts.transpileModule once. transpileModule handles all of TypeScript's syntax, including the
// import-equals of the original Lightflus API (`import ExecutionContext =
// context.ExecutionContext;`), and drops type-only imports; it does not type-check. The output
// is a CommonJS module (see JsIsolate::evaluateModule) with a source map, so that errors point
// at the .ts line and column.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "js_isolate.hpp"
#include "source_map.hpp"

namespace lightflus::js {

/// A job transpiled from TypeScript.
struct TranspiledModule {
  /// A CommonJS module (ES2022): `require` for imports, `exports` for exports.
  std::string javascript;
  /// Positions in `javascript` -> positions in the TypeScript source; give it to
  /// JsIsolate::addSourceMap under the .ts file name.
  SourceMap source_map;
};

/// The TypeScript compiler, loaded into its own isolate. Loading takes 50 ms (with the
/// embedded code cache) to 200 ms, so a process shares one (shared()) created on first use.
/// Thread safe: transpile() calls take turns. A source that exhausts the compiler's heap limit
/// (512 MiB) fails, and the next call loads the compiler afresh.
///
///   TranspiledModule module = Transpiler::shared().transpile(source, "job.ts");
///   JsIsolate js;
///   JsIsolate::Scope scope(js);
///   js.addSourceMap("job.ts", module.source_map);
///   js.evaluateModule(module.javascript, "job.ts", require);
class Transpiler {
 public:
  /// Loads the embedded TypeScript compiler into a new isolate.
  Transpiler();
  ~Transpiler();

  Transpiler(const Transpiler&) = delete;
  Transpiler& operator=(const Transpiler&) = delete;

  /// The process's transpiler, loaded on the first call (which blocks for the load).
  static Transpiler& shared();

  /// Transpiles one TypeScript module named `file_name`. Throws UserCodeError listing the
  /// syntax errors, one per line: `job.ts:3:10: error TS1005: ';' expected.`
  TranspiledModule transpile(std::string_view typescript, const std::string& file_name);

  /// The embedded TypeScript's version, e.g. "5.9.3".
  static std::string_view typescriptVersion() noexcept;

  /// Whether V8 accepted the embedded code cache of typescript.js (made at build time, see
  /// createCodeCache()), which cuts the load from about 200 ms to about 50 ms.
  bool codeCacheAccepted() const noexcept { return code_cache_accepted_; }

  /// Transpiles a representative job, so that the compiler's functions a job needs are
  /// compiled, and returns V8's code cache of typescript.js. The build embeds it.
  std::vector<std::uint8_t> createCodeCache();

 private:
  void load();
  void unload();

  std::mutex mutex_;
  std::unique_ptr<JsIsolate> js_;
  v8::Global<v8::Script> compiler_;  // typescript.js
  v8::Global<v8::Function> transpile_;
  bool code_cache_accepted_ = false;
};

}  // namespace lightflus::js
