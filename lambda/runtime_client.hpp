#pragma once

#include <chatd/aws/http_client.hpp>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

namespace chatd::lambda {

/// One invocation, as the Runtime API's /next hands it out.
struct invocation
{
    std::string request_id;
    std::int64_t deadline_ms = 0; ///< epoch milliseconds
    std::string function_arn;
    std::string trace_id;
    std::string payload;
};

/// What a handler answered: a result body, or an error for /error.
struct invocation_result
{
    bool ok = true;
    std::string body;       ///< ok: the function's result JSON
    std::string error_type; ///< !ok: "Runtime.HandlerError", "Function.StoreUnavailable", ...
    std::string error_message;

    static invocation_result error(std::string type, std::string message)
    {
        return {false, {}, std::move(type), std::move(message)};
    }
};

/// The Lambda Runtime API (2018-06-01) on AWS_LAMBDA_RUNTIME_API: long-poll for the next
/// event, post its result or error, report an init error. One kept-alive connection; a
/// connection found dead after a freeze is reopened once (http_connection does that).
class runtime_client
{
public:
    explicit runtime_client(std::string const& host_port);

    /// The next invocation; waits as long as it takes (no read timeout: the environment may
    /// be frozen in between). nullopt when the Runtime API is gone (3 failures in a row) or
    /// answers with an error status: the process should exit.
    std::optional<invocation> next();

    /// Post a result or an error; false when that fails (then exit: Lambda restarts the
    /// environment).
    bool respond(invocation const& inv, invocation_result const& result);

    /// POST /runtime/init/error: the function cannot start.
    bool init_error(std::string const& type, std::string const& message);

private:
    bool post(std::string const& target, std::string body, std::string const& error_type);
    aws::blocking_http http_;
    std::string host_;
};

/// The runtime loop: `init` once (its exception becomes /init/error and exit 1), then
/// next -> handler -> respond until the Runtime API goes away. Returns the exit code.
int run(std::function<std::function<invocation_result(invocation const&)>()> const& init);

} // namespace chatd::lambda
