#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "transport/net.hpp"
#include "transport/transport.hpp"

namespace chatd::server {

using http_request = http::request<http::string_body>;
using http_response = http::response<http::string_body>;

/// What an HTTP connection hands to the layers above: the app wires one (uWebSockets' App
/// registers handlers the same way). Called on the I/O thread; must not block it.
class http_handler
{
public:
    /// Largest request body taken for `target`.
    virtual std::size_t body_limit(std::string_view target) const = 0;

    /// The answer to a request for `target` that announces a body of `length` bytes, over
    /// body_limit.
    virtual http_response too_large(http::request_header<> const& req, std::uint64_t length) = 0;

    /// Every request that is not a WebSocket upgrade.
    virtual net::awaitable<http_response> serve(http_request const& req) = 0;

    /// A WebSocket upgrade request on `stream`. Either takes the stream (moves it into a
    /// session, which writes the 101) and returns nothing, or returns the refusal that the
    /// HTTP session then writes on the stream before closing it.
    virtual net::awaitable<std::optional<http_response>> upgrade(http_request req,
                                                                 transport& stream) = 0;

protected:
    ~http_handler() = default;
};

/// What every HTTP connection shares.
struct http_context
{
    http_handler& handler;
    net::ssl::context* tls = nullptr; ///< set: every connection speaks TLS (wss://, https://)
};

/// A plain-text response with chatd's Server header.
http_response text_response(unsigned version, http::status status, std::string body);

/// Serve one TCP connection: HTTP/1.1 keep-alive requests until it upgrades to a WebSocket
/// (handed to http_handler::upgrade) or ends. Malformed requests, oversized headers and
/// bodies, and TLS mix-ups get their answers here.
net::awaitable<void> serve_http(tcp::socket socket, http_context& ctx);

} // namespace chatd::server
