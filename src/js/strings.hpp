// Conversions between C++ strings and V8 strings (UTF-8 on the C++ side).
#pragma once

#include <v8-local-handle.h>
#include <v8-primitive.h>

#include <string>
#include <string_view>

namespace lightflus::js {

/// A V8 string holding `text` (UTF-8). Throws lightflus::Error if `text` is longer than V8's
/// maximum string length.
v8::Local<v8::String> toJsString(v8::Isolate* isolate, std::string_view text);

/// `value` as UTF-8. A string is taken as is; anything else is converted with JavaScript's
/// String(value), which may run user code: returns `fallback` when that throws.
std::string toStdString(v8::Isolate* isolate, v8::Local<v8::Value> value,
                        std::string_view fallback = "<value that cannot be converted to a string>");

}  // namespace lightflus::js
