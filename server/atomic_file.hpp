// Files the registry writes atomically: a temp file beside the target, fsync, rename, then
// fsync of the directory. A reader sees the old contents or the new, never a partial file.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

namespace lightflus::server {

/// Replaces `path` with `contents` atomically. Throws Error with the path on failure.
void writeFileAtomically(const std::filesystem::path& path, std::string_view contents);

/// The contents of `path`. Throws Error with the path on failure.
std::string readWholeFile(const std::filesystem::path& path);

}  // namespace lightflus::server
