#pragma once

#include <chatd/aws/http_client.hpp>

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace chatd::aws {

/// What a @connections call came to, in the management API's own terms.
enum class post_status
{
    ok,        ///< 200 (POST, GET) or 204 (DELETE)
    gone,      ///< 410 GoneException: the connection is closed
    too_large, ///< 413 PayloadTooLargeException
    throttled, ///< 429 LimitExceededException, after retries
    forbidden, ///< 403: the function's role lacks execute-api:ManageConnections
    failed     ///< anything else: another status, or no answer
};

/// One post: the connection and the bytes (shared by every post of one fan-out).
struct post_job
{
    std::string connection_id;
    std::shared_ptr<std::string const> data;
};

struct post_result
{
    std::string connection_id;
    post_status status = post_status::failed;
    std::string detail; ///< status line or error text, for the log
};

/// The API Gateway management API (PostToConnection, DeleteConnection, GetConnection) for one
/// stage: `base` is https://{api-id}.execute-api.{region}.amazonaws.com/{stage}. Requests are
/// signed with Signature Version 4 for execute-api; posts go out in parallel over kept-alive
/// connections, at most `max_in_flight` at a time. Calls block; use from one thread.
class management_client
{
public:
    management_client(url base, std::string region, std::size_t max_in_flight = 16);
    ~management_client();

    /// Post every job; results in the order of `jobs`. A 429 or 5xx is retried twice with
    /// backoff before it counts.
    std::vector<post_result> post_all(std::vector<post_job> const& jobs);

    post_result disconnect(std::string const& connection_id);

    /// GetConnection: the JSON answer, or nullopt with the status in `status`.
    std::optional<std::string> get(std::string const& connection_id, post_status& status);

    url const& base() const { return base_; }

    /// The request-target for a connection: {stage path}/@connections/{id, encoded}.
    std::string target(std::string_view connection_id) const;

private:
    struct impl;
    post_result single(http::verb method, std::string const& connection_id, std::string* body);
    url base_;
    std::string region_;
    std::size_t max_in_flight_;
    std::unique_ptr<impl> impl_;
};

} // namespace chatd::aws
