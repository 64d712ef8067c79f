#pragma once

#include <chatd/core/ids.hpp>

#include <filesystem>
#include <string>

#include "net.hpp"
#include "transport.hpp"

namespace chatd::server {

class gateway;

/// What an HTTP connection needs from the server.
struct http_context
{
    gateway& gw;
    core::id_source& ids;
    std::filesystem::path static_root;
    net::any_io_executor files; ///< where blocking file reads run
    std::string forwarded_proto = "http";
    net::ssl::context* tls = nullptr; ///< set: every connection speaks TLS (wss://, https://)
};

/// Serve one TCP connection: HTTP/1.1 keep-alive requests (health, management API, static
/// files) until it upgrades to a WebSocket, which is handed to a ws_session after $connect.
net::awaitable<void> serve_http(tcp::socket socket, http_context& ctx);

} // namespace chatd::server
