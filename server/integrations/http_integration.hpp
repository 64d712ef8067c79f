#pragma once

#include <chrono>
#include <cstddef>
#include <deque>
#include <optional>
#include <string>
#include <vector>

#include "integrations/integration.hpp"
#include "transport/net.hpp"

namespace chatd::server {

/// A parsed http:// integration URL.
struct http_url
{
    std::string host;
    std::string port;
    std::string target; ///< path and query, at least "/"
};

/// Parse "http://host[:port]/path"; nullopt when it is not one.
std::optional<http_url> parse_http_url(std::string_view url);

/// An integration that POSTs each event's JSON to an HTTP endpoint and reads the response as a
/// Lambda proxy result: how the Lambda runtime interface emulator's invoke URL behaves, so a
/// Lambda container image (or any small HTTP handler) can serve a route.
///
/// Runs on the I/O thread, asynchronously: keep-alive connections (at most `max_connections`
/// at once), requests beyond that wait in a bounded queue. A connection failure, a non-2xx
/// answer or a body that is not a proxy result is a function error; no answer within
/// `timeout` is a timeout.
class http_integration final : public integration
{
public:
    http_integration(net::any_io_executor io,
                     http_url url,
                     std::chrono::milliseconds timeout,
                     std::size_t max_connections = 64,
                     std::size_t max_queue = 10000);

    void invoke(core::event ev, completion done) override;

private:
    struct job
    {
        std::string body;
        completion done;
    };

    net::awaitable<void> run(job first);
    net::awaitable<invocation_result> exchange(std::optional<beast::tcp_stream>& stream,
                                               std::string const& body);
    net::awaitable<error_code> connect(std::optional<beast::tcp_stream>& stream);

    net::any_io_executor io_;
    http_url url_;
    std::string host_header_;
    std::chrono::milliseconds timeout_;
    std::size_t max_connections_;
    std::size_t max_queue_;
    std::size_t active_ = 0;
    std::deque<job> queue_;
    std::vector<beast::tcp_stream> idle_;
    std::optional<tcp::resolver::results_type> resolved_;
};

} // namespace chatd::server
