#pragma once

#include <chatd/core/ids.hpp>

#include <cstddef>
#include <string>
#include <string_view>

#include "gateway/connection_registry.hpp"
#include "transport/net.hpp"

namespace chatd::server {

/// PostToConnection's Data limit; larger bodies get 413 PayloadTooLargeException.
constexpr std::size_t max_post_bytes = 131072;

/// True when `target` addresses the management API (".../@connections..." or "%40connections").
bool is_management_target(std::string_view target);

/// The @connections management API: POST, GET and DELETE on /{stage}/@connections/{id}, with
/// API Gateway's status codes, x-amzn-ErrorType headers and bodies, on the connections of
/// `stage`. I/O thread only (it calls the registry directly); does no blocking work.
http::response<http::string_body> handle_management(connection_registry& connections,
                                                    std::string_view stage,
                                                    core::id_source& ids,
                                                    http::request<http::string_body> const& req);

/// The 413 for a PostToConnection body over max_post_bytes.
http::response<http::string_body>
post_too_large(core::id_source& ids, unsigned version, std::uint64_t length);

/// An API Gateway style error response (also used for the 413 the HTTP layer detects).
http::response<http::string_body> management_error(core::id_source& ids,
                                                   unsigned version,
                                                   http::status status,
                                                   std::string_view error_type,
                                                   std::string_view message);

} // namespace chatd::server
