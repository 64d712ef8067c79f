#include "gateway/api_definition.hpp"

#include <chatd/core/chat.hpp>
#include <chatd/core/route.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include "integrations/http_integration.hpp"

namespace chatd::server {
namespace {

namespace json = boost::json;

bool is_lifecycle(std::string_view key)
{
    return key == "$connect" || key == "$disconnect" || key == "$default";
}

} // namespace

api_definition chat_api()
{
    api_definition api;
    for (auto const& key : core::chat_app::route_keys())
        api.routes[key] = route_spec{"chat", false, {}, {}};
    return api;
}

std::variant<api_definition, std::string> parse_api_definition(std::string_view text)
{
    boost::system::error_code ec;
    auto v = json::parse(text, ec);
    if (ec)
        return "not valid JSON: " + ec.message();
    if (!v.is_object())
        return std::string("the top level must be a JSON object");
    api_definition api;
    auto const& root = v.get_object();
    for (auto const& kv : root)
        if (kv.key() != "routeSelectionExpression" && kv.key() != "routes")
            return "unknown key '" + std::string(kv.key()) +
                   "' (expected routeSelectionExpression and routes)";
    if (auto const* e = root.if_contains("routeSelectionExpression")) {
        if (!e->is_string())
            return std::string("routeSelectionExpression must be a string");
        api.selection_expression = std::string(e->get_string());
    }
    std::string why;
    if (!core::selection_expression::parse(api.selection_expression, &why))
        return "routeSelectionExpression: " + why;
    auto const* routes = root.if_contains("routes");
    if (!routes || !routes->is_object() || routes->get_object().empty())
        return std::string("routes must be a non-empty object of route keys");
    for (auto const& r : routes->get_object()) {
        std::string key(r.key());
        auto where = "route '" + key + "': ";
        if (key.empty() || key.size() > 128)
            return where + "route keys are 1-128 characters";
        if (key.front() == '$' && !is_lifecycle(key))
            return where + "only $connect, $disconnect and $default may start with '$'";
        if (!r.value().is_object())
            return where + "must be an object like {\"integration\": \"chat\"}";
        route_spec spec;
        for (auto const& f : r.value().get_object()) {
            if (f.key() == "integration") {
                if (!f.value().is_string())
                    return where + "integration must be a string";
                spec.integration = std::string(f.value().get_string());
            } else if (f.key() == "twoWay") {
                if (!f.value().is_bool())
                    return where + "twoWay must be true or false";
                spec.two_way = f.value().get_bool();
            } else {
                return where + "unknown key '" + std::string(f.key()) +
                       "' (expected integration and twoWay)";
            }
        }
        if (spec.integration.empty())
            return where + "integration is required";
        if (spec.integration != "chat" && !parse_http_url(spec.integration))
            return where + "integration must be \"chat\" or an http://host:port/path URL, not '" +
                   spec.integration + "'";
        api.routes.emplace(std::move(key), std::move(spec));
    }
    return api;
}

} // namespace chatd::server
