#pragma once

#include <cstdint>
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

/// The request's cache validators (empty when absent).
struct conditional
{
    std::string if_none_match;
    std::string if_modified_since;
};

/// A file read for serving.
struct static_file
{
    int status = 200; ///< 200, 304 (not modified: no body), or the error status
    std::string content_type;
    std::string body;
    std::string etag;          ///< strong validator from size and modification time
    std::string last_modified; ///< IMF-fixdate
};

/// resolve_static + validators + read (skipped for 304). Blocking file I/O: run it on the file
/// thread.
static_file load_static(std::filesystem::path const& root,
                        std::string_view target,
                        conditional const& cond = {});

/// HTTP date (IMF-fixdate, "Sun, 06 Nov 1994 08:49:37 GMT") from seconds since the epoch, and
/// back; parse returns nullopt for anything else.
std::string format_http_date(std::int64_t epoch_seconds);
std::optional<std::int64_t> parse_http_date(std::string_view text);

/// Whether an If-None-Match header value matches `etag` (weak comparison, "*" matches).
bool etag_matches(std::string_view if_none_match, std::string_view etag);

/// The Content-Security-Policy chatd sends with its static files: everything from the same
/// origin only, except WebSocket connections, which may go to any ws:/wss: endpoint (the client
/// can be pointed at a deployed API Gateway).
inline constexpr std::string_view content_security_policy =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self' ws: wss:; manifest-src 'self'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'";

} // namespace chatd::server
