#pragma once

#include <charconv>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

// Writing JSON text straight into a string, for the frames sent once per message: no JSON
// object, no allocation per field. The output is byte for byte what Boost.JSON's serializer
// writes for the same values (tests/core/chat_test.cpp compares them).
namespace chatd::core::json_text {

/// Whether any of the eight bytes of `w` is below 0x20, '"' or '\\': the bytes a JSON string
/// must escape. Exact for the word as a whole (a borrow between bytes only arises when a lower
/// byte already matched), which is all the scan below needs.
constexpr bool any_to_escape(std::uint64_t w)
{
    constexpr std::uint64_t ones = 0x0101010101010101ull;
    constexpr std::uint64_t highs = 0x8080808080808080ull;
    auto any_zero = [](std::uint64_t x) {
        return (x - ones) & ~x & highs;
    };
    auto any_below_0x20 = (w - ones * 0x20) & ~w & highs;
    return (any_below_0x20 | any_zero(w ^ (ones * '"')) | any_zero(w ^ (ones * '\\'))) != 0;
}

/// Append `s` as a quoted JSON string: `"` and `\` escaped, control characters as \b \t \n \f
/// \r or \u00XX; everything else, UTF-8 included, as it is. Eight bytes are checked at a time,
/// so text with nothing to escape (nearly all chat text) costs about one test per word and one
/// copy.
inline void append_string(std::string& out, std::string_view s)
{
    static constexpr char hex[] = "0123456789abcdef";
    out.push_back('"');
    std::size_t plain = 0; // start of the run of characters that need no escape
    std::size_t i = 0;
    while (i < s.size()) {
        if (s.size() - i >= 8) {
            std::uint64_t w;
            std::memcpy(&w, s.data() + i, 8);
            if (!any_to_escape(w)) {
                i += 8;
                continue;
            }
        }
        auto c = static_cast<unsigned char>(s[i++]);
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        out.append(s.data() + plain, i - 1 - plain);
        plain = i;
        out.push_back('\\');
        switch (c) {
        case '"':
            out.push_back('"');
            break;
        case '\\':
            out.push_back('\\');
            break;
        case '\b':
            out.push_back('b');
            break;
        case '\t':
            out.push_back('t');
            break;
        case '\n':
            out.push_back('n');
            break;
        case '\f':
            out.push_back('f');
            break;
        case '\r':
            out.push_back('r');
            break;
        default:
            out.append("u00");
            out.push_back(hex[c >> 4]);
            out.push_back(hex[c & 0xf]);
        }
    }
    out.append(s.data() + plain, s.size() - plain);
    out.push_back('"');
}

/// Append `,"key":"value"` to an object already opened (keys are plain identifiers).
inline void append_field(std::string& out, std::string_view key, std::string_view value)
{
    out.append(",\"");
    out.append(key);
    out.append("\":");
    append_string(out, value);
}

inline void append_integer(std::string& out, std::int64_t v)
{
    char buf[24];
    auto end = std::to_chars(buf, buf + sizeof buf, v).ptr;
    out.append(buf, end);
}

} // namespace chatd::core::json_text
