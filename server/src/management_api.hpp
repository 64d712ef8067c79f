#pragma once

#include <chatd/core/ids.hpp>

#include <cstddef>
#include <string>
#include <string_view>

#include "net.hpp"

namespace chatd::server {

class gateway;

/// PostToConnection's Data limit; larger bodies get 413 PayloadTooLargeException.
constexpr std::size_t max_post_bytes = 131072;

/// True when `target` addresses the management API (".../@connections..." or "%40connections").
bool is_management_target(std::string_view target);

/// The @connections management API: POST, GET and DELETE on /{stage}/@connections/{id}, with
/// API Gateway's status codes, x-amzn-ErrorType headers and bodies. I/O thread only (it calls
/// the gateway directly); does no blocking work.
http::response<http::string_body>
handle_management(gateway& gw, core::id_source& ids, http::request<http::string_body> const& req);

/// An API Gateway style error response (also used for the 413 the HTTP layer detects).
http::response<http::string_body> management_error(core::id_source& ids,
                                                   unsigned version,
                                                   http::status status,
                                                   std::string_view error_type,
                                                   std::string_view message);

} // namespace chatd::server
