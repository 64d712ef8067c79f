#pragma once

#include <boost/asio/ssl.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include <utility>
#include <variant>

#include "net.hpp"

namespace chatd::server {

/// The HTTP phase's stream over TLS (Beast's timeouts stay available during the handshake and
/// the upgrade request).
using tls_stream = beast::ssl_stream<beast::tcp_stream>;

/// What a WebSocket session reads and writes: the plain socket, or the TLS stream the HTTP
/// phase negotiated. One type for both, so sessions, the frame guard and the gateway are not
/// templates; the choice is made once per connection and costs one branch per I/O call.
class transport
{
public:
    using executor_type = net::any_io_executor;

    explicit transport(tcp::socket plain)
        : s_(std::in_place_index<0>, std::move(plain))
    {}

    explicit transport(tls_stream tls)
        : s_(std::in_place_index<1>, std::move(tls))
    {}

    executor_type get_executor() noexcept
    {
        return std::visit([](auto& s) -> executor_type { return s.get_executor(); }, s_);
    }

    bool secure() const noexcept { return s_.index() == 1; }

    /// The TCP socket underneath (for endpoints and closing).
    tcp::socket& socket() noexcept
    {
        if (auto* p = std::get_if<0>(&s_))
            return *p;
        return std::get<1>(s_).next_layer().socket();
    }

    template <class MutableBuffers, class Token>
    auto async_read_some(MutableBuffers const& buffers, Token&& token)
    {
        return net::async_initiate<Token, void(error_code, std::size_t)>(
            [this](auto handler, MutableBuffers const& b) {
                std::visit([&](auto& s) { s.async_read_some(b, std::move(handler)); }, s_);
            },
            token,
            buffers);
    }

    template <class ConstBuffers, class Token>
    auto async_write_some(ConstBuffers const& buffers, Token&& token)
    {
        return net::async_initiate<Token, void(error_code, std::size_t)>(
            [this](auto handler, ConstBuffers const& b) {
                std::visit([&](auto& s) { s.async_write_some(b, std::move(handler)); }, s_);
            },
            token,
            buffers);
    }

    /// Close the TCP socket at once (no TLS close_notify).
    void close(error_code& ec) { socket().close(ec); }

    /// What beast::close_socket does with us (on timeouts and aborts).
    friend void beast_close_socket(transport& t)
    {
        error_code ignored;
        t.close(ignored);
    }

    /// The websocket layer's teardown after the close handshake: TCP shutdown for plain
    /// sockets, TLS close_notify first for TLS.
    friend void teardown(beast::role_type role, transport& t, error_code& ec)
    {
        using beast::websocket::teardown;
        std::visit([&](auto& s) { teardown(role, s, ec); }, t.s_);
    }

    template <class Handler>
    friend void async_teardown(beast::role_type role, transport& t, Handler&& handler)
    {
        using beast::websocket::async_teardown;
        std::visit([&](auto& s) { async_teardown(role, s, std::forward<Handler>(handler)); }, t.s_);
    }

private:
    std::variant<tcp::socket, tls_stream> s_;
};

} // namespace chatd::server
