#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace chatd::server {

/// Map a request path to a file under `root`, refusing anything that could escape it.
/// Returns the file's path, or an HTTP status: 400 for a hostile or malformed path
/// ("..", encoded or not, backslashes, NUL), 404 when there is no such file.
/// Touches the file system (stat): call it off the I/O thread.
std::variant<std::filesystem::path, int> resolve_static(std::filesystem::path const& root,
                                                        std::string_view target);

/// Content-Type for a file name, by extension (application/octet-stream when unknown).
std::string_view mime_type(std::string_view path);

/// A file read for serving.
struct static_file
{
    int status = 200; ///< 200, or the error status
    std::string content_type;
    std::string body;
};

/// resolve_static + read. Blocking file I/O: run it on the file thread.
static_file load_static(std::filesystem::path const& root, std::string_view target);

} // namespace chatd::server
