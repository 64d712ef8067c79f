#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace chatd::server {

/// Where a route's events go: the built-in chat app ("chat") or an HTTP endpoint that takes
/// the event as a POST body and answers with a Lambda proxy result.
struct route_spec
{
    std::string integration;
    bool two_way = false;   ///< has a route response: the result's body goes back to the caller
    std::string authorizer; ///< $connect: "lambda:<name>" of a REQUEST authorizer, if any
    std::vector<std::string> identity_sources; ///< what the authorizer needs present
};

/// The API: its route selection expression and its routes (as `chatd --routes FILE` gives them).
struct api_definition
{
    std::string selection_expression = "$request.body.action";
    std::map<std::string, route_spec, std::less<>> routes;
};

/// The built-in chat app's API: every route it knows, one-way, to "chat".
api_definition chat_api();

/// Parse a routes file's JSON text. Returns the definition or a one-line reason.
std::variant<api_definition, std::string> parse_api_definition(std::string_view text);

} // namespace chatd::server
