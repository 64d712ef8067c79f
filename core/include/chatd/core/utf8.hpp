#pragma once

#include <cstddef>
#include <string_view>

namespace chatd::core {

/// True when `s` is well-formed UTF-8: no overlong forms, no surrogates, nothing above
/// U+10FFFF. Chat names and texts and WebSocket text frames are all checked with it.
bool is_valid_utf8(std::string_view s);

/// Number of code points in well-formed UTF-8 text.
std::size_t code_points(std::string_view s);

} // namespace chatd::core
