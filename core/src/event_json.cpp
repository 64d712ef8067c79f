#include <chatd/core/event_json.hpp>

#include <boost/json/serialize.hpp>

namespace chatd::core {
namespace {

namespace json = boost::json;

/// headers: last value per name wins; multiValueHeaders: all values, in order of first name.
void put_fields(json::object& out,
                char const* single_key,
                char const* multi_key,
                field_list const& fields)
{
    json::object single;
    json::object multi;
    for (auto const& [name, value] : fields) {
        single[name] = value;
        auto it = multi.find(name);
        if (it == multi.end())
            multi.emplace(name, json::array{json::value(value)});
        else
            it->value().as_array().emplace_back(value);
    }
    out.emplace(single_key, std::move(single));
    out.emplace(multi_key, std::move(multi));
}

json::object context_json(request_context const& c)
{
    json::object o;
    o["routeKey"] = c.route_key;
    if (c.authorizer) {
        json::object a;
        a["principalId"] = c.authorizer->principal_id;
        for (auto const& [k, v] : c.authorizer->context)
            a[k] = v;
        a["integrationLatency"] = c.authorizer->integration_latency_ms;
        o["authorizer"] = std::move(a);
    }
    if (c.message_id)
        o["messageId"] = *c.message_id;
    if (c.disconnect_status_code)
        o["disconnectStatusCode"] = *c.disconnect_status_code;
    o["eventType"] = to_string(c.kind);
    o["extendedRequestId"] = c.request_id;
    o["requestTime"] = format_request_time(c.request_time_epoch);
    o["messageDirection"] = "IN";
    if (c.disconnect_reason)
        o["disconnectReason"] = *c.disconnect_reason;
    o["stage"] = c.stage;
    o["connectedAt"] = c.connected_at;
    o["requestTimeEpoch"] = c.request_time_epoch;
    json::object identity;
    if (c.identity.user_agent)
        identity["userAgent"] = *c.identity.user_agent;
    identity["sourceIp"] = c.identity.source_ip;
    o["identity"] = std::move(identity);
    o["requestId"] = c.request_id;
    o["domainName"] = c.domain_name;
    o["connectionId"] = c.connection_id;
    o["apiId"] = c.api_id;
    return o;
}

} // namespace

json::object to_json(event const& ev)
{
    json::object o;
    if (ev.headers)
        put_fields(o, "headers", "multiValueHeaders", *ev.headers);
    if (ev.query)
        put_fields(o, "queryStringParameters", "multiValueQueryStringParameters", *ev.query);
    if (ev.stage_variables && !ev.stage_variables->empty()) {
        json::object vars;
        for (auto const& [name, value] : *ev.stage_variables)
            vars[name] = value;
        o["stageVariables"] = std::move(vars);
    }
    o["requestContext"] = context_json(ev.context);
    if (ev.body)
        o["body"] = *ev.body;
    o["isBase64Encoded"] = ev.is_base64_encoded;
    return o;
}

std::string serialize(event const& ev)
{
    return json::serialize(to_json(ev));
}

} // namespace chatd::core
