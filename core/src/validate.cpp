#include "validate.hpp"

#include <chatd/core/chars.hpp>

#include <algorithm>
#include <cstdint>

namespace chatd::core {

bool is_valid_room_id(std::string_view s)
{
    if (s.empty() || s.size() > 64)
        return false;
    return std::all_of(s.begin(), s.end(), is_name_char);
}

bool is_valid_name(std::string_view s)
{
    if (s.empty() || !is_valid_utf8(s))
        return false;
    auto n = code_points(s);
    if (n > 32)
        return false;
    for (std::size_t i = 0; i < s.size(); ++i) {
        auto c = static_cast<unsigned char>(s[i]);
        if (c < 0x20 || c == 0x7f)
            return false;
        // C1 controls U+0080..U+009F are encoded as C2 80..C2 9F.
        if (c == 0xc2 && i + 1 < s.size()) {
            auto next = static_cast<unsigned char>(s[i + 1]);
            if (next >= 0x80 && next <= 0x9f)
                return false;
        }
    }
    return true;
}

} // namespace chatd::core
