#include <chatd/aws/sigv4.hpp>
#include <chatd/core/event.hpp>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <ctime>
#include <stdexcept>

namespace chatd::aws {
namespace {

constexpr char hex_digits[] = "0123456789abcdef";

std::string to_hex(unsigned char const* p, std::size_t n)
{
    std::string out(n * 2, '\0');
    for (std::size_t i = 0; i < n; ++i) {
        out[2 * i] = hex_digits[p[i] >> 4];
        out[2 * i + 1] = hex_digits[p[i] & 15];
    }
    return out;
}

using digest = std::array<unsigned char, 32>;

digest hmac(std::string_view key, std::string_view data)
{
    digest out{};
    unsigned int len = 0;
    if (!HMAC(EVP_sha256(),
              key.data(),
              static_cast<int>(key.size()),
              reinterpret_cast<unsigned char const*>(data.data()),
              data.size(),
              out.data(),
              &len))
        throw std::runtime_error("HMAC-SHA256 failed");
    return out;
}

std::string_view view(digest const& d)
{
    return {reinterpret_cast<char const*>(d.data()), d.size()};
}

std::string lower(std::string_view s)
{
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) {
        return static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
    });
    return out;
}

/// A header value as SigV4 canonicalizes it: trimmed, inner runs of spaces made one.
std::string canonical_value(std::string_view v)
{
    std::string out;
    bool space = false;
    for (char c : v) {
        if (c == ' ' || c == '\t') {
            space = !out.empty();
            continue;
        }
        if (space)
            out += ' ';
        space = false;
        out += c;
    }
    return out;
}

/// Undo %XX escapes; a name or value with a malformed escape is signed as it is.
std::string decoded(std::string_view s)
{
    auto d = core::percent_decode(s);
    return d ? *d : std::string(s);
}

/// The query string with each name and value decoded, encoded strictly, and sorted.
std::string canonical_query(std::string_view q)
{
    std::vector<std::pair<std::string, std::string>> pairs;
    while (!q.empty()) {
        auto amp = q.find('&');
        auto part = q.substr(0, amp);
        q = amp == std::string_view::npos ? std::string_view() : q.substr(amp + 1);
        if (part.empty())
            continue;
        auto eq = part.find('=');
        auto name = part.substr(0, eq);
        auto value = eq == std::string_view::npos ? std::string_view() : part.substr(eq + 1);
        pairs.emplace_back(uri_encode(decoded(name), false), uri_encode(decoded(value), false));
    }
    std::sort(pairs.begin(), pairs.end());
    std::string out;
    for (auto const& [k, v] : pairs) {
        if (!out.empty())
            out += '&';
        out += k + "=" + v;
    }
    return out;
}

std::string date_part(std::string const& amz)
{
    return amz.substr(0, 8);
}

} // namespace

std::optional<credentials> credentials::from_environment()
{
    char const* id = std::getenv("AWS_ACCESS_KEY_ID");
    char const* secret = std::getenv("AWS_SECRET_ACCESS_KEY");
    if (!id || !*id || !secret || !*secret)
        return std::nullopt;
    char const* token = std::getenv("AWS_SESSION_TOKEN");
    return credentials{id, secret, token ? token : ""};
}

std::string uri_encode(std::string_view s, bool keep_slash)
{
    std::string out;
    out.reserve(s.size());
    for (unsigned char c : s) {
        bool plain = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                     c == '-' || c == '_' || c == '.' || c == '~' || (keep_slash && c == '/');
        if (plain) {
            out += static_cast<char>(c);
        } else {
            out += '%';
            out += "0123456789ABCDEF"[c >> 4];
            out += "0123456789ABCDEF"[c & 15];
        }
    }
    return out;
}

std::string sha256_hex(std::string_view data)
{
    unsigned char md[SHA256_DIGEST_LENGTH];
    SHA256(reinterpret_cast<unsigned char const*>(data.data()), data.size(), md);
    return to_hex(md, sizeof md);
}

std::string amz_date(std::chrono::system_clock::time_point at)
{
    std::time_t t = std::chrono::system_clock::to_time_t(at);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[20];
    std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
    return buf;
}

signature compute_signature(signing_input const& in,
                            credentials const& keys,
                            std::chrono::system_clock::time_point at)
{
    signature sig;
    sig.amz_date = amz_date(at);

    auto q = in.target.find('?');
    auto path = in.target.substr(0, q);
    auto query = q == std::string_view::npos ? std::string_view() : in.target.substr(q + 1);

    std::vector<std::pair<std::string, std::string>> headers;
    for (auto const& [name, value] : in.headers) {
        auto n = lower(name);
        auto v = canonical_value(value);
        auto it = std::find_if(
            headers.begin(), headers.end(), [&](auto const& h) { return h.first == n; });
        if (it == headers.end())
            headers.emplace_back(std::move(n), std::move(v));
        else
            it->second += "," + v;
    }
    std::sort(headers.begin(), headers.end());

    std::string canonical_headers;
    for (auto const& [name, value] : headers) {
        canonical_headers += name + ":" + value + "\n";
        if (!sig.signed_headers.empty())
            sig.signed_headers += ';';
        sig.signed_headers += name;
    }

    sig.canonical_request = std::string(in.method) + "\n" +
                            uri_encode(path.empty() ? "/" : path, true) + "\n" +
                            canonical_query(query) + "\n" + canonical_headers + "\n" +
                            sig.signed_headers + "\n" + sha256_hex(in.body);

    auto day = date_part(sig.amz_date);
    auto scope =
        day + "/" + std::string(in.region) + "/" + std::string(in.service) + "/aws4_request";
    sig.string_to_sign = "AWS4-HMAC-SHA256\n" + sig.amz_date + "\n" + scope + "\n" +
                         sha256_hex(sig.canonical_request);

    auto k_date = hmac("AWS4" + keys.secret_access_key, day);
    auto k_region = hmac(view(k_date), in.region);
    auto k_service = hmac(view(k_region), in.service);
    auto k_signing = hmac(view(k_service), "aws4_request");
    auto s = hmac(view(k_signing), sig.string_to_sign);
    sig.value = to_hex(s.data(), s.size());
    sig.authorization = "AWS4-HMAC-SHA256 Credential=" + keys.access_key_id + "/" + scope +
                        ", SignedHeaders=" + sig.signed_headers + ", Signature=" + sig.value;
    return sig;
}

void sign_request(std::string_view method,
                  std::string_view target,
                  header_list& headers,
                  std::string_view body,
                  std::string_view region,
                  std::string_view service,
                  credentials const& keys,
                  std::chrono::system_clock::time_point at)
{
    headers.emplace_back("X-Amz-Date", amz_date(at));
    if (!keys.session_token.empty())
        headers.emplace_back("X-Amz-Security-Token", keys.session_token);
    auto sig =
        compute_signature(signing_input{method, target, headers, body, region, service}, keys, at);
    headers.emplace_back("Authorization", std::move(sig.authorization));
}

} // namespace chatd::aws
