#include <chatd/aws/management_api.hpp>
#include <chatd/aws/sigv4.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>
#include <exception>

namespace chatd::aws {
namespace {

post_status classify(unsigned status)
{
    switch (status) {
    case 200:
    case 204:
        return post_status::ok;
    case 410:
        return post_status::gone;
    case 413:
        return post_status::too_large;
    case 429:
        return post_status::throttled;
    case 403:
        return post_status::forbidden;
    default:
        return post_status::failed;
    }
}

} // namespace

struct management_client::impl
{
    net::io_context ioc;
    std::shared_ptr<net::ssl::context> tls;
    std::vector<std::unique_ptr<http_connection>> idle; // kept alive between calls

    std::unique_ptr<http_connection> take(url const& base)
    {
        if (!idle.empty()) {
            auto c = std::move(idle.back());
            idle.pop_back();
            return c;
        }
        if (base.tls && !tls)
            tls = make_tls_context();
        return std::make_unique<http_connection>(ioc.get_executor(), base, tls);
    }

    template <class F>
    void run(F&& spawn_all)
    {
        std::exception_ptr error;
        spawn_all(error);
        ioc.restart();
        ioc.run();
        if (error)
            std::rethrow_exception(error);
    }
};

management_client::management_client(url base, std::string region, std::size_t max_in_flight)
    : base_(std::move(base))
    , region_(std::move(region))
    , max_in_flight_(max_in_flight == 0 ? 1 : max_in_flight)
    , impl_(std::make_unique<impl>())
{}

management_client::~management_client() = default;

std::string management_client::target(std::string_view connection_id) const
{
    return base_.base_path + "/@connections/" + uri_encode(connection_id, false);
}

namespace {

/// One signed call on `conn`, with retries for throttling and server errors.
net::awaitable<post_result> call(http_connection& conn,
                                 http::verb method,
                                 std::string target,
                                 std::string const& connection_id,
                                 std::shared_ptr<std::string const> data,
                                 std::string const& region,
                                 std::string* body_out)
{
    post_result r{connection_id, post_status::failed, {}};
    auto keys = credentials::from_environment();
    if (!keys) {
        r.detail = "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set";
        co_return r;
    }
    std::string_view body = data ? std::string_view(*data) : std::string_view();
    for (int attempt = 0;; ++attempt) {
        header_list headers = {{"Host", conn.origin().host_header()}};
        if (data)
            headers.emplace_back("Content-Type", "application/octet-stream");
        sign_request(http::to_string(method),
                     target,
                     headers,
                     body,
                     region,
                     "execute-api",
                     *keys,
                     std::chrono::system_clock::now());
        http_request req{method, target, 11};
        for (auto const& [k, v] : headers)
            req.set(k, v);
        if (data)
            req.body() = *data;
        req.prepare_payload();
        try {
            auto res = co_await conn.send(req, std::chrono::seconds(10));
            r.status = classify(res.result_int());
            r.detail = std::to_string(res.result_int()) + " " + std::string(res.reason());
            if (auto it = res.find("x-amzn-ErrorType"); it != res.end())
                r.detail += " " + std::string(it->value());
            bool retry = res.result_int() == 429 || res.result_int() >= 500;
            if (!retry || attempt >= 2) {
                if (body_out)
                    *body_out = std::move(res.body());
                co_return r;
            }
        } catch (boost::system::system_error const& e) {
            r.status = post_status::failed;
            r.detail = e.what();
            if (attempt >= 2)
                co_return r;
        }
        net::steady_timer t(co_await net::this_coro::executor);
        t.expires_after(std::chrono::milliseconds(25 << attempt));
        co_await t.async_wait(net::use_awaitable);
    }
}

} // namespace

std::vector<post_result> management_client::post_all(std::vector<post_job> const& jobs)
{
    std::vector<post_result> results(jobs.size());
    std::size_t next = 0;
    auto workers = std::min(max_in_flight_, jobs.size());
    impl_->run([&](std::exception_ptr& error) {
        for (std::size_t w = 0; w < workers; ++w) {
            net::co_spawn(
                impl_->ioc,
                [&]() -> net::awaitable<void> {
                    auto conn = impl_->take(base_);
                    while (next < jobs.size()) {
                        auto i = next++;
                        results[i] = co_await call(*conn,
                                                   http::verb::post,
                                                   target(jobs[i].connection_id),
                                                   jobs[i].connection_id,
                                                   jobs[i].data,
                                                   region_,
                                                   nullptr);
                    }
                    impl_->idle.push_back(std::move(conn));
                },
                [&](std::exception_ptr e) {
                    if (e)
                        error = e;
                });
        }
    });
    return results;
}

post_result
management_client::single(http::verb method, std::string const& connection_id, std::string* body)
{
    post_result out;
    impl_->run([&](std::exception_ptr& error) {
        net::co_spawn(
            impl_->ioc,
            [&]() -> net::awaitable<void> {
                auto conn = impl_->take(base_);
                out = co_await call(
                    *conn, method, target(connection_id), connection_id, nullptr, region_, body);
                impl_->idle.push_back(std::move(conn));
            },
            [&](std::exception_ptr e) { error = e; });
    });
    return out;
}

post_result management_client::disconnect(std::string const& connection_id)
{
    return single(http::verb::delete_, connection_id, nullptr);
}

std::optional<std::string> management_client::get(std::string const& connection_id,
                                                  post_status& status)
{
    std::string body;
    auto out = single(http::verb::get, connection_id, &body);
    status = out.status;
    if (out.status != post_status::ok)
        return std::nullopt;
    return body;
}

} // namespace chatd::aws
