// The web console of `lightflusd serve`: a page at `/` (server/console/index.html) whose script
// (app.js) shows the jobs and lets an operator submit, stop, savepoint and delete them, by
// polling the REST API once a second. Its files are embedded in the binary (embedded_files.hpp)
// and served without the token, as they hold no data; the page asks for the token when the API
// wants one and sends it as `Authorization: Bearer` (it keeps it in the tab's sessionStorage).
#pragma once

#include <string_view>

#include "http_message.hpp"

namespace lightflus::server {

/// The Content-Type of a console file, by its extension.
std::string_view contentTypeOf(std::string_view name) noexcept;

/// The answer to a GET of the console file `name` ("index.html", "app.js", ...): 200 with its
/// bytes, its Content-Type and ETag, `Cache-Control: no-cache` (the browser revalidates, so a
/// new daemon's console is seen at once) and a Content-Security-Policy that allows only the
/// daemon's own scripts, styles and API; 304 when If-None-Match holds its ETag; 404 when there
/// is no such file.
Response consoleFile(const Request& request, std::string_view name);

}  // namespace lightflus::server
