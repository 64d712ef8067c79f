#include <chatd/core/utf8.hpp>

#include <cstdint>
#include <cstring>

namespace chatd::core {

bool is_valid_utf8(std::string_view s)
{
    auto const* p = reinterpret_cast<unsigned char const*>(s.data());
    std::size_t n = s.size();
    std::size_t i = 0;
    while (i < n) {
        // ASCII runs eight bytes at a time.
        if (i + 8 <= n) {
            std::uint64_t w = 0;
            std::memcpy(&w, p + i, sizeof w);
            if ((w & 0x8080808080808080ULL) == 0) {
                i += 8;
                continue;
            }
        }
        unsigned char c = p[i];
        if (c < 0x80) {
            ++i;
            continue;
        }
        // Unicode's table of well-formed sequences: the allowed range of the second byte
        // depends on the first; later bytes are 80..BF.
        std::size_t len = 0;
        unsigned char lo = 0x80, hi = 0xBF;
        if (c >= 0xC2 && c <= 0xDF)
            len = 2;
        else if (c == 0xE0)
            len = 3, lo = 0xA0;
        else if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF)
            len = 3;
        else if (c == 0xED)
            len = 3, hi = 0x9F; // no surrogates
        else if (c == 0xF0)
            len = 4, lo = 0x90;
        else if (c >= 0xF1 && c <= 0xF3)
            len = 4;
        else if (c == 0xF4)
            len = 4, hi = 0x8F; // nothing above U+10FFFF
        else
            return false;
        if (i + len > n)
            return false;
        if (p[i + 1] < lo || p[i + 1] > hi)
            return false;
        for (std::size_t k = 2; k < len; ++k)
            if (p[i + k] < 0x80 || p[i + k] > 0xBF)
                return false;
        i += len;
    }
    return true;
}

std::size_t code_points(std::string_view s)
{
    std::size_t n = 0;
    for (char ch : s)
        if ((static_cast<unsigned char>(ch) & 0xc0) != 0x80)
            ++n;
    return n;
}

} // namespace chatd::core
