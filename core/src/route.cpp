#include <chatd/core/chars.hpp>
#include <chatd/core/route.hpp>

#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parse.hpp>

#include <charconv>

namespace chatd::core {
namespace {

namespace json = boost::json;

constexpr std::string_view body_prefix = "request.body";

/// "request.body.a.b" -> {"a","b"}; nullopt when it does not name the body.
std::optional<std::vector<std::string>> parse_path(std::string_view ref)
{
    if (ref.substr(0, body_prefix.size()) != body_prefix)
        return std::nullopt;
    ref.remove_prefix(body_prefix.size());
    std::vector<std::string> path;
    if (ref.empty())
        return path;
    if (ref.front() != '.')
        return std::nullopt;
    ref.remove_prefix(1);
    while (true) {
        auto dot = ref.find('.');
        auto key = ref.substr(0, dot);
        if (key.empty())
            return std::nullopt;
        path.emplace_back(key);
        if (dot == std::string_view::npos)
            break;
        ref.remove_prefix(dot + 1);
    }
    return path;
}

std::string number_text(double d)
{
    char buf[64];
    auto r = std::to_chars(buf, buf + sizeof buf, d);
    return std::string(buf, r.ptr);
}

} // namespace

std::optional<selection_expression> selection_expression::parse(std::string_view text,
                                                                std::string* error)
{
    auto fail = [&](std::string why) -> std::optional<selection_expression> {
        if (error)
            *error = std::move(why);
        return std::nullopt;
    };
    if (text.empty())
        return fail("the route selection expression is empty");
    selection_expression expr;
    std::string literal;
    auto flush_literal = [&] {
        if (!literal.empty())
            expr.parts_.push_back(part{false, std::move(literal), {}});
        literal.clear();
    };
    std::size_t i = 0;
    while (i < text.size()) {
        if (text[i] != '$') {
            literal.push_back(text[i++]);
            continue;
        }
        std::string_view ref;
        if (i + 1 < text.size() && text[i + 1] == '{') {
            auto close = text.find('}', i + 2);
            if (close == std::string_view::npos)
                return fail("unclosed '${' in the route selection expression");
            ref = text.substr(i + 2, close - i - 2);
            i = close + 1;
        } else {
            auto end = i + 1;
            while (end < text.size() && is_name_char(text[end]))
                ++end;
            ref = text.substr(i + 1, end - i - 1);
            i = end;
        }
        auto path = parse_path(ref);
        if (!path)
            return fail("unsupported selection variable '$" + std::string(ref) +
                        "' (only $request.body.<path> is supported)");
        flush_literal();
        expr.parts_.push_back(part{true, {}, std::move(*path)});
    }
    flush_literal();
    return expr;
}

std::string stringify_selection(json::value const& v)
{
    switch (v.kind()) {
    case json::kind::string:
        return std::string(v.get_string());
    case json::kind::int64:
        return std::to_string(v.get_int64());
    case json::kind::uint64:
        return std::to_string(v.get_uint64());
    case json::kind::double_:
        return number_text(v.get_double());
    case json::kind::bool_:
        return v.get_bool() ? "true" : "false";
    case json::kind::null:
        return "";
    case json::kind::array: {
        std::string out = "[";
        bool first = true;
        for (auto const& e : v.get_array()) {
            if (!first)
                out += ", ";
            first = false;
            out += stringify_selection(e);
        }
        return out + "]";
    }
    case json::kind::object: {
        std::string out = "{";
        bool first = true;
        for (auto const& kv : v.get_object()) {
            if (!first)
                out += ", ";
            first = false;
            out.append(kv.key()).append("=").append(stringify_selection(kv.value()));
        }
        return out + "}";
    }
    }
    return "";
}

std::string selection_expression::evaluate(json::value const* body) const
{
    std::string out;
    for (auto const& p : parts_) {
        if (!p.is_path) {
            out += p.text;
            continue;
        }
        // contract(route-selection): non-JSON, non-object and missing keys evaluate to "".
        if (!body || !body->is_object())
            continue;
        json::value const* cur = body;
        for (auto const& key : p.path) {
            auto const* obj = cur->if_object();
            cur = obj ? obj->if_contains(key) : nullptr;
            if (!cur)
                break;
        }
        if (cur)
            out += stringify_selection(*cur);
    }
    return out;
}

std::string selection_expression::evaluate(std::string_view body) const
{
    unsigned char scratch[4096]; // ordinary frames parse without a heap allocation
    json::monotonic_resource arena(scratch, sizeof scratch);
    boost::system::error_code ec;
    auto parsed = json::parse(body, ec, &arena);
    return evaluate(ec ? nullptr : &parsed);
}

route_selector::route_selector(selection_expression expr, std::set<std::string, std::less<>> keys)
    : expr_(std::move(expr))
    , keys_(std::move(keys))
{}

std::optional<std::string> route_selector::select(std::string_view body) const
{
    auto value = expr_.evaluate(body);
    // contract(route-selection): exact, case-sensitive match; lifecycle keys never match.
    if (!value.empty() && value.front() != '$' && has(value))
        return value;
    if (has("$default"))
        return std::string("$default");
    return std::nullopt;
}

} // namespace chatd::core
