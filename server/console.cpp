#include "console.hpp"

#include <algorithm>
#include <string>

#include "embedded_files.hpp"

namespace lightflus::server {

namespace {

// The page draws with its own script and style sheet only; it talks to no other origin and
// cannot be framed (clickjacking of the stop and delete buttons).
constexpr std::string_view kContentSecurityPolicy =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'";

boost::beast::string_view beastView(std::string_view text) {
  return {text.data(), text.size()};
}

// Whether an If-None-Match header value lists `etag` (or is "*").
bool etagMatches(std::string_view header, std::string_view etag) {
  while (!header.empty()) {
    auto comma = header.find(',');
    std::string_view item = header.substr(0, comma);
    header = comma == std::string_view::npos ? std::string_view{} : header.substr(comma + 1);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (item.starts_with("W/")) item.remove_prefix(2);
    if (item == etag || item == "*") return true;
  }
  return false;
}

}  // namespace

std::string_view contentTypeOf(std::string_view name) noexcept {
  auto ends = [&](std::string_view suffix) { return name.ends_with(suffix); };
  if (ends(".html")) return "text/html; charset=utf-8";
  if (ends(".js")) return "text/javascript; charset=utf-8";
  if (ends(".css")) return "text/css; charset=utf-8";
  if (ends(".svg")) return "image/svg+xml";
  if (ends(".png")) return "image/png";
  if (ends(".ico")) return "image/x-icon";
  if (ends(".json")) return "application/json";
  if (ends(".txt")) return "text/plain; charset=utf-8";
  return "application/octet-stream";
}

Response consoleFile(const Request& request, std::string_view name) {
  auto files = embeddedFiles();
  auto it = std::find_if(files.begin(), files.end(),
                         [&](const EmbeddedFile& file) { return file.name == name; });
  if (it == files.end())
    return errorResponse(http::status::not_found,
                         "the console has no file '" + std::string(name) + "'");
  const bool unchanged = etagMatches(toStringView(request[http::field::if_none_match]), it->etag);
  Response response{unchanged ? http::status::not_modified : http::status::ok, 11};
  response.set(http::field::server, "lightflusd");
  response.set(http::field::etag, beastView(it->etag));
  response.set(http::field::cache_control, "no-cache");
  response.set("X-Content-Type-Options", "nosniff");
  response.set("Referrer-Policy", "no-referrer");
  if (name.ends_with(".html")) {
    response.set("Content-Security-Policy", beastView(kContentSecurityPolicy));
    response.set("X-Frame-Options", "DENY");
  }
  if (unchanged) return response;  // no body and no Content-Length (RFC 9110, 15.4.5)
  response.set(http::field::content_type, beastView(contentTypeOf(name)));
  response.body() = std::string(it->bytes);
  response.prepare_payload();
  return response;
}

}  // namespace lightflus::server
