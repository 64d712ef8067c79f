#include "http_session.hpp"

#include <chatd/core/event.hpp>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <chrono>
#include <optional>
#include <type_traits>

#include "gateway.hpp"
#include "log.hpp"
#include "management_api.hpp"
#include "static_files.hpp"
#include "ws_protocol.hpp"

namespace chatd::server {
namespace {

using request = http::request<http::string_body>;
using response = http::response<http::string_body>;

constexpr auto request_timeout = std::chrono::seconds(30);
constexpr auto tls_handshake_timeout = std::chrono::seconds(10);
constexpr std::size_t max_header_bytes = 16 * 1024;
constexpr std::size_t max_other_body_bytes = 64 * 1024;

response text_response(unsigned version, http::status status, std::string body)
{
    response res{status, version};
    res.set(http::field::server, "chatd");
    res.set(http::field::content_type, "text/plain; charset=utf-8");
    res.body() = std::move(body);
    res.prepare_payload();
    return res;
}

std::string_view path_of(std::string_view target)
{
    return target.substr(0, target.find('?'));
}

/// "/", "/{stage}" and "/{stage}/" are the WebSocket endpoint.
bool is_ws_path(std::string_view path, std::string const& stage)
{
    if (path == "/")
        return true;
    if (path.size() < 2 || path.substr(1, stage.size()) != stage)
        return false;
    auto rest = path.substr(1 + stage.size());
    return rest.empty() || rest == "/";
}

std::string source_ip(tcp::socket& socket)
{
    error_code ec;
    auto ep = socket.remote_endpoint(ec);
    if (ec)
        return "";
    auto addr = ep.address();
    if (addr.is_v6() && addr.to_v6().is_v4_mapped())
        return net::ip::make_address_v4(net::ip::v4_mapped, addr.to_v6()).to_string();
    return addr.to_string();
}

std::string forwarded_port(tcp::socket& socket)
{
    error_code ec;
    auto ep = socket.local_endpoint(ec);
    return ec ? "" : std::to_string(ep.port());
}

/// The stream a ws_session takes over: the bare socket, or the whole TLS stream.
transport make_transport(beast::tcp_stream& stream)
{
    return transport(stream.release_socket());
}

transport make_transport(tls_stream& stream)
{
    return transport(std::move(stream));
}

/// Run $connect for an upgrade request; on success hand the stream to a ws_session.
/// Returns the HTTP response to send when the handshake is refused.
template <class Stream>
net::awaitable<std::optional<response>> upgrade(Stream& stream, request req, http_context& ctx)
{
    auto& socket = beast::get_lowest_layer(stream).socket();
    auto& gw = ctx.gw;
    auto const v = req.version();
    if (!is_ws_path(path_of(req.target()), gw.options().stage)) {
        // API Gateway says only "Forbidden"; the log says what the right path is.
        log::info("WebSocket upgrade refused with 403, as API Gateway would: the path is not "
                  "this chatd's stage; connect to /" +
                  gw.options().stage + " (or /)");
        co_return management_error(
            ctx.ids, v, http::status::forbidden, "ForbiddenException", "Forbidden");
    }
    if (!gw.accepting())
        co_return text_response(v, http::status::service_unavailable, "chatd is shutting down\n");
    // A handshake chatd could not complete is refused before $connect runs (RFC 6455 4.2.2).
    if (req[http::field::sec_websocket_version] != "13") {
        auto res = text_response(v,
                                 http::status::upgrade_required,
                                 "Unsupported Sec-WebSocket-Version: this server speaks 13\n");
        res.set(http::field::sec_websocket_version, "13");
        co_return res;
    }
    auto const client_key = std::string(req[http::field::sec_websocket_key]);
    if (!ws::valid_client_key(client_key))
        co_return text_response(
            v,
            http::status::bad_request,
            "Bad Sec-WebSocket-Key: it must be 16 random bytes in base64 (24 characters)\n");

    core::connection_info info;
    info.connection_id = gw.new_connection_id();
    info.connected_at = gw.clock().now();
    info.identity.source_ip = source_ip(socket);
    if (auto it = req.find(http::field::user_agent); it != req.end())
        info.identity.user_agent = std::string(it->value());
    info.domain_name = std::string(req[http::field::host]);
    info.stage = gw.options().stage;
    info.api_id = gw.options().api_id;

    std::optional<std::string> subprotocol;
    if (auto const* route = gw.find_route("$connect"); route && route->target) {
        core::field_list headers;
        for (auto const& f : req)
            headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
        auto target = req.target();
        auto q = target.find('?');
        std::optional<std::string_view> raw_query;
        if (q != std::string_view::npos)
            raw_query = std::string_view(target).substr(q + 1);
        auto ev = core::make_connect_event(info,
                                           gw.new_request_id(),
                                           gw.clock().now(),
                                           headers,
                                           raw_query,
                                           gw.trace_id(),
                                           forwarded_port(socket),
                                           ctx.forwarded_proto);
        // contract(connect): the upgrade waits for $connect; its result decides the handshake.
        auto started = gateway::steady::now();
        auto result = co_await gw.async_invoke(*route, std::move(ev), net::use_awaitable);
        gw.record("CONNECT", info.connection_id, "$connect", result, started);
        using st = invocation_result::status;
        if (result.st == st::function_error) {
            gw.stats().connects_refused.add("502");
            co_return text_response(v, http::status::bad_gateway, "");
        }
        if (result.st == st::timeout) {
            gw.stats().connects_refused.add("504");
            co_return text_response(v, http::status::gateway_timeout, "");
        }
        int code = result.out.status_code;
        if (code < 200 || code > 299) {
            gw.stats().connects_refused.add(std::to_string(code));
            if (result.out.body && log::enabled(log::level::info))
                log::info("$connect refused " + info.connection_id + " with " +
                          std::to_string(code) + ": " + *result.out.body);
            response res{static_cast<http::status>(code), v};
            res.set(http::field::server, "chatd");
            res.prepare_payload();
            co_return res;
        }
        for (auto const& [name, value] : result.out.headers)
            if (beast::iequals(name, "Sec-WebSocket-Protocol"))
                subprotocol = value;
        if (!gw.accepting()) {
            gw.on_closed(info, 1001, "Going away");
            co_return text_response(
                v, http::status::service_unavailable, "chatd is shutting down\n");
        }
    } else if (log::enabled(log::level::info)) {
        log::event(log::level::info, {"CONNECT", info.connection_id, "", "ok", -1, -1, {}});
    }
    // The websocket layer keeps its own timers from here on.
    beast::get_lowest_layer(stream).expires_never();
    auto session = std::make_shared<ws_session>(
        make_transport(stream), gw, std::move(info), gw.options().session_limits);
    session->start(client_key, std::move(subprotocol));
    co_return std::nullopt;
}

/// load_static as a coroutine for co_spawn onto the file thread. Parameters are taken by
/// value so the coroutine frame owns them (a capturing lambda coroutine would not).
net::awaitable<static_file>
load_static_async(std::filesystem::path root, std::string target, conditional cond)
{
    co_return load_static(root, target, cond);
}

/// Everything that is not an upgrade.
net::awaitable<response> handle_plain(request const& req, http_context& ctx)
{
    auto const v = req.version();
    auto path = path_of(req.target());
    if (path == "/chatd.json") {
        // What the web client needs to find the WebSocket endpoint it is served next to.
        auto res = text_response(v,
                                 http::status::ok,
                                 "{\"stage\":\"" + ctx.gw.options().stage +
                                     "\",\"version\":\"" CHATD_VERSION "\"}\n");
        res.set(http::field::content_type, "application/json");
        res.set(http::field::cache_control, "no-store");
        co_return res;
    }
    if (path == "/healthz")
        co_return text_response(v, http::status::ok, "ok\n");
    if (path == "/metrics") {
        auto res = text_response(v, http::status::ok, ctx.gw.stats().render());
        res.set(http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
        res.set(http::field::cache_control, "no-store");
        co_return res;
    }
    if (is_management_target(req.target())) {
        auto res = handle_management(ctx.gw, ctx.ids, req);
        ctx.gw.stats().management_calls.add(std::string(req.method_string()) + " " +
                                            std::to_string(res.result_int()));
        co_return res;
    }
    if (path != "/" && is_ws_path(path, ctx.gw.options().stage)) {
        // contract(upgrade-required): a plain GET of the WebSocket URL -> 426.
        auto res =
            text_response(v,
                          http::status::upgrade_required,
                          "This is a WebSocket endpoint: connect with a WebSocket client.\n");
        res.set(http::field::upgrade, "websocket");
        co_return res;
    }
    if (req.method() != http::verb::get && req.method() != http::verb::head) {
        auto res = text_response(v, http::status::method_not_allowed, "method not allowed\n");
        res.set(http::field::allow, "GET, HEAD");
        co_return res;
    }
    // File reads block: do them on the file thread, then come back here.
    conditional cond;
    if (auto it = req.find(http::field::if_none_match); it != req.end())
        cond.if_none_match = std::string(it->value());
    if (auto it = req.find(http::field::if_modified_since); it != req.end())
        cond.if_modified_since = std::string(it->value());
    auto file = co_await net::co_spawn(
        ctx.files,
        load_static_async(ctx.static_root, std::string(req.target()), std::move(cond)),
        net::use_awaitable);
    auto res = text_response(v, static_cast<http::status>(file.status), std::move(file.body));
    res.set(http::field::content_type, file.content_type);
    // no-cache: the browser keeps the file but asks every time (a 304 when unchanged), so
    // edits to a client under --static show up on the next reload.
    res.set(http::field::cache_control, "no-cache");
    res.set("X-Content-Type-Options", "nosniff");
    res.set("Content-Security-Policy", content_security_policy);
    res.set("Referrer-Policy", "no-referrer");
    if (!file.etag.empty()) {
        res.set(http::field::etag, file.etag);
        res.set(http::field::last_modified, file.last_modified);
    }
    res.prepare_payload();
    if (file.status == 304)
        res.erase(http::field::content_length); // a 304 has no body and describes none
    co_return res;
}

} // namespace

namespace {

/// The answer to a request that could not be parsed, when there is one to give: Beast's
/// parse errors get 400 (431 for headers over the limit) naming the mistake, also when the
/// client half-closed mid-request; a connection that ended between requests, failed, or
/// stalled past the request timeout gets nothing.
std::optional<response> malformed_request(error_code ec)
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

/// HTTP/1.1 keep-alive requests on `stream` (plain or TLS) until it upgrades or ends.
template <class Stream>
net::awaitable<void> serve_on(Stream& stream, http_context& ctx)
{
    beast::flat_buffer buffer;
    for (;;) {
        http::request_parser<http::string_body> parser;
        parser.header_limit(max_header_bytes);
        beast::get_lowest_layer(stream).expires_after(request_timeout);
        auto [ec, n] = co_await http::async_read_header(
            stream, buffer, parser, net::as_tuple(net::use_awaitable));
        if constexpr (!std::is_same_v<Stream, tls_stream>) {
            if (ec == http::error::bad_method && buffer.size() > 0 &&
                *static_cast<unsigned char const*>(buffer.data().data()) == 0x16) {
                // A TLS handshake record: the client cannot read a plain answer, so tell the
                // person running chatd instead.
                log::info("a TLS handshake reached this plain port from " +
                          source_ip(beast::get_lowest_layer(stream).socket()) +
                          ": connect with ws:// and http://, or start chatd with --tls-cert "
                          "and --tls-key");
                break;
            }
        }
        if (ec) {
            if (auto res = malformed_request(ec))
                co_await http::async_write(stream, *res, net::as_tuple(net::use_awaitable));
            break;
        }
        auto const& hdr = parser.get();
        bool management = is_management_target(hdr.target());
        std::size_t limit = management ? max_post_bytes : max_other_body_bytes;
        if (parser.content_length() && *parser.content_length() > limit) {
            auto res = management ? management_error(ctx.ids,
                                                     hdr.version(),
                                                     http::status::payload_too_large,
                                                     "PayloadTooLargeException",
                                                     "Request data is " +
                                                         std::to_string(*parser.content_length()) +
                                                         " bytes; the limit is 131072")
                                  : text_response(hdr.version(),
                                                  http::status::payload_too_large,
                                                  "request body too large\n");
            res.keep_alive(false);
            co_await http::async_write(stream, res, net::as_tuple(net::use_awaitable));
            break;
        }
        parser.body_limit(limit);
        std::tie(ec, n) =
            co_await http::async_read(stream, buffer, parser, net::as_tuple(net::use_awaitable));
        if (ec == http::error::body_limit) {
            auto res =
                text_response(11, http::status::payload_too_large, "request body too large\n");
            res.keep_alive(false);
            co_await http::async_write(stream, res, net::as_tuple(net::use_awaitable));
            break;
        }
        if (ec) {
            if (auto res = malformed_request(ec))
                co_await http::async_write(stream, *res, net::as_tuple(net::use_awaitable));
            break;
        }
        auto req = parser.release();
        if (websocket::is_upgrade(req)) {
            auto refused = co_await upgrade(stream, std::move(req), ctx);
            if (refused) {
                refused->keep_alive(false);
                co_await http::async_write(stream, *refused, net::as_tuple(net::use_awaitable));
            }
            co_return; // the stream now belongs to the ws_session, or is finished
        }
        auto res = co_await handle_plain(req, ctx);
        res.keep_alive(req.keep_alive());
        bool head = req.method() == http::verb::head;
        if (head && res.result() != http::status::not_modified) {
            auto size = res.body().size();
            res.body().clear();
            res.content_length(size);
        }
        std::tie(ec, n) =
            co_await http::async_write(stream, res, net::as_tuple(net::use_awaitable));
        if (ec || !res.keep_alive())
            break;
    }
    if constexpr (std::is_same_v<Stream, tls_stream>) {
        beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(5));
        co_await stream.async_shutdown(net::as_tuple(net::use_awaitable));
    } else {
        error_code ignored;
        stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
    }
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
