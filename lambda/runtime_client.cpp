#include "runtime_client.hpp"

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include <cstdio>
#include <cstdlib>
#include <exception>

namespace chatd::lambda {
namespace {

constexpr char const* prefix = "/2018-06-01";

std::string error_body(std::string const& type, std::string const& message)
{
    return boost::json::serialize(boost::json::object{
        {"errorMessage", message}, {"errorType", type}, {"stackTrace", boost::json::array()}});
}

aws::url runtime_url(std::string const& host_port)
{
    auto u = aws::url::parse("http://" + host_port);
    if (!u)
        throw std::invalid_argument("AWS_LAMBDA_RUNTIME_API '" + host_port + "' is not host:port");
    return *u;
}

} // namespace

runtime_client::runtime_client(std::string const& host_port)
    : http_(runtime_url(host_port), nullptr)
    , host_(host_port)
{}

std::optional<invocation> runtime_client::next()
{
    aws::http_request req{
        aws::http::verb::get, std::string(prefix) + "/runtime/invocation/next", 11};
    req.set(aws::http::field::host, host_);
    for (int failures = 0; failures < 3; ++failures) {
        aws::http_response res;
        try {
            res = http_.send(req, std::chrono::milliseconds(0));
        } catch (std::exception const& e) {
            std::fprintf(stderr, "runtime: /next failed: %s\n", e.what());
            continue;
        }
        if (res.result_int() != 200) {
            std::fprintf(stderr, "runtime: /next answered %u\n", res.result_int());
            return std::nullopt;
        }
        invocation inv;
        inv.request_id = std::string(res["Lambda-Runtime-Aws-Request-Id"]);
        if (inv.request_id.empty()) {
            std::fprintf(stderr, "runtime: /next gave no Lambda-Runtime-Aws-Request-Id\n");
            return std::nullopt;
        }
        inv.deadline_ms =
            std::strtoll(std::string(res["Lambda-Runtime-Deadline-Ms"]).c_str(), nullptr, 10);
        inv.function_arn = std::string(res["Lambda-Runtime-Invoked-Function-Arn"]);
        inv.trace_id = std::string(res["Lambda-Runtime-Trace-Id"]);
        if (!inv.trace_id.empty())
            ::setenv("_X_AMZN_TRACE_ID", inv.trace_id.c_str(), 1);
        else
            ::unsetenv("_X_AMZN_TRACE_ID");
        inv.payload = std::move(res.body());
        return inv;
    }
    return std::nullopt;
}

bool runtime_client::post(std::string const& target,
                          std::string body,
                          std::string const& error_type)
{
    aws::http_request req{aws::http::verb::post, std::string(prefix) + target, 11};
    req.set(aws::http::field::host, host_);
    req.set(aws::http::field::content_type, "application/json");
    if (!error_type.empty())
        req.set("Lambda-Runtime-Function-Error-Type", error_type);
    req.body() = std::move(body);
    req.prepare_payload();
    try {
        auto res = http_.send(req, std::chrono::seconds(30));
        if (res.result_int() == 202)
            return true;
        std::fprintf(stderr,
                     "runtime: %s answered %u %s\n",
                     target.c_str(),
                     res.result_int(),
                     res.body().c_str());
    } catch (std::exception const& e) {
        std::fprintf(stderr, "runtime: %s failed: %s\n", target.c_str(), e.what());
    }
    return false;
}

bool runtime_client::respond(invocation const& inv, invocation_result const& result)
{
    auto base = "/runtime/invocation/" + inv.request_id;
    if (result.ok)
        return post(base + "/response", result.body, {});
    return post(
        base + "/error", error_body(result.error_type, result.error_message), result.error_type);
}

bool runtime_client::init_error(std::string const& type, std::string const& message)
{
    return post("/runtime/init/error", error_body(type, message), type);
}

int run(std::function<std::function<invocation_result(invocation const&)>()> const& init)
{
    char const* api = std::getenv("AWS_LAMBDA_RUNTIME_API");
    if (!api || !*api) {
        std::fprintf(stderr,
                     "AWS_LAMBDA_RUNTIME_API is not set: this program is a Lambda function "
                     "(runtime provided.al2023), started by Lambda or by chatd --template\n");
        return 2;
    }
    std::optional<runtime_client> rt;
    try {
        rt.emplace(api);
    } catch (std::exception const& e) {
        std::fprintf(stderr, "%s\n", e.what());
        return 2;
    }
    std::function<invocation_result(invocation const&)> handler;
    try {
        handler = init();
    } catch (std::exception const& e) {
        std::fprintf(stderr, "init failed: %s\n", e.what());
        rt->init_error("Runtime.InitError", e.what());
        return 1;
    }
    while (auto inv = rt->next()) {
        invocation_result result;
        try {
            result = handler(*inv);
        } catch (std::exception const& e) {
            result = invocation_result::error("Runtime.HandlerError", e.what());
        }
        if (!result.ok)
            std::fprintf(stderr,
                         "%s\t%s: %s\n",
                         inv->request_id.c_str(),
                         result.error_type.c_str(),
                         result.error_message.c_str());
        if (!rt->respond(*inv, result))
            return 1;
    }
    return 1;
}

} // namespace chatd::lambda
