// The frame writer's string escaping against Boost.JSON's serializer, byte for byte, with the
// characters that need escaping at every offset around the eight-byte words it scans.
#include <boost/json.hpp>
#include <doctest/doctest.h>

#include <random>
#include <string>

#include <json_text.hpp>

namespace json = boost::json;
using chatd::core::json_text::any_to_escape;
using chatd::core::json_text::append_string;

namespace {

std::string written(std::string_view s)
{
    std::string out;
    append_string(out, s);
    return out;
}

std::string boost_json(std::string_view s)
{
    return json::serialize(json::string(s));
}

} // namespace

TEST_CASE("json_text: word test finds each byte that needs escaping at every position")
{
    for (int c = 0; c < 256; ++c) {
        bool escape = c < 0x20 || c == '"' || c == '\\';
        for (int pos = 0; pos < 8; ++pos) {
            for (unsigned char fill : {'a', ' ', '~', '\x7f', '\x80', '\xff'}) {
                unsigned char bytes[8];
                std::memset(bytes, fill, 8);
                bytes[pos] = static_cast<unsigned char>(c);
                std::uint64_t w;
                std::memcpy(&w, bytes, 8);
                CAPTURE(c);
                CAPTURE(pos);
                CHECK(any_to_escape(w) == escape);
            }
        }
    }
}

TEST_CASE("json_text: strings match Boost.JSON's serializer around word boundaries")
{
    std::string const specials[] = {"\"",
                                    "\\",
                                    std::string(1, '\0'),
                                    "\x01",
                                    "\x1f",
                                    "\n",
                                    "\t",
                                    "\x7f",
                                    "\x20",
                                    "\xc3\xa9",
                                    "\xf0\x9f\x8e\x89"};
    for (std::size_t len = 0; len <= 24; ++len) {
        for (std::size_t pos = 0; pos <= len; ++pos) {
            for (auto const& sp : specials) {
                std::string s(len, 'x');
                s.insert(pos, sp);
                CAPTURE(s);
                CHECK(written(s) == boost_json(s));
                s.insert(0, sp); // two of them, one at the start
                CHECK(written(s) == boost_json(s));
            }
        }
    }
    CHECK(written("") == "\"\"");
}

TEST_CASE("json_text: random text matches Boost.JSON's serializer")
{
    std::mt19937 rng(20261122);
    // ASCII with every control character and both characters JSON must escape, and UTF-8.
    std::string const alphabet = std::string("abcXYZ019 ,.:{}[]\"\\/\x01\x08\x0c\x1f\x7f\n\r\t") +
                                 std::string(1, '\0') + "\xc3\xa9\xe2\x82\xac";
    for (int round = 0; round < 2000; ++round) {
        std::string s;
        auto n = rng() % 80;
        for (std::size_t i = 0; i < n; ++i)
            s.push_back(alphabet[rng() % alphabet.size()]);
        CAPTURE(s);
        CHECK(written(s) == boost_json(s));
    }
}
