#include <chatd/aws/dynamodb.hpp>
#include <chatd/aws/sigv4.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <chrono>
#include <cstdlib>
#include <random>
#include <thread>

namespace chatd::aws {
namespace {

std::string env_or(char const* name, std::string fallback)
{
    char const* v = std::getenv(name);
    return v && *v ? std::string(v) : std::move(fallback);
}

bool is_retryable(std::string_view type, int status)
{
    return status >= 500 || type == "ProvisionedThroughputExceededException" ||
           type == "ThrottlingException" || type == "RequestLimitExceeded";
}

void backoff(int attempt)
{
    // Full jitter over 25, 50, 100 ms: retries from many instances do not line up.
    static thread_local std::minstd_rand rng{std::random_device{}()};
    int cap = 25 << attempt;
    std::this_thread::sleep_for(
        std::chrono::milliseconds(std::uniform_int_distribution<int>(cap / 2, cap)(rng)));
}

} // namespace

service_endpoint dynamodb_endpoint_from_environment()
{
    auto region = env_or("AWS_REGION", env_or("AWS_DEFAULT_REGION", "us-east-1"));
    auto text = env_or("AWS_ENDPOINT_URL_DYNAMODB",
                       env_or("AWS_ENDPOINT_URL", "https://dynamodb." + region + ".amazonaws.com"));
    auto where = url::parse(text);
    if (!where)
        throw std::invalid_argument("DynamoDB endpoint '" + text +
                                    "' is not an http:// or https:// URL");
    return service_endpoint{*where, region};
}

dynamodb_client::dynamodb_client(service_endpoint endpoint)
    : endpoint_(std::move(endpoint))
    , http_(endpoint_.where, nullptr)
{}

boost::json::object dynamodb_client::call(std::string_view operation,
                                          boost::json::object const& body)
{
    auto keys = credentials::from_environment();
    if (!keys)
        throw dynamodb_error("MissingAuthenticationToken",
                             "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set",
                             0);
    auto payload = boost::json::serialize(body);
    auto target = endpoint_.where.base_path.empty() ? std::string("/") : endpoint_.where.base_path;
    for (int attempt = 0;; ++attempt) {
        header_list headers = {{"Host", endpoint_.where.host_header()},
                               {"Content-Type", "application/x-amz-json-1.0"},
                               {"X-Amz-Target", "DynamoDB_20120810." + std::string(operation)}};
        sign_request("POST",
                     target,
                     headers,
                     payload,
                     endpoint_.region,
                     "dynamodb",
                     *keys,
                     std::chrono::system_clock::now());
        http_request req{http::verb::post, target, 11};
        for (auto const& [k, v] : headers)
            req.set(k, v);
        req.body() = payload;
        req.prepare_payload();
        ++requests_;
        http_response res;
        try {
            res = http_.send(req, std::chrono::seconds(10));
        } catch (boost::system::system_error const&) {
            if (attempt >= 3)
                throw;
            backoff(attempt);
            continue;
        }
        boost::system::error_code ec;
        auto parsed = boost::json::parse(res.body(), ec);
        if (res.result_int() == 200) {
            if (ec || !parsed.is_object())
                throw dynamodb_error(
                    "InvalidResponse", "DynamoDB answered with no JSON object", 200);
            return std::move(parsed.as_object());
        }
        std::string type = "HTTP" + std::to_string(res.result_int());
        std::string message = res.body();
        if (!ec && parsed.is_object()) {
            auto const& o = parsed.as_object();
            if (auto const* t = o.if_contains("__type"); t && t->is_string()) {
                std::string_view full = t->get_string();
                type = std::string(full.substr(full.rfind('#') + 1));
            }
            for (auto key : {"message", "Message"})
                if (auto const* m = o.if_contains(key); m && m->is_string())
                    message = std::string(m->get_string());
        }
        if (attempt < 3 && is_retryable(type, res.result_int())) {
            backoff(attempt);
            continue;
        }
        throw dynamodb_error(type, message, res.result_int());
    }
}

} // namespace chatd::aws
