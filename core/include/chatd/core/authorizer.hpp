#pragma once

#include <chatd/core/event.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace chatd::core {

/// The event a WebSocket REQUEST authorizer receives: the CONNECT event's requestContext and
/// query maps, the upgrade request's headers as the client sent them (Connection and Upgrade
/// included, unlike the integration's event), type "REQUEST", the methodArn and empty
/// stageVariables.
std::string authorizer_request(event const& connect_event,
                               field_list const& client_headers,
                               std::string_view method_arn);

/// Whether every identity source (route.request.header.X, route.request.querystring.X) is
/// present and not empty; when not, API Gateway answers 401 without calling the authorizer.
/// Header names are compared case-insensitively.
bool identity_sources_present(std::vector<std::string> const& sources,
                              field_list const& client_headers,
                              event const& connect_event);

/// What an authorizer's answer means for the handshake.
struct authorizer_decision
{
    enum class verdict
    {
        allow,        ///< an Allow statement covers the methodArn and no Deny does
        deny,         ///< 403
        unauthorized, ///< the function failed with "Unauthorized": 401
        error         ///< any other failure or a malformed answer: 500
    };
    verdict v = verdict::error;
    authorizer_context context; ///< on allow
    std::string why;            ///< for the log
};

/// Read an authorizer's result. `ok` is false when the function failed; then `body` is its
/// error ({"errorType","errorMessage"}).
authorizer_decision
read_authorizer_result(bool ok, std::string_view body, std::string_view method_arn);

} // namespace chatd::core
