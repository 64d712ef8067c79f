#include <chatd/core/event.hpp>

#include <algorithm>
#include <cctype>

namespace chatd::core {
namespace {

bool iequals(std::string_view a, std::string_view b)
{
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) ==
                      std::tolower(static_cast<unsigned char>(y));
           });
}

int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

request_context base_context(connection_info const& c,
                             std::string route_key,
                             event_kind kind,
                             std::string request_id,
                             epoch_ms now)
{
    request_context ctx;
    ctx.route_key = std::move(route_key);
    ctx.kind = kind;
    ctx.connection_id = c.connection_id;
    ctx.request_id = std::move(request_id);
    ctx.request_time_epoch = now;
    ctx.connected_at = c.connected_at;
    ctx.stage = c.stage;
    ctx.domain_name = c.domain_name;
    ctx.api_id = c.api_id;
    ctx.identity = c.identity;
    ctx.authorizer = c.authorizer;
    return ctx;
}

} // namespace

std::string_view to_string(event_kind k)
{
    switch (k) {
    case event_kind::connect:
        return "CONNECT";
    case event_kind::message:
        return "MESSAGE";
    case event_kind::disconnect:
        return "DISCONNECT";
    }
    return "MESSAGE";
}

std::optional<std::string> event::query_value(std::string_view name) const
{
    if (!query)
        return std::nullopt;
    std::optional<std::string> last;
    for (auto const& [k, v] : *query)
        if (k == name)
            last = v;
    return last;
}

std::optional<std::string> percent_decode(std::string_view s)
{
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] != '%') {
            out.push_back(s[i]);
            continue;
        }
        if (i + 2 >= s.size())
            return std::nullopt;
        int hi = hex_value(s[i + 1]);
        int lo = hex_value(s[i + 2]);
        if (hi < 0 || lo < 0)
            return std::nullopt;
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
    }
    return out;
}

field_list parse_query_string(std::string_view raw)
{
    field_list out;
    while (!raw.empty()) {
        auto amp = raw.find('&');
        auto part = raw.substr(0, amp);
        raw = amp == std::string_view::npos ? std::string_view{} : raw.substr(amp + 1);
        if (part.empty())
            continue;
        auto eq = part.find('=');
        auto key = part.substr(0, eq);
        auto value = eq == std::string_view::npos ? std::string_view{} : part.substr(eq + 1);
        // A malformed escape is kept as written rather than dropping the parameter.
        out.emplace_back(percent_decode(key).value_or(std::string(key)),
                         percent_decode(value).value_or(std::string(value)));
    }
    return out;
}

event make_connect_event(connection_info const& c,
                         std::string request_id,
                         epoch_ms now,
                         field_list const& client_headers,
                         std::optional<std::string_view> raw_query,
                         std::string_view trace_id,
                         std::string_view forwarded_port,
                         std::string_view forwarded_proto)
{
    event ev;
    ev.context = base_context(c, "$connect", event_kind::connect, std::move(request_id), now);
    field_list headers;
    for (auto const& [name, value] : client_headers) {
        // contract(connect-headers): Connection, Upgrade and content-length never reach the
        // integration; API Gateway's own X-Forwarded-* replace any the client sent.
        if (iequals(name, "Connection") || iequals(name, "Upgrade") ||
            iequals(name, "Content-Length") || iequals(name, "X-Forwarded-For") ||
            iequals(name, "X-Forwarded-Port") || iequals(name, "X-Forwarded-Proto") ||
            iequals(name, "X-Amzn-Trace-Id"))
            continue;
        headers.emplace_back(name, value);
    }
    headers.emplace_back("X-Amzn-Trace-Id", std::string(trace_id));
    headers.emplace_back("X-Forwarded-For", c.identity.source_ip);
    headers.emplace_back("X-Forwarded-Port", std::string(forwarded_port));
    headers.emplace_back("X-Forwarded-Proto", std::string(forwarded_proto));
    ev.headers = std::move(headers);
    if (raw_query)
        ev.query = parse_query_string(*raw_query);
    return ev;
}

event make_message_event(connection_info const& c,
                         std::string route_key,
                         std::string request_id,
                         std::string message_id,
                         epoch_ms now,
                         std::string body)
{
    event ev;
    ev.context =
        base_context(c, std::move(route_key), event_kind::message, std::move(request_id), now);
    ev.context.message_id = std::move(message_id);
    ev.body = std::move(body);
    return ev;
}

event make_disconnect_event(connection_info const& c,
                            std::string request_id,
                            epoch_ms now,
                            int status_code,
                            std::string reason)
{
    event ev;
    ev.context = base_context(c, "$disconnect", event_kind::disconnect, std::move(request_id), now);
    ev.context.disconnect_status_code = status_code;
    ev.context.disconnect_reason = std::move(reason);
    // contract(disconnect-headers): exactly these four, X-Forwarded-For empty.
    ev.headers = field_list{
        {"Host", c.domain_name}, {"x-api-key", ""}, {"X-Forwarded-For", ""}, {"x-restapi", ""}};
    return ev;
}

} // namespace chatd::core
