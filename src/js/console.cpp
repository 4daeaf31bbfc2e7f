#include "console.hpp"

#include <v8-exception.h>
#include <v8-external.h>
#include <v8-function.h>
#include <v8-isolate.h>
#include <v8-json.h>
#include <v8-object.h>
#include <v8-template.h>

#include <cstdio>

#include "strings.hpp"

namespace lightflus::js {

namespace {

// How console shows one argument: strings as they are, plain objects and arrays as JSON,
// anything else (errors, functions, numbers, undefined) as String(value) does.
std::string format(v8::Isolate* isolate, v8::Local<v8::Context> context,
                   v8::Local<v8::Value> value) {
  if (value->IsObject() && !value->IsFunction() && !value->IsNativeError()) {
    v8::TryCatch try_catch(isolate);
    v8::Local<v8::String> json;
    if (v8::JSON::Stringify(context, value).ToLocal(&json)) return toStdString(isolate, json);
    if (try_catch.HasTerminated()) {
      try_catch.ReThrow();
      return {};
    }
  }
  return toStdString(isolate, value);
}

}  // namespace

Console::Console(std::string job_name, ConsoleSink sink)
    : job_name_(std::move(job_name)), sink_(std::move(sink)) {}

void Console::install(v8::Local<v8::Context> context) {
  v8::Isolate* isolate = context->GetIsolate();
  v8::Local<v8::External> self = v8::External::New(isolate, this);
  v8::Local<v8::Object> console = v8::Object::New(isolate);
  auto define = [&](const char* name, v8::FunctionCallback callback) {
    v8::Local<v8::Function> function = v8::Function::New(context, callback, self).ToLocalChecked();
    console->Set(context, toJsString(isolate, name), function).Check();
  };
  define("log", &write<ConsoleLevel::kLog>);
  define("info", &write<ConsoleLevel::kLog>);
  define("debug", &write<ConsoleLevel::kLog>);
  define("warn", &write<ConsoleLevel::kError>);
  define("error", &write<ConsoleLevel::kError>);
  context->Global()->Set(context, toJsString(isolate, "console"), console).Check();
}

template <ConsoleLevel level>
void Console::write(const v8::FunctionCallbackInfo<v8::Value>& info) {
  v8::Isolate* isolate = info.GetIsolate();
  v8::Local<v8::Context> context = isolate->GetCurrentContext();
  auto* self = static_cast<Console*>(info.Data().As<v8::External>()->Value());
  std::string line;
  for (int i = 0; i < info.Length(); ++i) {
    if (i > 0) line += ' ';
    line += format(isolate, context, info[i]);
    if (isolate->IsExecutionTerminating()) return;
  }
  // A C++ exception must not unwind through V8's frames: hand a sink's failure to the job.
  try {
    self->emit(level, line);
  } catch (const std::exception& error) {
    isolate->ThrowException(
        v8::Exception::Error(toJsString(isolate, std::string("console: ") + error.what())));
  }
}

void Console::emit(ConsoleLevel level, std::string_view line) const {
  if (sink_) {
    sink_(level, line);
    return;
  }
  // One fwrite per line, so that lines of concurrent jobs do not interleave.
  std::string text = "[" + job_name_ + "] " + (level == ConsoleLevel::kError ? "error: " : "");
  text.append(line);
  text += '\n';
  std::fwrite(text.data(), 1, text.size(), stderr);
}

}  // namespace lightflus::js
