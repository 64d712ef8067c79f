#include "transport/http_session.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <chrono>
#include <optional>
#include <type_traits>

#include "ops/log.hpp"

namespace chatd::server {
namespace {

constexpr auto request_timeout = std::chrono::seconds(30);
constexpr auto tls_handshake_timeout = std::chrono::seconds(10);
constexpr std::size_t max_header_bytes = 16 * 1024;

} // namespace

http_response text_response(unsigned version, http::status status, std::string body)
{
    http_response res{status, version};
    res.set(http::field::server, "chatd");
    res.set(http::field::content_type, "text/plain; charset=utf-8");
    res.body() = std::move(body);
    res.prepare_payload();
    return res;
}

namespace {

/// The answer to a request that could not be parsed, when there is one to give: Beast's
/// parse errors get 400 (431 for headers over the limit) naming the mistake, also when the
/// client half-closed mid-request; a connection that ended between requests, failed, or
/// stalled past the request timeout gets nothing.
std::optional<http_response> malformed_request(error_code ec)
{
    if (ec.category() != http::make_error_code(http::error::bad_target).category() ||
        ec == http::error::end_of_stream)
        return std::nullopt;
    bool too_big = ec == http::error::header_limit;
    auto res = text_response(
        11,
        too_big ? http::status::request_header_fields_too_large : http::status::bad_request,
        too_big ? "request headers are over " + std::to_string(max_header_bytes / 1024) + " KB\n"
                : "malformed HTTP request: " + ec.message() + "\n");
    res.keep_alive(false);
    return res;
}

/// The stream a ws_session takes over: the bare socket, or the whole TLS stream (whose timer
/// the session does not use).
transport make_transport(beast::tcp_stream& stream)
{
    return transport(stream.release_socket());
}

transport make_transport(tls_stream& stream)
{
    beast::get_lowest_layer(stream).expires_never();
    return transport(std::move(stream));
}

/// An upgrade request: the handler takes the stream, or refuses and the refusal is written.
template <class Stream>
net::awaitable<void> hand_over(Stream& stream, http_request req, http_context& ctx)
{
    auto t = make_transport(stream);
    auto refused = co_await ctx.handler.upgrade(std::move(req), t);
    if (!refused)
        co_return;
    refused->keep_alive(false);
    co_await http::async_write(t, *refused, net::as_tuple(net::use_awaitable));
    // (`t` closes the connection when it goes out of scope.)
}

/// A plain connection whose first bytes are a TLS handshake record: the client cannot read a
/// plain answer, so the person running chatd is told instead.
template <class Stream>
bool is_tls_at_plain_port(Stream& stream, beast::flat_buffer const& buffer, error_code ec)
{
    if constexpr (std::is_same_v<Stream, tls_stream>) {
        return false;
    } else {
        if (ec != http::error::bad_method || buffer.size() == 0 ||
            *static_cast<unsigned char const*>(buffer.data().data()) != 0x16)
            return false;
        log::info("a TLS handshake reached this plain port from " +
                  remote_ip(beast::get_lowest_layer(stream).socket()) +
                  ": connect with ws:// and http://, or start chatd with --tls-cert and "
                  "--tls-key");
        return true;
    }
}

/// Write a final answer: the connection closes after it.
template <class Stream>
net::awaitable<void> write_last(Stream& stream, http_response res)
{
    res.keep_alive(false);
    co_await http::async_write(stream, res, net::as_tuple(net::use_awaitable));
}

/// Read the next request, its header first so that the body limit can depend on the target.
/// Nothing when the connection should end: it ended, or a request was refused (the refusal,
/// when the client can read one, has been written).
template <class Stream>
net::awaitable<std::optional<http_request>>
read_request(Stream& stream, beast::flat_buffer& buffer, http_context& ctx)
{
    http::request_parser<http::string_body> parser;
    parser.header_limit(max_header_bytes);
    beast::get_lowest_layer(stream).expires_after(request_timeout);
    auto [ec, n] =
        co_await http::async_read_header(stream, buffer, parser, net::as_tuple(net::use_awaitable));
    if (is_tls_at_plain_port(stream, buffer, ec))
        co_return std::nullopt;
    if (ec) {
        if (auto res = malformed_request(ec))
            co_await write_last(stream, std::move(*res));
        co_return std::nullopt;
    }
    std::size_t limit = ctx.handler.body_limit(parser.get().target());
    if (parser.content_length() && *parser.content_length() > limit) {
        co_await write_last(stream, ctx.handler.too_large(parser.get(), *parser.content_length()));
        co_return std::nullopt;
    }
    parser.body_limit(limit);
    std::tie(ec, n) =
        co_await http::async_read(stream, buffer, parser, net::as_tuple(net::use_awaitable));
    if (ec == http::error::body_limit) {
        co_await write_last(
            stream, text_response(11, http::status::payload_too_large, "request body too large\n"));
        co_return std::nullopt;
    }
    if (ec) {
        if (auto res = malformed_request(ec))
            co_await write_last(stream, std::move(*res));
        co_return std::nullopt;
    }
    co_return parser.release();
}

/// Serve one request that is not an upgrade; true when the connection stays open for the next.
template <class Stream>
net::awaitable<bool> answer(Stream& stream, http_request const& req, http_context& ctx)
{
    auto res = co_await ctx.handler.serve(req);
    res.keep_alive(req.keep_alive());
    if (req.method() == http::verb::head && res.result() != http::status::not_modified) {
        auto size = res.body().size();
        res.body().clear();
        res.content_length(size);
    }
    auto [ec, n] = co_await http::async_write(stream, res, net::as_tuple(net::use_awaitable));
    co_return !ec && res.keep_alive();
}

/// End a connection chatd is done with: a TLS close_notify, or a half-close of plain TCP.
template <class Stream>
net::awaitable<void> finish(Stream& stream)
{
    if constexpr (std::is_same_v<Stream, tls_stream>) {
        beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(5));
        co_await stream.async_shutdown(net::as_tuple(net::use_awaitable));
    } else {
        error_code ignored;
        stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
    }
}

/// HTTP/1.1 keep-alive requests on `stream` (plain or TLS) until it upgrades or ends.
template <class Stream>
net::awaitable<void> serve_on(Stream& stream, http_context& ctx)
{
    beast::flat_buffer buffer;
    for (;;) {
        auto req = co_await read_request(stream, buffer, ctx);
        if (!req)
            break;
        if (websocket::is_upgrade(*req)) {
            co_await hand_over(stream, std::move(*req), ctx);
            co_return; // the stream now belongs to a ws_session, or is finished
        }
        if (!co_await answer(stream, *req, ctx))
            break;
    }
    co_await finish(stream);
}

} // namespace

net::awaitable<void> serve_http(tcp::socket socket, http_context& ctx)
{
    if (!ctx.tls) {
        beast::tcp_stream stream(std::move(socket));
        co_await serve_on(stream, ctx);
        co_return;
    }
    tls_stream stream(std::move(socket), *ctx.tls);
    beast::get_lowest_layer(stream).expires_after(tls_handshake_timeout);
    auto [ec] = co_await stream.async_handshake(net::ssl::stream_base::server,
                                                net::as_tuple(net::use_awaitable));
    if (ec) {
        log::debug("TLS handshake failed: " + ec.message());
        // A plain HTTP request (OpenSSL recognises one by its first bytes): say in plain text
        // what to use instead, so that a client pointed at http:// or ws:// sees why. For
        // anything else (not TLS, a client that does not trust the certificate, too slow)
        // there is nothing to say over a connection without a session.
        if (ec.category() == net::error::get_ssl_category() &&
            ERR_GET_REASON(static_cast<unsigned long>(ec.value())) == SSL_R_HTTP_REQUEST) {
            auto res = text_response(11,
                                     http::status::bad_request,
                                     "chatd serves TLS on this port: use https:// or wss://\n");
            res.keep_alive(false);
            auto& plain = beast::get_lowest_layer(stream);
            plain.expires_after(std::chrono::seconds(5));
            co_await http::async_write(plain, res, net::as_tuple(net::use_awaitable));
            error_code ignored;
            plain.socket().shutdown(tcp::socket::shutdown_send, ignored);
        }
        co_return;
    }
    co_await serve_on(stream, ctx);
}

} // namespace chatd::server
