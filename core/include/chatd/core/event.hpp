#pragma once

#include <chatd/core/clock.hpp>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace chatd::core {

/// requestContext.eventType.
enum class event_kind
{
    connect,
    message,
    disconnect
};

/// "CONNECT", "MESSAGE" or "DISCONNECT".
std::string_view to_string(event_kind k);

/// requestContext.identity. `user_agent` is absent when the client sent no User-Agent.
struct peer_identity
{
    std::string source_ip;
    std::optional<std::string> user_agent;
};

/// Name/value pairs in the order they arrived; names keep the client's casing.
using field_list = std::vector<std::pair<std::string, std::string>>;

/// What API Gateway knows about a connection, the same on every event of that connection.
/// What a REQUEST authorizer allowed a connection with: requestContext.authorizer on every
/// later event (principalId, each context value as a string, integrationLatency in ms).
struct authorizer_context
{
    std::string principal_id;
    field_list context;
    long integration_latency_ms = 0;
};

struct connection_info
{
    std::string connection_id;
    epoch_ms connected_at = 0;
    peer_identity identity;
    std::string domain_name; ///< the Host the client used
    std::string stage;
    std::string api_id;
    std::optional<authorizer_context> authorizer;
};

/// requestContext of a WebSocket Lambda-proxy event (payload v1).
struct request_context
{
    std::string route_key;
    event_kind kind = event_kind::message;
    std::string connection_id;
    std::string request_id; ///< also serialized as extendedRequestId (they are equal)
    std::optional<std::string> message_id; ///< MESSAGE only
    epoch_ms request_time_epoch = 0;
    epoch_ms connected_at = 0;
    std::string stage;
    std::string domain_name;
    std::string api_id;
    peer_identity identity;
    std::optional<authorizer_context> authorizer; ///< when $connect had an authorizer
    std::optional<int> disconnect_status_code;    ///< DISCONNECT only
    std::optional<std::string> disconnect_reason; ///< DISCONNECT only
};

/// The event a route's integration receives, as API Gateway builds it.
struct event
{
    request_context context;
    std::optional<field_list> headers; ///< CONNECT and DISCONNECT only
    std::optional<field_list> query;   ///< CONNECT only, and only when the URL had a query
    std::optional<std::string> body;   ///< MESSAGE only: the frame text, unmodified
    /// The stage's variables (stageVariables), shared by every event; absent or empty: none.
    std::shared_ptr<field_list const> stage_variables;
    bool is_base64_encoded = false;

    /// Last value of query parameter `name` (queryStringParameters semantics), if any.
    std::optional<std::string> query_value(std::string_view name) const;
};

/// Split a raw query string ("a=1&b=%20x") into decoded pairs, in order.
field_list parse_query_string(std::string_view raw);

/// Decode %XX escapes. Returns nullopt for a malformed escape.
std::optional<std::string> percent_decode(std::string_view s);

/// Build the CONNECT event. `client_headers` are the upgrade request's headers as received;
/// Connection and Upgrade are dropped and the X-Forwarded-* / X-Amzn-Trace-Id headers that
/// API Gateway adds are appended. `raw_query` is the part after '?' (nullopt when none).
event make_connect_event(connection_info const& c,
                         std::string request_id,
                         epoch_ms now,
                         field_list const& client_headers,
                         std::optional<std::string_view> raw_query,
                         std::string_view trace_id,
                         std::string_view forwarded_port,
                         std::string_view forwarded_proto);

/// Build a MESSAGE event for one client frame, already routed to `route_key`.
event make_message_event(connection_info const& c,
                         std::string route_key,
                         std::string request_id,
                         std::string message_id,
                         epoch_ms now,
                         std::string body);

/// Build the DISCONNECT event: the four fixed headers plus the close code and reason.
event make_disconnect_event(connection_info const& c,
                            std::string request_id,
                            epoch_ms now,
                            int status_code,
                            std::string reason);

} // namespace chatd::core
