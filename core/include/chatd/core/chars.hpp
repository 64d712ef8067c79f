#pragma once

namespace chatd::core {

// ASCII character classes, independent of the C locale. Ids, stage names, room ids, JSON
// paths and base64 are all defined over these.

constexpr bool is_ascii_digit(char c)
{
    return c >= '0' && c <= '9';
}

constexpr bool is_ascii_lower_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || is_ascii_digit(c);
}

constexpr bool is_ascii_alnum(char c)
{
    return (c >= 'A' && c <= 'Z') || is_ascii_lower_alnum(c);
}

/// The URL-safe base64 alphabet (RFC 4648 section 5): what API Gateway's ids are made of.
constexpr bool is_base64url_char(char c)
{
    return is_ascii_alnum(c) || c == '-' || c == '_';
}

/// Room ids and route-selection path segments: letters, digits, '_', '.' and '-'.
constexpr bool is_name_char(char c)
{
    return is_base64url_char(c) || c == '.';
}

} // namespace chatd::core
