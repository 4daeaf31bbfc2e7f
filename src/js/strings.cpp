#include "strings.hpp"

#include <v8-context.h>
#include <v8-exception.h>
#include <v8-isolate.h>

#include "lightflus/error.hpp"

namespace lightflus::js {

v8::Local<v8::String> toJsString(v8::Isolate* isolate, std::string_view text) {
  v8::Local<v8::String> result;
  if (text.size() > static_cast<std::size_t>(v8::String::kMaxLength) ||
      !v8::String::NewFromUtf8(isolate, text.data(), v8::NewStringType::kNormal,
                               static_cast<int>(text.size()))
           .ToLocal(&result)) {
    throw Error("a string of " + std::to_string(text.size()) + " bytes is longer than V8 allows (" +
                std::to_string(v8::String::kMaxLength) + " characters)");
  }
  return result;
}

std::string toStdString(v8::Isolate* isolate, v8::Local<v8::Value> value,
                        std::string_view fallback) {
  v8::Local<v8::String> string;
  if (value->IsString()) {
    string = value.As<v8::String>();
  } else {
    v8::TryCatch try_catch(isolate);
    if (!value->ToString(isolate->GetCurrentContext()).ToLocal(&string)) {
      // A termination must keep propagating; an ordinary exception is replaced by `fallback`.
      if (try_catch.HasTerminated()) try_catch.ReThrow();
      return std::string(fallback);
    }
  }
  std::string result(string->Utf8Length(isolate), '\0');
  string->WriteUtf8(isolate, result.data(), static_cast<int>(result.size()), nullptr,
                    v8::String::NO_NULL_TERMINATION | v8::String::REPLACE_INVALID_UTF8);
  return result;
}

}  // namespace lightflus::js
