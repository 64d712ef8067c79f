#pragma once

#include <chatd/core/event.hpp>

#include <boost/json/object.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace chatd::core {

/// The event's JSON, with API Gateway's field names, presence rules and key order.
boost::json::object to_json(event const& ev);

/// to_json(ev), serialized.
std::string serialize(event const& ev);

/// The event API Gateway sent a Lambda function, read back: what a function (chat-lambda)
/// needs to run core's handlers. Fields are read by API Gateway's names; multiValueHeaders
/// and multiValueQueryStringParameters keep every value when present. Returns nullopt, with
/// the reason in `error`, when the JSON is not such an event (no requestContext, no routeKey
/// or connectionId, an unknown eventType).
std::optional<event> event_from_json(std::string_view text, std::string& error);

} // namespace chatd::core
