#include <chatd/core/authorizer.hpp>
#include <chatd/core/event_json.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <algorithm>

namespace chatd::core {
namespace {

namespace json = boost::json;

bool iequals(std::string_view a, std::string_view b)
{
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) ==
                      std::tolower(static_cast<unsigned char>(y));
           });
}

/// An IAM resource pattern: '*' matches any run of characters, '?' any one.
bool glob(std::string_view pattern, std::string_view text)
{
    std::size_t p = 0, t = 0, star = std::string_view::npos, mark = 0;
    while (t < text.size()) {
        if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == text[t])) {
            ++p;
            ++t;
        } else if (p < pattern.size() && pattern[p] == '*') {
            star = p++;
            mark = t;
        } else if (star != std::string_view::npos) {
            p = star + 1;
            t = ++mark;
        } else {
            return false;
        }
    }
    while (p < pattern.size() && pattern[p] == '*')
        ++p;
    return p == pattern.size();
}

/// Whether a statement's Action/Resource (a string or a list) covers the call.
bool covers(json::value const* v, std::string_view what, bool action)
{
    if (!v)
        return false;
    auto one = [&](json::value const& e) {
        if (!e.is_string())
            return false;
        std::string_view s = e.get_string();
        return action
                   ? (s == "*" || iequals(s, "execute-api:Invoke") || iequals(s, "execute-api:*"))
                   : glob(s, what);
    };
    if (v->is_array())
        return std::any_of(v->get_array().begin(), v->get_array().end(), one);
    return one(*v);
}

std::string stringify(json::value const& v)
{
    if (v.is_string())
        return std::string(v.get_string());
    return json::serialize(v);
}

} // namespace

std::string authorizer_request(event const& connect_event,
                               field_list const& client_headers,
                               std::string_view method_arn)
{
    auto integration = to_json(connect_event);
    json::object o;
    o["type"] = "REQUEST";
    o["methodArn"] = method_arn;
    // The client's headers as sent, then the ones API Gateway adds (from the CONNECT event).
    field_list headers;
    for (auto const& h : client_headers)
        if (!iequals(h.first, "X-Forwarded-For") && !iequals(h.first, "X-Forwarded-Port") &&
            !iequals(h.first, "X-Forwarded-Proto") && !iequals(h.first, "X-Amzn-Trace-Id"))
            headers.push_back(h);
    if (connect_event.headers)
        for (auto const& h : *connect_event.headers)
            if (iequals(h.first, "X-Forwarded-For") || iequals(h.first, "X-Forwarded-Port") ||
                iequals(h.first, "X-Forwarded-Proto") || iequals(h.first, "X-Amzn-Trace-Id"))
                headers.push_back(h);
    event shape;
    shape.headers = std::move(headers);
    auto fields = to_json(shape);
    o["headers"] = fields.at("headers");
    o["multiValueHeaders"] = fields.at("multiValueHeaders");
    for (char const* k : {"queryStringParameters", "multiValueQueryStringParameters"})
        if (auto const* q = integration.if_contains(k))
            o[k] = *q;
    // The stage's variables, or {} (the authorizer's event has the key either way).
    auto const* vars = integration.if_contains("stageVariables");
    o["stageVariables"] = vars ? *vars : json::value(json::object());
    o["requestContext"] = integration.at("requestContext");
    return json::serialize(o);
}

bool identity_sources_present(std::vector<std::string> const& sources,
                              field_list const& client_headers,
                              event const& connect_event)
{
    constexpr std::string_view header = "route.request.header.";
    constexpr std::string_view query = "route.request.querystring.";
    for (auto const& s : sources) {
        if (s.starts_with(header)) {
            auto name = std::string_view(s).substr(header.size());
            auto it = std::find_if(client_headers.begin(),
                                   client_headers.end(),
                                   [&](auto const& h) { return iequals(h.first, name); });
            if (it == client_headers.end() || it->second.empty())
                return false;
        } else if (s.starts_with(query)) {
            auto v = connect_event.query_value(std::string_view(s).substr(query.size()));
            if (!v || v->empty())
                return false;
        }
    }
    return true;
}

authorizer_decision
read_authorizer_result(bool ok, std::string_view body, std::string_view method_arn)
{
    using verdict = authorizer_decision::verdict;
    authorizer_decision d;
    boost::system::error_code ec;
    auto v = json::parse(body, ec);
    if (!ok) {
        auto const* o = !ec && v.is_object() ? &v.get_object() : nullptr;
        auto const* m = o ? o->if_contains("errorMessage") : nullptr;
        bool unauthorized = m && m->is_string() && m->get_string() == "Unauthorized";
        d.v = unauthorized ? verdict::unauthorized : verdict::error;
        d.why = unauthorized ? "the authorizer said Unauthorized" : "the authorizer failed";
        return d;
    }
    if (ec || !v.is_object()) {
        d.why = "the authorizer's answer is not a JSON object";
        return d;
    }
    auto const& o = v.get_object();
    auto const* principal = o.if_contains("principalId");
    auto const* policy = o.if_contains("policyDocument");
    auto const* statements =
        policy && policy->is_object() ? policy->get_object().if_contains("Statement") : nullptr;
    if (!statements || !(statements->is_array() || statements->is_object())) {
        d.why = "the authorizer's answer has no policyDocument.Statement";
        return d;
    }
    bool allowed = false;
    bool denied = false;
    auto look = [&](json::value const& s) {
        if (!s.is_object())
            return;
        auto const& st = s.get_object();
        if (!covers(st.if_contains("Action"), {}, true) ||
            !covers(st.if_contains("Resource"), method_arn, false))
            return;
        auto const* effect = st.if_contains("Effect");
        if (effect && effect->is_string() && effect->get_string() == "Allow")
            allowed = true;
        else if (effect && effect->is_string() && effect->get_string() == "Deny")
            denied = true;
    };
    if (statements->is_array())
        for (auto const& s : statements->get_array())
            look(s);
    else
        look(*statements);
    if (!principal || !principal->is_string() || principal->get_string().empty()) {
        d.v = verdict::deny;
        d.why = "the authorizer's answer has no principalId";
        return d;
    }
    if (denied || !allowed) {
        d.v = verdict::deny;
        d.why = denied ? "the policy denies " + std::string(method_arn)
                       : "no Allow statement covers " + std::string(method_arn);
        return d;
    }
    d.v = verdict::allow;
    d.context.principal_id = std::string(principal->get_string());
    if (auto const* c = o.if_contains("context"); c && c->is_object())
        for (auto const& kv : c->get_object()) {
            if (kv.value().is_object() || kv.value().is_array()) {
                d.v = verdict::error;
                d.why = "context." + std::string(kv.key()) +
                        " is an object or a list (values must be strings, numbers or booleans)";
                return d;
            }
            d.context.context.emplace_back(std::string(kv.key()), stringify(kv.value()));
        }
    return d;
}

} // namespace chatd::core
