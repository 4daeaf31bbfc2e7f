// The HTTP message types of lightflusd and the responses every route builds from: JSON bodies
// and JSON errors `{"error", "detail"}` (the status's reason phrase and what went wrong).
#pragma once

#include <boost/beast/http.hpp>
#include <string>
#include <string_view>

namespace lightflus::server {

namespace http = boost::beast::http;

using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;

/// Beast's string_view (boost::string_view in Boost 1.74) as a std::string_view.
inline std::string_view toStringView(boost::beast::string_view text) noexcept {
  return {text.data(), text.size()};
}

/// A response with a JSON body (already serialized).
Response jsonResponse(http::status status, std::string body, unsigned version = 11,
                      bool keep_alive = true);

/// `{"error": "<reason phrase>", "detail": detail}` with `status`.
Response errorResponse(http::status status, std::string_view detail, unsigned version = 11,
                       bool keep_alive = true);

}  // namespace lightflus::server
