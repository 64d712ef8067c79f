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
    if (o.contains("errorMessage") || o.contains("errorType")) {
        auto text = [&](char const* k) {
            auto const* e = o.if_contains(k);
            return e && e->is_string() ? std::string(e->get_string()) : std::string("?");
        };
        return fail("function error: " + text("errorType") + ": " + text("errorMessage"));
    }
    bool base64 = false;
    for (auto const& kv : o) {
        auto key = kv.key();
        auto const& val = kv.value();
        if (key == "statusCode") {
            if (val.is_int64())
                out.status_code = static_cast<int>(val.get_int64());
            else if (val.is_uint64() && val.get_uint64() < 1000)
                out.status_code = static_cast<int>(val.get_uint64());
            else
                return fail("statusCode must be an integer");
            if (out.status_code < 100 || out.status_code > 599)
                return fail("statusCode " + std::to_string(out.status_code) +
                            " is not an HTTP status");
        } else if (key == "body") {
            if (val.is_string())
                out.body = std::string(val.get_string());
            else if (!val.is_null())
                return fail("body must be a string");
        } else if (key == "headers") {
            if (val.is_null())
                continue;
            if (!val.is_object())
                return fail("headers must be an object of strings");
            for (auto const& h : val.get_object()) {
                if (!h.value().is_string())
                    return fail("header '" + std::string(h.key()) + "' must be a string");
                out.headers.emplace_back(std::string(h.key()), std::string(h.value().get_string()));
            }
        } else if (key == "multiValueHeaders") {
            if (val.is_null())
                continue;
            if (!val.is_object())
                return fail("multiValueHeaders must be an object of string arrays");
            for (auto const& h : val.get_object()) {
                if (!h.value().is_array())
                    return fail("multiValueHeaders '" + std::string(h.key()) +
                                "' must be an array");
                for (auto const& e : h.value().get_array()) {
                    if (!e.is_string())
                        return fail("multiValueHeaders values must be strings");
                    out.headers.emplace_back(std::string(h.key()), std::string(e.get_string()));
                }
            }
        } else if (key == "isBase64Encoded") {
            if (!val.is_bool())
                return fail("isBase64Encoded must be a boolean");
            base64 = val.get_bool();
        } else {
            // contract(malformed-result): unknown top-level keys make the result malformed.
            return fail("malformed Lambda proxy response: unexpected field '" + std::string(key) +
                        "'");
        }
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
