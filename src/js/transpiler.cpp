#include "transpiler.hpp"

#include <v8-container.h>
#include <v8-object.h>
#include <v8-primitive.h>

#include <algorithm>

#include "embedded_typescript.hpp"
#include "lightflus/error.hpp"
#include "strings.hpp"

namespace lightflus::js {

namespace {

// Runs after typescript.js (which defines the global `ts`) and evaluates to the function that
// transpile() calls. Diagnostics come back as data; C++ formats them.
constexpr std::string_view kTranspileFunction = R"js(
(function (ts) {
  const compilerOptions = {
    module: ts.ModuleKind.CommonJS,
    target: ts.ScriptTarget.ES2022,  // V8 10.2 runs ES2022 natively
    esModuleInterop: true,
    sourceMap: true,
  };
  return function transpile(source, fileName) {
    const output = ts.transpileModule(source, {compilerOptions, fileName, reportDiagnostics: true});
    const diagnostics = (output.diagnostics || [])
      .filter((d) => d.category === ts.DiagnosticCategory.Error)
      .map((d) => {
        const position = d.file && d.start !== undefined
          ? d.file.getLineAndCharacterOfPosition(d.start) : {line: -1, character: -1};
        return {
          line: position.line + 1,
          column: position.character + 1,
          code: d.code,
          message: ts.flattenDiagnosticMessageText(d.messageText, "\n"),
        };
      });
    return {
      // The source map is handed over in memory: drop the comment naming a .map file.
      javascript: output.outputText.replace(/\/\/# sourceMappingURL=[^\n]*\s*$/, ""),
      mappings: output.sourceMapText ? JSON.parse(output.sourceMapText).mappings : "",
      diagnostics,
    };
  };
})(ts)
)js";

// A job that uses most of the syntax jobs use, transpiled before the code cache is made.
constexpr std::string_view kRepresentativeJob = R"ts(
import { context } from "lightflus-api/src/stream/context";
import { kafka } from "lightflus-api/src/connectors/connectors";
import type { Options } from "lightflus";
import ExecutionContext = context.ExecutionContext;
import Kafka = kafka.Kafka;

interface Word { text: string; count: number }
type Pair<K, V> = [K, V];
enum Mode { Fast = 1, Exact }

export class Counter<T extends Word> {
  private total = 0;
  constructor(readonly name: string, protected options?: Options) {}
  add(word: T): number { return (this.total += word.count ?? 1); }
  get value(): number { return this.total; }
}

async function wordCount(ctx: ExecutionContext, mode: Mode = Mode.Fast): Promise<void> {
  const source = Kafka.builder().brokers(["localhost:9092"]).topic("in").group("wc")
    .build<string>(undefined, typeof "");
  await source.createFlow(ctx)
    .flatMap((line: string) => line.split(" ").map((text): Word => ({ text, count: 1 })))
    .keyBy((w) => w.text)
    .reduce((a, b) => ({ ...a, count: a.count + b.count }))
    .sink(Kafka.builder().brokers(["localhost:9092"]).topic("out").build<Word>())
    .execute();
  for (const [key, value] of new Map<string, Pair<string, number>>()) console.log(key, value, mode);
}

export default wordCount(ExecutionContext.new("wordCount", "default")).then(() => undefined);
)ts";

// typescript.js as an external string: V8 reads it where it is embedded instead of copying
// 9 MB into the heap. Requires pure ASCII (Latin-1 and UTF-8 agree only there).
class EmbeddedSource final : public v8::String::ExternalOneByteStringResource {
 public:
  explicit EmbeddedSource(std::string_view text) : text_(text) {}
  const char* data() const override { return text_.data(); }
  std::size_t length() const override { return text_.size(); }

 private:
  std::string_view text_;
};

v8::Local<v8::String> typescriptSource(v8::Isolate* isolate) {
  std::string_view text = embeddedTypeScript();
  bool ascii = std::all_of(text.begin(), text.end(),
                           [](char c) { return static_cast<unsigned char>(c) < 0x80; });
  if (!ascii) return toJsString(isolate, text);
  v8::Local<v8::String> source;
  // V8 owns (and deletes) the resource.
  if (!v8::String::NewExternalOneByte(isolate, new EmbeddedSource(text)).ToLocal(&source)) {
    throw Error("V8 could not create a string for typescript.js");
  }
  return source;
}

v8::Local<v8::Value> property(v8::Local<v8::Context> context, v8::Local<v8::Object> object,
                              std::string_view name) {
  return object->Get(context, toJsString(context->GetIsolate(), name)).ToLocalChecked();
}

// `job.ts:3:10: error TS1005: ';' expected.`, one line per diagnostic.
std::string formatDiagnostics(v8::Local<v8::Context> context, v8::Local<v8::Array> diagnostics,
                              const std::string& file_name) {
  v8::Isolate* isolate = context->GetIsolate();
  std::string text;
  for (uint32_t i = 0; i < diagnostics->Length(); ++i) {
    auto diagnostic = diagnostics->Get(context, i).ToLocalChecked().As<v8::Object>();
    auto number = [&](std::string_view name) {
      return property(context, diagnostic, name)->Int32Value(context).FromMaybe(0);
    };
    if (!text.empty()) text += '\n';
    text += file_name;
    if (number("line") > 0) {
      text += ":" + std::to_string(number("line")) + ":" + std::to_string(number("column"));
    }
    text += ": error TS" + std::to_string(number("code")) + ": " +
            toStdString(isolate, property(context, diagnostic, "message"));
  }
  return text;
}

}  // namespace

Transpiler::Transpiler() {
  load();
}

Transpiler::~Transpiler() {
  unload();
}

void Transpiler::load() {
  // Loading typescript.js takes about 0.05 s with the code cache, 0.2 s without and several
  // times that under sanitizers; a job's transpilation is milliseconds. The time limit only
  // guards against a runaway.
  js_ = std::make_unique<JsIsolate>(
      JsIsolateOptions{.job_name = "typescript", .time_limit = std::chrono::seconds(60)});
  JsIsolate::Scope scope(*js_);
  v8::Local<v8::Script> compiler =
      js_->compile(typescriptSource(js_->isolate()), "typescript.js", embeddedTypeScriptCodeCache(),
                   code_cache_accepted_);
  js_->run(compiler);
  compiler_.Reset(js_->isolate(), compiler);
  v8::Local<v8::Value> transpile = js_->evaluate(kTranspileFunction, "lightflus-transpile.js");
  transpile_.Reset(js_->isolate(), transpile.As<v8::Function>());
}

void Transpiler::unload() {
  if (!js_) return;
  {
    JsIsolate::Scope scope(*js_);
    transpile_.Reset();
    compiler_.Reset();
  }
  js_.reset();
}

Transpiler& Transpiler::shared() {
  static Transpiler transpiler;
  return transpiler;
}

TranspiledModule Transpiler::transpile(std::string_view typescript, const std::string& file_name) {
  std::lock_guard lock(mutex_);
  // A source that exhausted the compiler's heap discarded its isolate: load a fresh one rather
  // than fail every later job.
  if (js_->outOfMemory()) {
    unload();
    load();
  }
  JsIsolate::Scope scope(*js_);
  v8::Isolate* isolate = js_->isolate();
  v8::Local<v8::Context> context = js_->context();
  v8::Local<v8::Value> args[] = {toJsString(isolate, typescript), toJsString(isolate, file_name)};
  v8::Local<v8::Function> transpile = transpile_.Get(isolate);
  auto output =
      js_->call("TypeScript transpiler", transpile, context->Global(), args).As<v8::Object>();

  auto diagnostics = property(context, output, "diagnostics").As<v8::Array>();
  if (diagnostics->Length() > 0) {
    throw UserCodeError(formatDiagnostics(context, diagnostics, file_name));
  }
  TranspiledModule module;
  module.javascript = toStdString(isolate, property(context, output, "javascript"));
  module.source_map = SourceMap::fromMappings(
      toStdString(isolate, property(context, output, "mappings")), typescript);
  return module;
}

std::vector<std::uint8_t> Transpiler::createCodeCache() {
  transpile(kRepresentativeJob, "job.ts");
  std::lock_guard lock(mutex_);
  JsIsolate::Scope scope(*js_);
  return JsIsolate::codeCache(compiler_.Get(js_->isolate()));
}

std::string_view Transpiler::typescriptVersion() noexcept {
  return embeddedTypeScriptVersion();
}

}  // namespace lightflus::js
