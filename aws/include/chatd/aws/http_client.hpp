#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace chatd::aws {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

using http_request = http::request<http::string_body>;
using http_response = http::response<http::string_body>;

/// Where a service is: http:// or https://, host, port, and a base path ("" or "/prod").
struct url
{
    bool tls = false;
    std::string host;
    std::string port;
    std::string base_path; ///< no trailing '/'

    /// "https://host[:port][/path]" or "http://..."; nullopt for anything else.
    static std::optional<url> parse(std::string_view text);

    /// The Host header: the host, and the port unless it is the scheme's default.
    std::string host_header() const;
};

/// A client TLS context that verifies servers against the system's CA bundle, looked for
/// where Amazon Linux and Debian keep it ($SSL_CERT_FILE first). Statically linked OpenSSL
/// has Debian's directory compiled in, which Amazon Linux lacks, so the file is named.
std::shared_ptr<net::ssl::context> make_tls_context();

/// One kept-alive HTTP/1.1 connection to one origin, plain or TLS. Not thread-safe: one
/// request at a time, from one coroutine.
class http_connection
{
public:
    http_connection(net::any_io_executor ex, url origin, std::shared_ptr<net::ssl::context> tls);
    ~http_connection();

    /// Send `req` and read the response. Connects first when not connected. A connection
    /// kept alive from an earlier request may have been closed by the peer (or frozen with
    /// a Lambda environment): when it fails before any response byte arrives, it is opened
    /// afresh and the request sent once more. `timeout` of zero waits forever (the Runtime
    /// API's long poll). Throws boost::system::system_error.
    net::awaitable<http_response> send(http_request const& req, std::chrono::milliseconds timeout);

    url const& origin() const { return origin_; }

    void close();

private:
    net::awaitable<void> connect(std::chrono::milliseconds timeout);
    template <class Stream>
    net::awaitable<http_response>
    exchange(Stream& s, http_request const& req, std::chrono::milliseconds timeout);

    net::any_io_executor ex_;
    url origin_;
    std::shared_ptr<net::ssl::context> tls_;
    std::optional<beast::tcp_stream> plain_;
    std::optional<beast::ssl_stream<beast::tcp_stream>> secure_;
};

/// A connection used synchronously: each send runs its own event loop until the response is
/// in. For code that is sequential anyway (a Lambda function's store calls).
class blocking_http
{
public:
    blocking_http(url origin, std::shared_ptr<net::ssl::context> tls);
    http_response send(http_request const& req, std::chrono::milliseconds timeout);

    url const& origin() const { return conn_.origin(); }

private:
    net::io_context ioc_;
    http_connection conn_;
};

} // namespace chatd::aws
