#include <chatd/core/utf8.hpp>

#include <doctest/doctest.h>

namespace core = chatd::core;

TEST_CASE("UTF-8: well-formed text passes, every kind of malformed sequence fails")
{
    CHECK(core::is_valid_utf8(""));
    CHECK(core::is_valid_utf8("plain ascii that is longer than eight bytes"));
    CHECK(core::is_valid_utf8("h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80")); // é € 😀
    CHECK(core::is_valid_utf8("\xf4\x8f\xbf\xbf"));                           // U+10FFFF
    CHECK_FALSE(core::is_valid_utf8("\xc0\xaf"));                             // overlong '/'
    CHECK_FALSE(core::is_valid_utf8("\xe0\x80\xaf"));                         // overlong, 3 bytes
    CHECK_FALSE(core::is_valid_utf8("\xed\xa0\x80"));                         // a surrogate
    CHECK_FALSE(core::is_valid_utf8("\xf4\x90\x80\x80"));                     // above U+10FFFF
    CHECK_FALSE(core::is_valid_utf8("abc\xe2\x82"));                          // cut short
    CHECK_FALSE(core::is_valid_utf8("\x80"));                                 // lone continuation
    CHECK_FALSE(core::is_valid_utf8("\xff"));
    CHECK_FALSE(core::is_valid_utf8("01234567\xe2\x28\xa1")); // bad second byte
}

TEST_CASE("UTF-8: code points count lead bytes only")
{
    CHECK(core::code_points("") == 0);
    CHECK(core::code_points("abc") == 3);
    CHECK(core::code_points("h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80") == 9);
}
