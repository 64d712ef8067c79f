#pragma once

#include <boost/asio/ssl.hpp>
#include <boost/beast/ssl.hpp>

#include <utility>
#include <variant>

#include "net.hpp"

namespace chatd::server {

/// The HTTP phase's stream over TLS (Beast's timeouts stay available during the handshake and
/// the upgrade request).
using tls_stream = beast::ssl_stream<beast::tcp_stream>;

/// What a WebSocket session reads and writes: the plain socket, or the TLS stream the HTTP
/// phase negotiated. One type for both, so sessions and the gateway are not templates; the
/// choice is made once per connection and costs one branch per I/O call.
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

    /// End the stream after the close handshake: a TCP shutdown for the plain socket, TLS
    /// close_notify first for TLS. `handler(error_code)` runs on the stream's executor.
    template <class Handler>
    void async_shutdown(Handler&& handler)
    {
        if (auto* p = std::get_if<0>(&s_)) {
            error_code ec;
            p->shutdown(tcp::socket::shutdown_send, ec);
            net::post(p->get_executor(),
                      [h = std::forward<Handler>(handler), ec]() mutable { std::move(h)(ec); });
            return;
        }
        std::get<1>(s_).async_shutdown(std::forward<Handler>(handler));
    }

private:
    std::variant<tcp::socket, tls_stream> s_;
};

} // namespace chatd::server
