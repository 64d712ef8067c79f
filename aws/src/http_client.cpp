#include <chatd/aws/http_client.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>

#include <cstdlib>
#include <exception>
#include <filesystem>

namespace chatd::aws {
namespace {

/// Errors that mean "the kept-alive connection was already dead", not "the server failed".
bool is_stale_connection(boost::system::error_code const& ec)
{
    return ec == http::error::end_of_stream || ec == net::error::eof ||
           ec == net::error::connection_reset || ec == net::error::broken_pipe ||
           ec == net::error::connection_aborted || ec == net::ssl::error::stream_truncated;
}

void set_timeout(beast::tcp_stream& s, std::chrono::milliseconds t)
{
    if (t.count() > 0)
        s.expires_after(t);
    else
        s.expires_never();
}

/// The largest response accepted: a Runtime API event (6 MB) with room to spare.
constexpr std::uint64_t max_body = 16u << 20;

} // namespace

std::optional<url> url::parse(std::string_view text)
{
    url u;
    if (text.starts_with("https://")) {
        u.tls = true;
        text.remove_prefix(8);
    } else if (text.starts_with("http://")) {
        text.remove_prefix(7);
    } else {
        return std::nullopt;
    }
    auto slash = text.find('/');
    auto authority = text.substr(0, slash);
    if (slash != std::string_view::npos)
        u.base_path = std::string(text.substr(slash));
    while (!u.base_path.empty() && u.base_path.back() == '/')
        u.base_path.pop_back();
    if (authority.empty())
        return std::nullopt;
    if (authority.front() == '[') {
        auto close = authority.find(']');
        if (close == std::string_view::npos)
            return std::nullopt;
        u.host = std::string(authority.substr(1, close - 1));
        auto rest = authority.substr(close + 1);
        if (!rest.empty() && rest.front() == ':')
            u.port = std::string(rest.substr(1));
    } else {
        auto colon = authority.rfind(':');
        u.host = std::string(authority.substr(0, colon));
        if (colon != std::string_view::npos)
            u.port = std::string(authority.substr(colon + 1));
    }
    if (u.port.empty())
        u.port = u.tls ? "443" : "80";
    if (u.host.empty() || u.port.find_first_not_of("0123456789") != std::string::npos)
        return std::nullopt;
    return u;
}

std::string url::host_header() const
{
    std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
    if ((tls && port != "443") || (!tls && port != "80"))
        h += ":" + port;
    return h;
}

std::shared_ptr<net::ssl::context> make_tls_context()
{
    auto ctx = std::make_shared<net::ssl::context>(net::ssl::context::tls_client);
    ctx->set_verify_mode(net::ssl::verify_peer);
    std::vector<std::string> candidates;
    if (char const* f = std::getenv("SSL_CERT_FILE"); f && *f)
        candidates.emplace_back(f);
    candidates.emplace_back("/etc/pki/tls/certs/ca-bundle.crt");
    candidates.emplace_back("/etc/ssl/certs/ca-certificates.crt");
    for (auto const& path : candidates) {
        std::error_code ec;
        if (std::filesystem::is_regular_file(path, ec)) {
            ctx->load_verify_file(path);
            return ctx;
        }
    }
    ctx->set_default_verify_paths();
    return ctx;
}

http_connection::http_connection(net::any_io_executor ex,
                                 url origin,
                                 std::shared_ptr<net::ssl::context> tls)
    : ex_(std::move(ex))
    , origin_(std::move(origin))
    , tls_(std::move(tls))
{}

http_connection::~http_connection() = default;

void http_connection::close()
{
    boost::system::error_code ec;
    if (plain_)
        plain_->socket().close(ec);
    if (secure_)
        beast::get_lowest_layer(*secure_).socket().close(ec);
    plain_.reset();
    secure_.reset();
}

net::awaitable<void> http_connection::connect(std::chrono::milliseconds timeout)
{
    close();
    net::ip::tcp::resolver resolver(ex_);
    auto endpoints =
        co_await resolver.async_resolve(origin_.host, origin_.port, net::use_awaitable);
    auto connect_timeout = timeout.count() > 0 ? timeout : std::chrono::milliseconds(10000);
    if (!origin_.tls) {
        plain_.emplace(ex_);
        plain_->expires_after(connect_timeout);
        co_await plain_->async_connect(endpoints, net::use_awaitable);
        plain_->socket().set_option(net::ip::tcp::no_delay(true));
        co_return;
    }
    if (!tls_)
        tls_ = make_tls_context();
    secure_.emplace(ex_, *tls_);
    auto& lowest = beast::get_lowest_layer(*secure_);
    lowest.expires_after(connect_timeout);
    co_await lowest.async_connect(endpoints, net::use_awaitable);
    lowest.socket().set_option(net::ip::tcp::no_delay(true));
    // SNI names a host; an address is not sent (RFC 6066), but still verified below.
    boost::system::error_code not_ip;
    net::ip::make_address(origin_.host, not_ip);
    if (not_ip && !SSL_set_tlsext_host_name(secure_->native_handle(), origin_.host.c_str()))
        throw boost::system::system_error(boost::system::error_code(
            static_cast<int>(::ERR_get_error()), net::error::get_ssl_category()));
    secure_->set_verify_callback(net::ssl::host_name_verification(origin_.host));
    co_await secure_->async_handshake(net::ssl::stream_base::client, net::use_awaitable);
}

template <class Stream>
net::awaitable<http_response>
http_connection::exchange(Stream& s, http_request const& req, std::chrono::milliseconds timeout)
{
    set_timeout(beast::get_lowest_layer(s), timeout);
    co_await http::async_write(s, req, net::use_awaitable);
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(max_body);
    co_await http::async_read(s, buffer, parser, net::use_awaitable);
    co_return parser.release();
}

net::awaitable<http_response> http_connection::send(http_request const& req,
                                                    std::chrono::milliseconds timeout)
{
    for (int attempt = 0;; ++attempt) {
        bool reused = plain_ || secure_;
        if (!reused)
            co_await connect(timeout);
        try {
            // Two statements, not ?: with co_await in both arms (GCC 12 miscompiles that).
            http_response res;
            if (plain_)
                res = co_await exchange(*plain_, req, timeout);
            else
                res = co_await exchange(*secure_, req, timeout);
            if (!res.keep_alive())
                close();
            co_return res;
        } catch (boost::system::system_error const& e) {
            close();
            if (!reused || attempt > 0 || !is_stale_connection(e.code()))
                throw;
        }
    }
}

blocking_http::blocking_http(url origin, std::shared_ptr<net::ssl::context> tls)
    : conn_(ioc_.get_executor(), std::move(origin), std::move(tls))
{}

http_response blocking_http::send(http_request const& req, std::chrono::milliseconds timeout)
{
    std::optional<http_response> res;
    std::exception_ptr error;
    net::co_spawn(
        ioc_,
        [&]() -> net::awaitable<void> { res = co_await conn_.send(req, timeout); },
        [&](std::exception_ptr e) { error = e; });
    ioc_.restart();
    ioc_.run();
    if (error)
        std::rethrow_exception(error);
    return std::move(*res);
}

} // namespace chatd::aws
