// Console: the `console` object of a job's JavaScript context.
//
// Plain V8 has no console. Jobs get console.log/info/debug (level Log) and console.warn/error
// (level Error); each call becomes one line for a ConsoleSink. The default sink writes the
// line to stderr behind the job name, `[wordcount] hello`, so that the output of several jobs
// in one lightflusd stays attributable. Nothing else from the host is visible to job code.
#pragma once

#include <v8-context.h>
#include <v8-function-callback.h>

#include <functional>
#include <string>
#include <string_view>

namespace lightflus::js {

enum class ConsoleLevel { kLog, kError };

/// Receives one console line (without a trailing newline). Called on the isolate's thread.
using ConsoleSink = std::function<void(ConsoleLevel level, std::string_view line)>;

/// Installs `console` into a context and forwards its output to a sink.
///
///   Console console("wordcount", nullptr);  // stderr
///   console.install(context);
class Console {
 public:
  /// `sink` empty: write `[job_name] line` (and `[job_name] error: line` for errors) to stderr.
  Console(std::string job_name, ConsoleSink sink);

  Console(const Console&) = delete;
  Console& operator=(const Console&) = delete;

  /// Defines the global `console` in `context`. The Console must outlive the context.
  void install(v8::Local<v8::Context> context);

 private:
  template <ConsoleLevel level>
  static void write(const v8::FunctionCallbackInfo<v8::Value>& info);

  void emit(ConsoleLevel level, std::string_view line) const;

  std::string job_name_;
  ConsoleSink sink_;
};

}  // namespace lightflus::js
