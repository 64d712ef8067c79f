#pragma once

#include <boost/asio/ssl.hpp>
#include <boost/beast/ssl.hpp>

#include <cstddef>
#include <memory>
#include <string>
#include <utility>
#include <variant>

#include "transport/net.hpp"

namespace chatd::server {

/// The HTTP phase's stream over TLS (Beast's timeouts stay available during the handshake and
/// the upgrade request).
using tls_stream = beast::ssl_stream<beast::tcp_stream>;

/// What a WebSocket session reads and writes: the plain socket, or the TLS stream the HTTP
/// phase negotiated. One type for both, so sessions are not compiled twice; the choice is
/// made once per connection and costs one branch per I/O call.
///
/// This is the stream interface basic_ws_session is written against (tests give it a fake
/// one): async_read, write_now, async_write, start_reading, close and async_shutdown.
class transport
{
public:
    using executor_type = net::any_io_executor;

    explicit transport(tcp::socket plain);

    explicit transport(tls_stream tls);

    executor_type get_executor() noexcept
    {
        return std::visit([](auto& s) -> executor_type { return s.get_executor(); }, s_);
    }

    bool secure() const noexcept { return s_.index() == 1; }

    /// The client's address as API Gateway reports it (IPv4-mapped IPv6 as plain IPv4), or ""
    /// when the socket has none.
    std::string remote_ip();

    /// The port the client connected to, or "".
    std::string local_port();

    /// The connection is open for WebSocket traffic: plain sockets switch to non-blocking
    /// calls (see async_read and write_now), TLS gets its read buffer.
    void start_reading();

    /// Read what has arrived: `handler(error_code, unsigned char const* data, std::size_t n)`,
    /// where the bytes stay valid only during the call. A plain socket waits for readiness with
    /// no buffer and then reads into one buffer per I/O thread, so an idle connection holds no
    /// read buffer; TLS decrypts as the read completes and needs one of its own.
    template <class Handler>
    void async_read(Handler&& handler);

    /// Write what the kernel takes at once, without waiting; returns how much that was. A full
    /// send buffer counts as nothing written, not as an error; over TLS nothing is written
    /// here (everything goes through async_write).
    template <class ConstBuffers>
    std::size_t write_now(ConstBuffers const& buffers, error_code& ec);

    /// Write all of `buffers`, then `handler(error_code)`. The buffers must outlive the write.
    template <class ConstBuffers, class Handler>
    void async_write(ConstBuffers const& buffers, Handler&& handler)
    {
        std::visit(
            [&](auto& s) {
                net::async_write(s,
                                 buffers,
                                 [h = std::forward<Handler>(handler)](
                                     error_code ec, std::size_t) mutable { std::move(h)(ec); });
            },
            s_);
    }

    /// Close the TCP socket at once (no TLS close_notify); pending operations end with
    /// operation_aborted.
    void close();

    /// End the stream after the close handshake: a TCP shutdown for the plain socket, TLS
    /// close_notify first for TLS. `handler(error_code)` runs on the stream's executor.
    template <class Handler>
    void async_shutdown(Handler&& handler);

    // AsyncReadStream and AsyncWriteStream, so Beast's HTTP writer can answer a refused upgrade.
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

private:
    /// The TCP socket underneath.
    tcp::socket& socket() noexcept;

    /// The plain socket's shared read buffer (one per I/O thread) and its size.
    static unsigned char* thread_read_buffer();
    static constexpr std::size_t read_bytes = 64 * 1024;
    static constexpr std::size_t tls_read_bytes = 4 * 1024;

    std::variant<tcp::socket, tls_stream> s_;
    std::unique_ptr<unsigned char[]> tls_buffer_; ///< TLS reads land here (plain ones do not)
};

/// The client's address as API Gateway reports it (IPv4-mapped IPv6 as plain IPv4), or ""
/// when the socket has none.
std::string remote_ip(tcp::socket& socket);

/// The kernel had no room (or nothing to read) for a non-blocking call. Tested only when `ec`
/// is set: comparing an error_code with an enum builds a second error_code, which is not free
/// on a path taken once per delivery.
inline bool would_block(error_code const& ec)
{
    return ec && (ec == net::error::would_block || ec == net::error::try_again);
}

template <class Handler>
void transport::async_read(Handler&& handler)
{
    if (auto* tls = std::get_if<1>(&s_)) {
        tls->async_read_some(
            net::buffer(tls_buffer_.get(), tls_read_bytes),
            [this, h = std::forward<Handler>(handler)](error_code ec, std::size_t n) mutable {
                std::move(h)(ec, tls_buffer_.get(), n);
            });
        return;
    }
    auto& plain = std::get<0>(s_);
    plain.async_wait(tcp::socket::wait_read,
                     [this, h = std::forward<Handler>(handler)](error_code ec) mutable {
                         if (ec)
                             return std::move(h)(ec, nullptr, 0);
                         auto* buffer = thread_read_buffer();
                         auto n = std::get<0>(s_).read_some(net::buffer(buffer, read_bytes), ec);
                         if (would_block(ec)) // woken with nothing to read after all
                             return async_read(std::move(h));
                         std::move(h)(ec, buffer, n);
                     });
}

template <class ConstBuffers>
std::size_t transport::write_now(ConstBuffers const& buffers, error_code& ec)
{
    auto* plain = std::get_if<0>(&s_);
    if (!plain)
        return 0;
    auto n = plain->write_some(buffers, ec);
    if (would_block(ec)) {
        ec = {};
        n = 0;
    }
    return n;
}

template <class Handler>
void transport::async_shutdown(Handler&& handler)
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

} // namespace chatd::server
