#pragma once

#include <chatd/aws/dynamodb.hpp>
#include <chatd/aws/management_api.hpp>
#include <chatd/core/chat.hpp>
#include <chatd/core/clock.hpp>
#include <chatd/core/event.hpp>
#include <chatd/core/ids.hpp>
#include <chatd/storage/dynamodb_store.hpp>

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include "runtime_client.hpp"

namespace chatd::lambda {

/// chatd's built-in chat app (core::chat_app, unchanged) as one Lambda function for every
/// route: the event in, core's handler over the DynamoDB store, then each frame the handler
/// posts sent through the management API, then the proxy result out. Made once per
/// execution environment; its connections (DynamoDB, @connections) stay open between
/// invocations.
class chat_function
{
public:
    /// Reads the table names (CONNECTIONS_TABLE, ROOMS_TABLE, MEMBERS_TABLE, MESSAGES_TABLE),
    /// AWS_REGION, and the endpoints: AWS_ENDPOINT_URL_DYNAMODB (else DynamoDB's regional
    /// one), AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI (the stage's base URL; else
    /// https://{domainName}/{stage} from each event). Throws when one is missing or malformed.
    chat_function();

    invocation_result operator()(invocation const& inv);

private:
    /// Send what `out` posts. Connections found gone (410) are cleaned up as $disconnect
    /// would: their memberships go and their rooms hear memberLeft. `gone_seen` stops the
    /// cleanup from chasing itself.
    void deliver(core::outcome const& out,
                 core::event const& ev,
                 std::set<std::string>& gone_seen,
                 int depth);
    aws::management_client& management(core::event const& ev);

    core::system_clock clock_;
    core::system_id_source ids_;
    core::chat_app app_;
    aws::dynamodb_client db_;
    storage::dynamodb_store store_;
    std::string region_;
    std::optional<aws::url> management_override_;
    std::map<std::string, std::unique_ptr<aws::management_client>> management_;
};

} // namespace chatd::lambda
