#pragma once

#include <chatd/core/event.hpp>
#include <chatd/core/outcome.hpp>

#include <functional>
#include <string>

namespace chatd::server {

/// How an integration call ended, as API Gateway tells them apart.
struct invocation_result
{
    enum class status
    {
        ok,
        function_error,
        timeout
    };

    status st = status::ok;
    core::outcome out; ///< meaningful when st == ok
    std::string error; ///< why, for the log, when st != ok
};

/// A route's backend: the built-in chat app, or an HTTP endpoint (http_integration). Mirrors a
/// Lambda-proxy integration: one event in, one result out.
class integration
{
public:
    using completion = std::function<void(invocation_result)>;

    virtual ~integration() = default;

    /// Start handling `ev`. Called on the I/O thread; must not block it. `done` may be called
    /// on any thread, exactly once.
    virtual void invoke(core::event ev, completion done) = 0;
};

/// Something that takes a raw payload and answers with one: how a REQUEST authorizer (a
/// Lambda function) is called, with an event that is not a proxy event.
class raw_invoker
{
public:
    struct result
    {
        bool ok = false;
        std::string body;  ///< the response, or the error's JSON
        std::string error; ///< for the log, when !ok
        bool timed_out = false;
    };

    using raw_completion = std::function<void(result)>;

    virtual ~raw_invoker() = default;

    /// Called on the I/O thread; `done` runs on it too, exactly once.
    virtual void invoke_raw(std::string payload, raw_completion done) = 0;
};

} // namespace chatd::server
