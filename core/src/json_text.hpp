#pragma once

#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>

// Writing JSON text straight into a string, for the frames sent once per message: no JSON
// object, no allocation per field. The output is byte for byte what Boost.JSON's serializer
// writes for the same values (tests/core/chat_test.cpp compares them).
namespace chatd::core::json_text {

/// Append `s` as a quoted JSON string: `"` and `\` escaped, control characters as \b \t \n \f
/// \r or \u00XX; everything else, UTF-8 included, as it is.
inline void append_string(std::string& out, std::string_view s)
{
    static constexpr char hex[] = "0123456789abcdef";
    out.push_back('"');
    std::size_t plain = 0; // start of the run of characters that need no escape
    for (std::size_t i = 0; i < s.size(); ++i) {
        auto c = static_cast<unsigned char>(s[i]);
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        out.append(s.data() + plain, i - plain);
        plain = i + 1;
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
