#include <chatd/core/proxy_result.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <array>

namespace chatd::core {
namespace {

namespace json = boost::json;

proxy_result fail(std::string why)
{
    return proxy_result{std::nullopt, std::move(why)};
}

bool is_blank(std::string_view s)
{
    return s.find_first_not_of(" \t\r\n") == std::string_view::npos;
}

} // namespace

std::optional<std::string> base64_decode(std::string_view in)
{
    static constexpr auto table = [] {
        std::array<int, 256> t{};
        t.fill(-1);
        constexpr std::string_view alphabet =
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        for (std::size_t i = 0; i < alphabet.size(); ++i)
            t[static_cast<unsigned char>(alphabet[i])] = static_cast<int>(i);
        return t;
    }();
    while (!in.empty() && in.back() == '=')
        in.remove_suffix(1);
    if (in.size() % 4 == 1)
        return std::nullopt;
    std::string out;
    out.reserve(in.size() * 3 / 4);
    std::uint32_t acc = 0;
    int bits = 0;
    for (char c : in) {
        int v = table[static_cast<unsigned char>(c)];
        if (v < 0)
            return std::nullopt;
        acc = (acc << 6) | static_cast<std::uint32_t>(v);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out.push_back(static_cast<char>((acc >> bits) & 0xff));
        }
    }
    return out;
}

namespace {

// Readers for the fields of a proxy result: each stores its field in `out` or says what is
// wrong with it.

std::optional<std::string> read_status(json::value const& val, outcome& out)
{
    if (val.is_int64())
        out.status_code = static_cast<int>(val.get_int64());
    else if (val.is_uint64() && val.get_uint64() < 1000)
        out.status_code = static_cast<int>(val.get_uint64());
    else
        return "statusCode must be an integer";
    if (out.status_code < 100 || out.status_code > 599)
        return "statusCode " + std::to_string(out.status_code) + " is not an HTTP status";
    return std::nullopt;
}

std::optional<std::string> read_body(json::value const& val, outcome& out)
{
    if (val.is_string())
        out.body = std::string(val.get_string());
    else if (!val.is_null())
        return "body must be a string";
    return std::nullopt;
}

std::optional<std::string> read_headers(json::value const& val, outcome& out)
{
    if (val.is_null())
        return std::nullopt;
    if (!val.is_object())
        return "headers must be an object of strings";
    for (auto const& h : val.get_object()) {
        if (!h.value().is_string())
            return "header '" + std::string(h.key()) + "' must be a string";
        out.headers.emplace_back(std::string(h.key()), std::string(h.value().get_string()));
    }
    return std::nullopt;
}

std::optional<std::string> read_multi_value_headers(json::value const& val, outcome& out)
{
    if (val.is_null())
        return std::nullopt;
    if (!val.is_object())
        return "multiValueHeaders must be an object of string arrays";
    for (auto const& h : val.get_object()) {
        if (!h.value().is_array())
            return "multiValueHeaders '" + std::string(h.key()) + "' must be an array";
        for (auto const& e : h.value().get_array()) {
            if (!e.is_string())
                return "multiValueHeaders values must be strings";
            out.headers.emplace_back(std::string(h.key()), std::string(e.get_string()));
        }
    }
    return std::nullopt;
}

/// What the Lambda runtime sends for a function that threw: {"errorMessage", "errorType"}.
std::optional<std::string> function_error(json::object const& o)
{
    if (!o.contains("errorMessage") && !o.contains("errorType"))
        return std::nullopt;
    auto text = [&](char const* k) {
        auto const* e = o.if_contains(k);
        return e && e->is_string() ? std::string(e->get_string()) : std::string("?");
    };
    return "function error: " + text("errorType") + ": " + text("errorMessage");
}

} // namespace

proxy_result parse_proxy_result(std::string_view body)
{
    outcome out;
    if (is_blank(body))
        return proxy_result{out, {}};
    boost::system::error_code ec;
    auto v = json::parse(body, ec);
    if (ec)
        return fail("the integration's response is not JSON");
    if (v.is_null())
        return proxy_result{out, {}};
    if (!v.is_object())
        return fail("the integration's response is not a JSON object (a proxy result)");
    auto const& o = v.get_object();
    if (auto err = function_error(o))
        return fail(std::move(*err));
    bool base64 = false;
    for (auto const& kv : o) {
        auto key = kv.key();
        auto const& val = kv.value();
        std::optional<std::string> err;
        if (key == "statusCode")
            err = read_status(val, out);
        else if (key == "body")
            err = read_body(val, out);
        else if (key == "headers")
            err = read_headers(val, out);
        else if (key == "multiValueHeaders")
            err = read_multi_value_headers(val, out);
        else if (key == "isBase64Encoded" && val.is_bool())
            base64 = val.get_bool();
        else if (key == "isBase64Encoded")
            err = "isBase64Encoded must be a boolean";
        else
            // contract(malformed-result): unknown top-level keys make the result malformed.
            err = "malformed Lambda proxy response: unexpected field '" + std::string(key) + "'";
        if (err)
            return fail(std::move(*err));
    }
    if (base64 && out.body) {
        auto decoded = base64_decode(*out.body);
        if (!decoded)
            return fail("body is marked isBase64Encoded but is not base64");
        out.body = std::move(*decoded);
    }
    return proxy_result{std::move(out), {}};
}

} // namespace chatd::core
