#pragma once

#include <chatd/core/utf8.hpp>

#include <cstddef>
#include <string_view>

namespace chatd::core {

/// roomId rule: 1-64 characters of A-Z a-z 0-9 _ . -
bool is_valid_room_id(std::string_view s);

/// Display-name rule: 1-32 code points of valid UTF-8, no control characters (C0, DEL, C1).
bool is_valid_name(std::string_view s);

} // namespace chatd::core
