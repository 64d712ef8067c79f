#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace chatd::aws {

/// The keys a request is signed with: a function's role credentials on Lambda
/// (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and, for temporary keys, AWS_SESSION_TOKEN).
struct credentials
{
    std::string access_key_id;
    std::string secret_access_key;
    std::string session_token; ///< empty for long-term keys

    /// From the environment; nullopt when the key id or the secret is missing. Lambda rotates
    /// role credentials, so read them again for each invocation rather than once.
    static std::optional<credentials> from_environment();
};

/// Header name/value pairs. Names are compared case-insensitively when signing.
using header_list = std::vector<std::pair<std::string, std::string>>;

/// A request to sign, as it goes on the wire.
struct signing_input
{
    std::string_view method;
    std::string_view target;    ///< request-target as sent: encoded path, then ?query if any
    header_list const& headers; ///< every header to sign; must include Host
    std::string_view body;
    std::string_view region;
    std::string_view service; ///< "dynamodb", "execute-api", ...
};

/// Everything Signature Version 4 computes, step by step (the steps are for tests and for
/// error messages that show a mismatch).
struct signature
{
    std::string amz_date;          ///< X-Amz-Date: 20250101T000000Z
    std::string canonical_request; ///< step 1
    std::string string_to_sign;    ///< step 2
    std::string signed_headers;    ///< "content-type;host;x-amz-date"
    std::string value;             ///< hex signature
    std::string authorization;     ///< the Authorization header
};

/// Percent-encode every byte except A-Z a-z 0-9 - _ . ~ (and '/' when `keep_slash`), with
/// upper-case hex: SigV4's URI encoding, and how ids go into a path.
std::string uri_encode(std::string_view s, bool keep_slash);

/// Lower-case hex SHA-256 of `data`.
std::string sha256_hex(std::string_view data);

/// Sign `in` at time `at`. The caller's headers must already hold X-Amz-Date (the value
/// `amz_date(at)` gives) and, with a session token, X-Amz-Security-Token; `sign_request`
/// below adds both. The canonical URI encodes the wire path once more, as every AWS service
/// but S3 expects: /prod/@connections/abc%3D signs as /prod/%40connections/abc%253D.
signature compute_signature(signing_input const& in,
                            credentials const& keys,
                            std::chrono::system_clock::time_point at);

/// "YYYYMMDDTHHMMSSZ" for `at`, in UTC.
std::string amz_date(std::chrono::system_clock::time_point at);

/// Add X-Amz-Date, X-Amz-Security-Token (when the keys have one) and Authorization to
/// `headers`, signing every header in it.
void sign_request(std::string_view method,
                  std::string_view target,
                  header_list& headers,
                  std::string_view body,
                  std::string_view region,
                  std::string_view service,
                  credentials const& keys,
                  std::chrono::system_clock::time_point at);

} // namespace chatd::aws
