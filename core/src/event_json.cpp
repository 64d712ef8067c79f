#include <chatd/core/event_json.hpp>

#include <boost/json/parse.hpp>
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

namespace {

std::string text_field(json::object const& o, std::string_view name)
{
    auto const* v = o.if_contains(name);
    return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

std::int64_t int_field(json::object const& o, std::string_view name)
{
    auto const* v = o.if_contains(name);
    if (!v)
        return 0;
    if (v->is_int64())
        return v->get_int64();
    if (v->is_uint64())
        return static_cast<std::int64_t>(v->get_uint64());
    if (v->is_double())
        return static_cast<std::int64_t>(v->get_double());
    return 0;
}

/// headers/queryStringParameters back into a field list: the multi-value map when present
/// (every value, in order), else the single-value one.
std::optional<field_list>
read_fields(json::object const& o, std::string_view single_key, std::string_view multi_key)
{
    if (auto const* m = o.if_contains(multi_key); m && m->is_object()) {
        field_list out;
        for (auto const& kv : m->get_object())
            if (kv.value().is_array())
                for (auto const& v : kv.value().get_array())
                    if (v.is_string())
                        out.emplace_back(std::string(kv.key()), std::string(v.get_string()));
        return out;
    }
    if (auto const* s = o.if_contains(single_key); s && s->is_object()) {
        field_list out;
        for (auto const& kv : s->get_object())
            if (kv.value().is_string())
                out.emplace_back(std::string(kv.key()), std::string(kv.value().get_string()));
        return out;
    }
    return std::nullopt;
}

} // namespace

std::optional<event> event_from_json(std::string_view text, std::string& error)
{
    boost::system::error_code ec;
    auto parsed = json::parse(text, ec);
    if (ec || !parsed.is_object()) {
        error = "the event is not a JSON object";
        return std::nullopt;
    }
    auto const& o = parsed.get_object();
    auto const* rc = o.if_contains("requestContext");
    if (!rc || !rc->is_object()) {
        error = "the event has no requestContext: it is not an API Gateway WebSocket event";
        return std::nullopt;
    }
    auto const& c = rc->get_object();
    event ev;
    auto& ctx = ev.context;
    ctx.route_key = text_field(c, "routeKey");
    ctx.connection_id = text_field(c, "connectionId");
    if (ctx.route_key.empty() || ctx.connection_id.empty()) {
        error = "requestContext lacks routeKey or connectionId";
        return std::nullopt;
    }
    auto type = text_field(c, "eventType");
    if (type == "CONNECT")
        ctx.kind = event_kind::connect;
    else if (type == "DISCONNECT")
        ctx.kind = event_kind::disconnect;
    else if (type == "MESSAGE")
        ctx.kind = event_kind::message;
    else {
        error = "requestContext.eventType '" + type + "' is not CONNECT, MESSAGE or DISCONNECT";
        return std::nullopt;
    }
    ctx.request_id = text_field(c, "requestId");
    if (auto id = text_field(c, "messageId"); !id.empty())
        ctx.message_id = std::move(id);
    ctx.request_time_epoch = int_field(c, "requestTimeEpoch");
    ctx.connected_at = int_field(c, "connectedAt");
    ctx.stage = text_field(c, "stage");
    ctx.domain_name = text_field(c, "domainName");
    ctx.api_id = text_field(c, "apiId");
    if (auto const* id = c.if_contains("identity"); id && id->is_object()) {
        ctx.identity.source_ip = text_field(id->get_object(), "sourceIp");
        if (auto const* ua = id->get_object().if_contains("userAgent"); ua && ua->is_string())
            ctx.identity.user_agent = std::string(ua->get_string());
    }
    if (auto const* a = c.if_contains("authorizer"); a && a->is_object()) {
        authorizer_context auth;
        for (auto const& kv : a->get_object()) {
            if (kv.key() == "principalId")
                auth.principal_id = text_field(a->get_object(), "principalId");
            else if (kv.key() == "integrationLatency")
                auth.integration_latency_ms =
                    static_cast<long>(int_field(a->get_object(), kv.key()));
            else if (kv.value().is_string())
                auth.context.emplace_back(std::string(kv.key()),
                                          std::string(kv.value().get_string()));
        }
        ctx.authorizer = std::move(auth);
    }
    if (c.contains("disconnectStatusCode"))
        ctx.disconnect_status_code = static_cast<int>(int_field(c, "disconnectStatusCode"));
    if (auto const* r = c.if_contains("disconnectReason"); r && r->is_string())
        ctx.disconnect_reason = std::string(r->get_string());
    ev.headers = read_fields(o, "headers", "multiValueHeaders");
    ev.query = read_fields(o, "queryStringParameters", "multiValueQueryStringParameters");
    if (auto vars = read_fields(o, "stageVariables", "stageVariables"); vars && !vars->empty())
        ev.stage_variables = std::make_shared<field_list const>(std::move(*vars));
    if (auto const* b = o.if_contains("body"); b && b->is_string())
        ev.body = std::string(b->get_string());
    if (auto const* b64 = o.if_contains("isBase64Encoded"); b64 && b64->is_bool())
        ev.is_base64_encoded = b64->get_bool();
    return ev;
}

} // namespace chatd::core
