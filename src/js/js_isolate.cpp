#include "js_isolate.hpp"

#include <v8-exception.h>
#include <v8-message.h>
#include <v8-object.h>
#include <v8-primitive.h>
#include <v8-statistics.h>

#include <algorithm>
#include <charconv>
#include <optional>
#include <tuple>
#include <vector>

#include "lightflus/error.hpp"
#include "strings.hpp"
#include "v8_platform.hpp"

namespace lightflus::js {

namespace {

// "512 MiB", "1536 KiB", "1000 bytes".
std::string formatBytes(std::size_t bytes) {
  if (bytes != 0 && bytes % (std::size_t{1} << 20) == 0)
    return std::to_string(bytes >> 20) + " MiB";
  if (bytes != 0 && bytes % (std::size_t{1} << 10) == 0)
    return std::to_string(bytes >> 10) + " KiB";
  return std::to_string(bytes) + " bytes";
}

// "10 s", "200 ms".
std::string formatDuration(std::chrono::milliseconds duration) {
  if (duration.count() % 1000 == 0) return std::to_string(duration.count() / 1000) + " s";
  return std::to_string(duration.count()) + " ms";
}

// V8's own (hard) heap limit: the job's limit plus as much again (at least 64 MiB). The job's
// limit is checked after each full GC (JsIsolate::onGarbageCollected); the headroom is there
// because V8 aborts the process when a single large allocation (a Map's or an array's new
// backing store, say) does not fit under its hard limit, without asking the near-heap-limit
// callback first.
std::size_t hardHeapLimit(std::size_t heap_limit) {
  return heap_limit + std::max(heap_limit, std::size_t{64} << 20);
}

v8::Isolate* newIsolate(ArrayBufferAllocator& allocator, std::size_t heap_limit) {
  V8Platform::instance();
  v8::Isolate::CreateParams params;
  params.array_buffer_allocator = &allocator;
  params.constraints.ConfigureDefaultsFromHeapSize(0, hardHeapLimit(heap_limit));
  return v8::Isolate::New(params);
}

}  // namespace

JsIsolate::Scope::Scope(JsIsolate& js)
    : js_(js),
      locker_(js.isolate()),
      isolate_scope_(js.isolate()),
      handle_scope_(js.isolate()),
      context_scope_(js.context()) {}

JsIsolate::Scope::~Scope() {
  V8Platform::instance().pumpMessageLoop(js_.isolate());
}

JsIsolate::JsIsolate(JsIsolateOptions options)
    : options_(std::move(options)),
      allocator_(options_.heap_limit),
      isolate_(newIsolate(allocator_, options_.heap_limit)),
      console_(options_.job_name, options_.console),
      watchdog_(isolate_.get(), options_.time_limit) {
  v8::Isolate* isolate = isolate_.get();
  isolate->AddGCEpilogueCallback(&JsIsolate::onGarbageCollected, this, v8::kGCTypeMarkSweepCompact);
  isolate->AddNearHeapLimitCallback(&JsIsolate::onNearHeapLimit, this);
  // Atomics.wait would block the worker thread; jobs have no other thread to wait for.
  isolate->SetAllowAtomicsWait(false);
  // Promise jobs run when the outermost call into JavaScript returns, inside the watchdog's time
  // (execute() runs them), so that a chain of them that never ends fails that call.
  isolate->SetMicrotasksPolicy(v8::MicrotasksPolicy::kExplicit);
  isolate->SetData(kIsolateSlot, this);
  isolate->SetPromiseRejectCallback(&JsIsolate::onPromiseRejected);

  v8::Locker locker(isolate);
  v8::Isolate::Scope isolate_scope(isolate);
  v8::HandleScope handle_scope(isolate);
  v8::Local<v8::Context> context = v8::Context::New(isolate);
  v8::Context::Scope context_scope(context);
  console_.install(context);
  context_.Reset(isolate, context);
}

JsIsolate::~JsIsolate() {
  v8::Locker locker(isolate_.get());
  v8::Isolate::Scope isolate_scope(isolate_.get());
  context_.Reset();
}

void JsIsolate::addSourceMap(const std::string& resource_name, SourceMap map) {
  source_maps_.insert_or_assign(resource_name, std::move(map));
}

void JsIsolate::addLibraryScript(std::string resource_name) {
  library_scripts_.insert(std::move(resource_name));
}

v8::Local<v8::Script> JsIsolate::compile(std::string_view source, const std::string& resource_name,
                                         int line_offset) {
  bool unused;
  return compile(toJsString(isolate(), source), resource_name, line_offset, {}, unused);
}

v8::Local<v8::Script> JsIsolate::compile(v8::Local<v8::String> source,
                                         const std::string& resource_name,
                                         std::span<const std::uint8_t> code_cache,
                                         bool& cache_accepted) {
  return compile(source, resource_name, 0, code_cache, cache_accepted);
}

v8::Local<v8::Script> JsIsolate::compile(v8::Local<v8::String> source,
                                         const std::string& resource_name, int line_offset,
                                         std::span<const std::uint8_t> code_cache,
                                         bool& cache_accepted) {
  throwIfDiscarded(Caller::kScript, resource_name);
  v8::Isolate* isolate = isolate_.get();
  v8::TryCatch try_catch(isolate);
  v8::ScriptOrigin origin(isolate, toJsString(isolate, resource_name), line_offset);
  // The Source owns the CachedData object, not the bytes (BufferNotOwned): V8 copies what it
  // keeps.
  v8::ScriptCompiler::Source script_source(
      source, origin,
      code_cache.empty() ? nullptr
                         : new v8::ScriptCompiler::CachedData(
                               code_cache.data(), static_cast<int>(code_cache.size()),
                               v8::ScriptCompiler::CachedData::BufferNotOwned));
  auto options = code_cache.empty() ? v8::ScriptCompiler::kNoCompileOptions
                                    : v8::ScriptCompiler::kConsumeCodeCache;
  v8::Local<v8::Script> script;
  if (!v8::ScriptCompiler::Compile(context(), &script_source, options).ToLocal(&script)) {
    throw UserCodeError(describe(try_catch, Caller::kScript, resource_name, false));
  }
  cache_accepted = !code_cache.empty() && !script_source.GetCachedData()->rejected;
  return script;
}

std::vector<std::uint8_t> JsIsolate::codeCache(v8::Local<v8::Script> script) {
  std::unique_ptr<v8::ScriptCompiler::CachedData> data(
      v8::ScriptCompiler::CreateCodeCache(script->GetUnboundScript()));
  if (!data) return {};
  return std::vector<std::uint8_t>(data->data, data->data + data->length);
}

v8::Local<v8::Value> JsIsolate::run(v8::Local<v8::Script> script) {
  std::string name = toStdString(isolate(), script->GetUnboundScript()->GetScriptName());
  return execute(Caller::kScript, name, [&] { return script->Run(context()); });
}

v8::Local<v8::Value> JsIsolate::evaluate(std::string_view source, const std::string& resource_name,
                                         int line_offset) {
  return run(compile(source, resource_name, line_offset));
}

v8::Local<v8::Value> JsIsolate::evaluateModule(std::string_view javascript,
                                               const std::string& resource_name,
                                               v8::Local<v8::Function> require) {
  throwIfDiscarded(Caller::kScript, resource_name);
  v8::Isolate* isolate = isolate_.get();
  v8::Local<v8::Context> context = this->context();
  v8::Local<v8::Function> body;
  {
    v8::TryCatch try_catch(isolate);
    v8::ScriptOrigin origin(isolate, toJsString(isolate, resource_name));
    v8::ScriptCompiler::Source source(toJsString(isolate, javascript), origin);
    v8::Local<v8::String> parameters[] = {toJsString(isolate, "exports"),
                                          toJsString(isolate, "require"),
                                          toJsString(isolate, "module")};
    if (!v8::ScriptCompiler::CompileFunction(context, &source, std::size(parameters), parameters)
             .ToLocal(&body)) {
      throw UserCodeError(describe(try_catch, Caller::kScript, resource_name, false));
    }
  }
  v8::Local<v8::Object> module = v8::Object::New(isolate);
  v8::Local<v8::String> exports_key = toJsString(isolate, "exports");
  module->Set(context, exports_key, v8::Object::New(isolate)).Check();
  v8::Local<v8::Value> args[] = {module->Get(context, exports_key).ToLocalChecked(), require,
                                 module};
  execute(Caller::kScript, resource_name,
          [&] { return body->Call(context, args[0], std::size(args), args); });
  return module->Get(context, exports_key).ToLocalChecked();
}

v8::Local<v8::Value> JsIsolate::call(std::string_view label, v8::Local<v8::Function> function,
                                     v8::Local<v8::Value> receiver,
                                     std::span<const v8::Local<v8::Value>> args) {
  // V8 takes a non-const argv but does not write to it.
  auto* argv = const_cast<v8::Local<v8::Value>*>(args.data());
  return execute(Caller::kFunction, label, [&] {
    return function->Call(context(), receiver, static_cast<int>(args.size()), argv);
  });
}

v8::Local<v8::Function> JsIsolate::globalFunction(std::string_view name) {
  v8::Local<v8::Context> context = this->context();
  v8::Local<v8::Value> value;
  if (!context->Global()->Get(context, toJsString(isolate(), name)).ToLocal(&value) ||
      !value->IsFunction()) {
    throw ConfigError("the script defines no global function '" + std::string(name) + "'");
  }
  return value.As<v8::Function>();
}

v8::Local<v8::Value> JsIsolate::callGlobal(std::string_view name,
                                           std::span<const v8::Local<v8::Value>> args) {
  std::string label = "function '" + std::string(name) + "'";
  return call(label, globalFunction(name), context()->Global(), args);
}

template <typename Body>
v8::Local<v8::Value> JsIsolate::execute(Caller caller, std::string_view name, Body&& body) {
  throwIfDiscarded(caller, name);
  v8::TryCatch try_catch(isolate_.get());
  // Only the outermost call is timed: a nested one runs within its caller's time.
  bool outermost = depth_++ == 0;
  if (outermost) watchdog_.start();
  v8::MaybeLocal<v8::Value> result = body();
  if (outermost && !result.IsEmpty() && !out_of_memory_.load()) {
    isolate_->PerformMicrotaskCheckpoint();
  }
  bool timed_out = outermost && watchdog_.stop();
  --depth_;

  std::optional<std::string> error;
  // A call whose promise jobs were cut off returned a value but did not finish.
  if (result.IsEmpty() || out_of_memory_.load() || try_catch.HasTerminated()) {
    error = describe(try_catch, caller, name, timed_out);
  } else if (outermost && !unhandled_rejections_.empty()) {
    // Microtasks ran as the call returned: a promise rejected with no handler is an error of
    // this call (an async function that threw), not something to drop silently.
    v8::Local<v8::Value> reason = unhandled_rejections_.front().second.Get(isolate_.get());
    error =
        format(caller, name, "unhandled promise rejection: " + toStdString(isolate_.get(), reason),
               location(v8::Exception::CreateMessage(isolate_.get(), reason), reason));
  }
  if (outermost) unhandled_rejections_.clear();
  if (outermost && (timed_out || out_of_memory_.load() || try_catch.HasTerminated())) {
    // After a timeout the isolate stays usable; after the heap limit it is discarded, but its
    // destructor still needs a clean isolate. Also covers a watchdog that fired just as the
    // call returned: the call succeeded, the pending termination must not hit the next one.
    isolate_->CancelTerminateExecution();
  }
  if (error) throw UserCodeError(*error);
  return result.ToLocalChecked();
}

std::string JsIsolate::describe(v8::TryCatch& try_catch, Caller caller, std::string_view name,
                                bool timed_out) const {
  v8::Isolate* isolate = isolate_.get();
  std::string prefix(name);
  prefix += ": ";
  if (out_of_memory_.load()) {
    return prefix + "JavaScript heap limit of " + formatBytes(options_.heap_limit) +
           " exceeded (the isolate was discarded; keep less state in the job or raise the "
           "heap limit)";
  }
  if (try_catch.HasTerminated()) {
    if (!timed_out) return prefix + "execution was terminated";
    return prefix + (caller == Caller::kScript ? "script" : "user function") + " exceeded the " +
           formatDuration(options_.time_limit) + " time limit";
  }
  v8::Local<v8::Message> message = try_catch.Message();
  return format(caller, name, toStdString(isolate, try_catch.Exception()),
                message.IsEmpty() ? std::string() : location(message, try_catch.Exception()));
}

std::string JsIsolate::format(Caller caller, std::string_view name, const std::string& text,
                              const std::string& where) {
  if (caller == Caller::kScript) return (where.empty() ? std::string(name) : where) + ": " + text;
  std::string message = std::string(name) + ": " + text;
  return where.empty() ? message : message + " (at " + where + ")";
}

std::string JsIsolate::location(v8::Local<v8::Message> message,
                                v8::Local<v8::Value> exception) const {
  v8::Isolate* isolate = isolate_.get();
  v8::Local<v8::Context> context = this->context();
  v8::Local<v8::Value> resource_name = message->GetScriptResourceName();
  if (!resource_name->IsString()) return {};
  std::string resource = toStdString(isolate, resource_name);
  SourcePosition position{message->GetLineNumber(context).FromMaybe(0),
                          message->GetStartColumn(context).FromMaybe(-1) + 1};
  std::string line_text;
  if (library_scripts_.contains(resource)) {
    if (auto frame = callerFrame(exception)) std::tie(resource, position) = *frame;
  } else if (v8::Local<v8::String> line; message->GetSourceLine(context).ToLocal(&line)) {
    line_text = toStdString(isolate, line);
  }
  if (position.line <= 0) return resource;
  if (auto map = source_maps_.find(resource); map != source_maps_.end())
    return map->second.locate(resource, position, line_text);
  return resource + ":" + std::to_string(position.line) + ":" + std::to_string(position.column);
}

std::optional<std::pair<std::string, SourcePosition>> JsIsolate::callerFrame(
    v8::Local<v8::Value> exception) const {
  if (exception.IsEmpty() || !exception->IsObject()) return std::nullopt;
  v8::Isolate* isolate = isolate_.get();
  v8::Local<v8::Context> context = this->context();
  // V8's `stack`: the message, then a line per frame, innermost first:
  //   "    at NAME (RESOURCE:LINE:COLUMN)" or "    at RESOURCE:LINE:COLUMN".
  // Reading it may run a job's Error.prepareStackTrace: what that throws is not this error.
  v8::TryCatch try_catch(isolate);
  v8::Local<v8::Value> stack;
  if (!exception.As<v8::Object>()->Get(context, toJsString(isolate, "stack")).ToLocal(&stack) ||
      !stack->IsString())
    return std::nullopt;
  std::string text = toStdString(isolate, stack);
  std::string_view rest = text;
  for (bool first = true; !rest.empty(); first = false) {
    auto newline = rest.find('\n');
    std::string_view line = rest.substr(0, newline);
    rest = newline == std::string_view::npos ? std::string_view() : rest.substr(newline + 1);
    auto at = line.find_first_not_of(' ');
    if (first || at == std::string_view::npos || line.substr(at, 3) != "at ") continue;
    std::string_view where = line.substr(at + 3);
    if (where.ends_with(')')) {
      auto open = where.rfind('(');
      if (open == std::string_view::npos) continue;
      where = where.substr(open + 1, where.size() - open - 2);
    }
    auto column_colon = where.rfind(':');
    if (column_colon == std::string_view::npos || column_colon == 0) continue;
    auto line_colon = where.rfind(':', column_colon - 1);
    if (line_colon == std::string_view::npos || line_colon == 0) continue;
    SourcePosition position;
    std::string_view line_number = where.substr(line_colon + 1, column_colon - line_colon - 1);
    std::string_view column_number = where.substr(column_colon + 1);
    auto [line_end, line_error] =
        std::from_chars(line_number.data(), line_number.data() + line_number.size(), position.line);
    auto [column_end, column_error] = std::from_chars(
        column_number.data(), column_number.data() + column_number.size(), position.column);
    if (line_error != std::errc() || column_error != std::errc() ||
        line_end != line_number.data() + line_number.size() ||
        column_end != column_number.data() + column_number.size())
      continue;
    std::string resource(where.substr(0, line_colon));
    // Not a script's frame ("eval at f (x.js:1:2), <anonymous>") or one of the library's.
    if (resource.find_first_of("(),") != std::string::npos || resource == "<anonymous>" ||
        library_scripts_.contains(resource))
      continue;
    return std::make_pair(std::move(resource), position);
  }
  return std::nullopt;
}

void JsIsolate::throwIfDiscarded(Caller caller, std::string_view name) const {
  if (!out_of_memory_.load()) return;
  throw UserCodeError(std::string(name) + ": cannot " +
                      (caller == Caller::kScript ? "run the script" : "call the function") +
                      ": the isolate was discarded after exceeding its JavaScript heap limit of " +
                      formatBytes(options_.heap_limit) + "; create a new one");
}

void JsIsolate::exceedHeapLimit() {
  out_of_memory_.store(true);
  isolate_->TerminateExecution();
}

void JsIsolate::onGarbageCollected(v8::Isolate* isolate, v8::GCType, v8::GCCallbackFlags,
                                   void* data) {
  // After a full GC the used heap is (nearly) the live data: more than the limit means the
  // job holds too much, not that garbage piled up.
  auto* self = static_cast<JsIsolate*>(data);
  v8::HeapStatistics statistics;
  isolate->GetHeapStatistics(&statistics);
  if (statistics.used_heap_size() > self->options_.heap_limit) self->exceedHeapLimit();
}

void JsIsolate::onPromiseRejected(v8::PromiseRejectMessage message) {
  v8::Local<v8::Promise> promise = message.GetPromise();
  v8::Isolate* isolate = promise->GetIsolate();
  auto* self = static_cast<JsIsolate*>(isolate->GetData(kIsolateSlot));
  auto& rejections = self->unhandled_rejections_;
  switch (message.GetEvent()) {
    case v8::kPromiseRejectWithNoHandler:
      rejections.emplace_back(v8::Global<v8::Promise>(isolate, promise),
                              v8::Global<v8::Value>(isolate, message.GetValue()));
      break;
    case v8::kPromiseHandlerAddedAfterReject:
      std::erase_if(rejections, [&](const auto& rejection) { return rejection.first == promise; });
      break;
    default:
      break;
  }
}

std::size_t JsIsolate::onNearHeapLimit(void* data, std::size_t current_limit,
                                       std::size_t initial_limit) {
  static_cast<JsIsolate*>(data)->exceedHeapLimit();
  // Room for V8 to unwind the terminated script; without it V8 would abort the process.
  return current_limit + initial_limit / 2;
}

}  // namespace lightflus::js
