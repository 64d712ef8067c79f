#include "integrations/http_integration.hpp"

#include <chatd/core/event_json.hpp>
#include <chatd/core/proxy_result.hpp>

#include "ops/log.hpp"

namespace chatd::server {
namespace {

using status = invocation_result::status;

/// Largest response read from an integration (a Lambda response is at most 6 MB).
constexpr std::size_t max_response_bytes = 6 * 1024 * 1024;

invocation_result function_error(std::string why)
{
    return invocation_result{status::function_error, {}, std::move(why)};
}

/// A reused keep-alive connection the server had already closed: worth one retry.
bool is_stale_connection(error_code ec)
{
    return ec == http::error::end_of_stream || ec == net::error::eof ||
           ec == net::error::connection_reset || ec == net::error::broken_pipe;
}

} // namespace

std::optional<http_url> parse_http_url(std::string_view url)
{
    constexpr std::string_view scheme = "http://";
    if (url.substr(0, scheme.size()) != scheme)
        return std::nullopt;
    url.remove_prefix(scheme.size());
    auto slash = url.find('/');
    auto authority = url.substr(0, slash);
    http_url out;
    out.target = slash == std::string_view::npos ? "/" : std::string(url.substr(slash));
    if (authority.empty() || authority.find('@') != std::string_view::npos)
        return std::nullopt;
    if (authority.front() == '[') { // [::1]:9000
        auto close = authority.find(']');
        if (close == std::string_view::npos)
            return std::nullopt;
        out.host = std::string(authority.substr(1, close - 1));
        auto rest = authority.substr(close + 1);
        if (!rest.empty() && rest.front() != ':')
            return std::nullopt;
        out.port = rest.empty() ? "80" : std::string(rest.substr(1));
    } else {
        auto colon = authority.rfind(':');
        out.host = std::string(authority.substr(0, colon));
        out.port =
            colon == std::string_view::npos ? "80" : std::string(authority.substr(colon + 1));
    }
    if (out.host.empty() || out.port.empty() || out.port.size() > 5 ||
        out.port.find_first_not_of("0123456789") != std::string::npos)
        return std::nullopt;
    return out;
}

http_integration::http_integration(net::any_io_executor io,
                                   http_url url,
                                   std::chrono::milliseconds timeout,
                                   std::size_t max_connections,
                                   std::size_t max_queue)
    : io_(std::move(io))
    , url_(std::move(url))
    , host_header_(url_.host.find(':') != std::string::npos ? "[" + url_.host + "]:" + url_.port
                                                            : url_.host + ":" + url_.port)
    , timeout_(timeout)
    , max_connections_(max_connections)
    , max_queue_(max_queue)
{}

void http_integration::invoke(core::event ev, completion done)
{
    job j{core::serialize(ev), std::move(done)};
    if (active_ >= max_connections_) {
        if (queue_.size() >= max_queue_)
            return j.done(function_error("too many requests waiting for the integration"));
        queue_.push_back(std::move(j));
        return;
    }
    ++active_;
    net::co_spawn(io_, run(std::move(j)), log::if_thrown("http integration"));
}

net::awaitable<void> http_integration::run(job first)
{
    // One worker: runs its job, then keeps taking queued jobs on the same connection.
    std::optional<beast::tcp_stream> stream;
    if (!idle_.empty()) {
        stream.emplace(std::move(idle_.back()));
        idle_.pop_back();
    }
    std::optional<job> current(std::move(first));
    while (current) {
        auto result = co_await exchange(stream, current->body);
        current->done(std::move(result));
        current.reset();
        if (!queue_.empty()) {
            current.emplace(std::move(queue_.front()));
            queue_.pop_front();
        }
    }
    if (stream && idle_.size() < max_connections_)
        idle_.push_back(std::move(*stream));
    --active_;
}

net::awaitable<error_code> http_integration::connect(std::optional<beast::tcp_stream>& stream)
{
    if (!resolved_) {
        tcp::resolver resolver(io_);
        auto [ec, results] = co_await resolver.async_resolve(
            url_.host, url_.port, net::as_tuple(net::use_awaitable));
        if (ec)
            co_return ec;
        resolved_ = results;
    }
    stream.emplace(io_);
    stream->expires_after(timeout_);
    auto [ec, ep] = co_await stream->async_connect(*resolved_, net::as_tuple(net::use_awaitable));
    if (ec) {
        stream.reset();
        resolved_.reset(); // resolve again next time
    }
    co_return ec;
}

net::awaitable<invocation_result>
http_integration::exchange(std::optional<beast::tcp_stream>& stream, std::string const& body)
{
    http::request<http::string_body> req{http::verb::post, url_.target, 11};
    req.set(http::field::host, host_header_);
    req.set(http::field::user_agent, "chatd/" CHATD_VERSION);
    req.set(http::field::content_type, "application/json");
    req.keep_alive(true);
    req.body() = body;
    req.prepare_payload();

    for (int attempt = 0;; ++attempt) {
        bool reused = stream.has_value();
        if (!stream) {
            if (auto ec = co_await connect(stream)) {
                if (ec == beast::error::timeout)
                    co_return invocation_result{status::timeout, {}, "connect timed out"};
                co_return function_error("cannot reach the integration at " + host_header_ + ": " +
                                         ec.message());
            }
        }
        stream->expires_after(timeout_);
        auto [wec, wn] =
            co_await http::async_write(*stream, req, net::as_tuple(net::use_awaitable));
        beast::flat_buffer buffer;
        http::response_parser<http::string_body> parser;
        parser.body_limit(max_response_bytes);
        error_code ec = wec;
        if (!ec)
            std::tie(ec, wn) = co_await http::async_read(
                *stream, buffer, parser, net::as_tuple(net::use_awaitable));
        if (ec) {
            stream.reset();
            if (reused && attempt == 0 && is_stale_connection(ec))
                continue; // the keep-alive connection had been closed: try a fresh one
            if (ec == beast::error::timeout)
                co_return invocation_result{
                    status::timeout, {}, "the integration did not answer in time"};
            co_return function_error("integration request failed: " + ec.message());
        }
        auto res = parser.release();
        if (!res.keep_alive())
            stream.reset();
        else
            stream->expires_never();
        int code = static_cast<int>(res.result_int());
        if (code < 200 || code > 299)
            co_return function_error("the integration answered HTTP " + std::to_string(code));
        if (res.find("X-Amz-Function-Error") != res.end())
            co_return function_error("function error: " + res.body());
        auto parsed = core::parse_proxy_result(res.body());
        if (!parsed.out)
            co_return function_error(parsed.error);
        co_return invocation_result{status::ok, std::move(*parsed.out), {}};
    }
}

} // namespace chatd::server
