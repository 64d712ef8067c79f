#pragma once

#include <chatd/core/event.hpp>

#include <boost/json/object.hpp>

#include <string>

namespace chatd::core {

/// The event's JSON, with API Gateway's field names, presence rules and key order.
boost::json::object to_json(event const& ev);

/// to_json(ev), serialized.
std::string serialize(event const& ev);

} // namespace chatd::core
