// Files embedded in the binary at build time (cmake/EmbedFiles.cmake writes the definition of
// embeddedFiles() from server/console/): the web console's page, script and style sheet.
#pragma once

#include <span>
#include <string_view>

namespace lightflus::server {

struct EmbeddedFile {
  std::string_view name;   ///< its path under server/console/, e.g. "app.js"
  std::string_view bytes;  ///< its contents
  std::string_view etag;   ///< a quoted strong ETag: the start of its SHA-256
};

/// Every embedded file, sorted by name.
std::span<const EmbeddedFile> embeddedFiles() noexcept;

}  // namespace lightflus::server
