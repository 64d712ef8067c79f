#pragma once

#include <chatd/aws/http_client.hpp>

#include <boost/json/object.hpp>

#include <stdexcept>
#include <string>
#include <string_view>

namespace chatd::aws {

/// A DynamoDB error answer: `type` is the part of __type after '#'
/// (ConditionalCheckFailedException, ResourceNotFoundException, ...).
class dynamodb_error : public std::runtime_error
{
public:
    dynamodb_error(std::string error_type, std::string const& message, int http_status)
        : std::runtime_error(error_type + ": " + message)
        , type(std::move(error_type))
        , status(http_status)
    {}

    std::string type;
    int status;
};

/// Where DynamoDB is, as the AWS SDKs find it: AWS_ENDPOINT_URL_DYNAMODB, then
/// AWS_ENDPOINT_URL, then https://dynamodb.<region>.amazonaws.com; region from AWS_REGION
/// (then AWS_DEFAULT_REGION, then us-east-1).
struct service_endpoint
{
    url where;
    std::string region;
};

service_endpoint dynamodb_endpoint_from_environment();

/// DynamoDB's JSON protocol (POST / with X-Amz-Target) over one kept-alive connection,
/// signed with Signature Version 4. Calls block; use from one thread.
class dynamodb_client
{
public:
    explicit dynamodb_client(service_endpoint endpoint);

    /// Run `operation` ("PutItem", "Query", ...) with `body`; returns the answer's object.
    /// Throttling, 5xx answers and network failures are retried with backoff (4 attempts in
    /// all); other errors throw dynamodb_error at once. Network failures that outlast the
    /// retries throw boost::system::system_error.
    boost::json::object call(std::string_view operation, boost::json::object const& body);

    /// Requests sent, retries included (for tests and benchmarks).
    std::uint64_t requests() const { return requests_; }

private:
    service_endpoint endpoint_;
    blocking_http http_;
    std::uint64_t requests_ = 0;
};

} // namespace chatd::aws
