#pragma once

#include <chatd/core/outcome.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace chatd::core {

/// What a Lambda-proxy integration's response body means to API Gateway.
struct proxy_result
{
    std::optional<outcome> out; ///< set when the body is a valid proxy result
    std::string error;          ///< otherwise: why it counts as a function error
};

/// Read a Lambda proxy result (payload v1): a JSON object whose keys are among statusCode,
/// headers, multiValueHeaders, body and isBase64Encoded. `null` or an empty body (a function
/// that returned nothing) is a 200 with no body. Anything else, including the runtime's
/// {"errorMessage","errorType"} for a function that threw, is a function error.
proxy_result parse_proxy_result(std::string_view body);

/// Decode standard base64 (with or without padding); nullopt when malformed.
std::optional<std::string> base64_decode(std::string_view in);

} // namespace chatd::core
