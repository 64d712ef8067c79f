#include <doctest/doctest.h>

#include <array>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "transport/ws_protocol.hpp"
#include "ws_frames.hpp"

using namespace chatd::server::ws;
using item = frame_reader::item;
using chatd::test::client_frame;

namespace {

std::vector<unsigned char> cat(std::vector<std::vector<unsigned char>> const& parts)
{
    std::vector<unsigned char> out;
    for (auto const& p : parts)
        out.insert(out.end(), p.begin(), p.end());
    return out;
}

/// Feed `bytes` in pieces of `step` and collect every item that comes out.
std::vector<item>
read_all(frame_reader& r, std::vector<unsigned char> const& bytes, std::size_t step)
{
    std::vector<item> items;
    std::size_t at = 0;
    while (at < bytes.size()) {
        auto end = std::min(bytes.size(), at + step);
        std::size_t used = at;
        while (used < end) {
            item it;
            used += r.parse(bytes.data() + used, end - used, it);
            if (it.kind != item::none)
                items.push_back(std::move(it));
        }
        at = end;
    }
    return items;
}

} // namespace

TEST_CASE("handshake key: the RFC's example and malformed keys")
{
    CHECK(accept_key("dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    CHECK(valid_client_key("dGhlIHNhbXBsZSBub25jZQ=="));
    CHECK_FALSE(valid_client_key(""));
    CHECK_FALSE(valid_client_key("dGhlIHNhbXBsZSBub25jZQ"));
    CHECK_FALSE(valid_client_key("dGhlIHNhbXBsZSBub25jZQ==="));
    CHECK_FALSE(valid_client_key("dGhlIHNhbXBsZSBub25j\r\n=="));
}

TEST_CASE("server frame headers in all three length forms")
{
    unsigned char h[max_header_bytes];
    CHECK(write_header(h, true, op_text, 5) == 2);
    CHECK(h[0] == 0x81);
    CHECK(h[1] == 5);
    CHECK(write_header(h, false, op_text, 300) == 4);
    CHECK(h[0] == 0x01);
    CHECK(h[1] == 126);
    CHECK(((h[2] << 8) | h[3]) == 300);
    CHECK(write_header(h, true, op_continuation, 70000) == 10);
    CHECK(h[1] == 127);
    CHECK(h[7] == 0x01);
    CHECK(h[8] == 0x11);
    CHECK(h[9] == 0x70);
    auto p = close_payload(1001, "Going away");
    CHECK(p.size() == 12);
    CHECK(static_cast<unsigned char>(p[0]) == 0x03);
    CHECK(static_cast<unsigned char>(p[1]) == 0xE9);
    CHECK(close_payload(1000, std::string(200, 'x')).size() == 125);
}

TEST_CASE("frame reader: messages, fragments and control frames, whatever the read sizes")
{
    std::string big(40000, 'b');
    auto bytes = cat({client_frame(0x81, "hello"),
                      client_frame(0x89, "are you there"),
                      client_frame(0x01, "frag"),
                      client_frame(0x8A, ""), // a pong between fragments is allowed
                      client_frame(0x00, "men"),
                      client_frame(0x80, "ted"),
                      client_frame(0x81, std::string(300, 'm')),
                      client_frame(0x01, big.substr(0, 20000)),
                      client_frame(0x80, big.substr(20000)),
                      client_frame(0x81, ""),
                      client_frame(0x88, std::string("\x03\xe8", 2) + "bye")});
    for (std::size_t step :
         {std::size_t{1}, std::size_t{3}, std::size_t{7}, std::size_t{4096}, bytes.size()}) {
        CAPTURE(step);
        frame_reader r(32 * 1024, 128 * 1024);
        auto items = read_all(r, bytes, step);
        REQUIRE(items.size() == 8);
        CHECK(items[0].kind == item::message);
        CHECK(items[0].payload == "hello");
        CHECK(items[1].kind == item::ping);
        CHECK(items[1].payload == "are you there");
        CHECK(items[2].kind == item::pong);
        CHECK(items[3].payload == "fragmented");
        CHECK(items[4].payload == std::string(300, 'm'));
        CHECK(items[5].payload == big);
        CHECK(items[6].kind == item::message);
        CHECK(items[6].payload.empty());
        CHECK(items[7].kind == item::close);
        CHECK(items[7].code == 1000);
        CHECK(items[7].payload == "bye");
        CHECK(r.buffered() == 0);
    }
}

TEST_CASE("frame reader: a close frame without a code is 1005")
{
    frame_reader r(32 * 1024, 128 * 1024);
    auto items = read_all(r, client_frame(0x88, ""), 100);
    REQUIRE(items.size() == 1);
    CHECK(items[0].kind == item::close);
    CHECK(items[0].code == 1005);
}

TEST_CASE("frame reader: API Gateway's limits and unsupported frames")
{
    SUBCASE("a frame of exactly 32 KB passes, one byte more is 1009")
    {
        frame_reader r(32 * 1024, 128 * 1024);
        auto ok = read_all(r, client_frame(0x81, std::string(32 * 1024, 'x')), 5000);
        REQUIRE(ok.size() == 1);
        CHECK(ok[0].kind == item::message);
        auto bad = read_all(r,
                            cat({client_frame(0x81, std::string(32 * 1024 + 1, 'x')),
                                 client_frame(0x81, "dropped"),
                                 client_frame(0x88, "\x03\xe8")}),
                            5000);
        REQUIRE(bad.size() == 2);
        CHECK(bad[0].kind == item::refused);
        CHECK(bad[0].code == 1009);
        CHECK_FALSE(bad[0].fatal);
        CHECK(bad[1].kind == item::close); // still understood while the connection closes
        CHECK(r.buffered() == 0);
    }
    SUBCASE("a message over 128 KB in frames of 32 KB is 1009, before it is all buffered")
    {
        frame_reader r(32 * 1024, 128 * 1024);
        std::vector<std::vector<unsigned char>> parts{client_frame(0x01, std::string(32768, 'a'))};
        for (int i = 0; i < 3; ++i)
            parts.push_back(client_frame(0x00, std::string(32768, 'a')));
        parts.push_back(client_frame(0x80, "!"));
        auto items = read_all(r, cat(parts), 65536);
        REQUIRE(items.size() == 1);
        CHECK(items[0].code == 1009);
        CHECK(r.buffered() == 0);
    }
    SUBCASE("binary is 1003, invalid UTF-8 is 1007")
    {
        frame_reader r(32 * 1024, 128 * 1024);
        auto items = read_all(r, client_frame(0x82, "\x01\x02"), 100);
        REQUIRE(items.size() == 1);
        CHECK(items[0].code == 1003);
        frame_reader r2(32 * 1024, 128 * 1024);
        items = read_all(r2, client_frame(0x81, "bad \xc0\xaf"), 100);
        REQUIRE(items.size() == 1);
        CHECK(items[0].code == 1007);
        CHECK_FALSE(items[0].fatal);
    }
}

TEST_CASE("frame reader: protocol errors are fatal 1002s")
{
    struct bad_case
    {
        char const* name;
        std::vector<unsigned char> bytes;
        unsigned code;
    };

    std::vector<bad_case> cases{
        {"unmasked", client_frame(0x81, "hi", false), 1002},
        {"reserved bit", client_frame(0xC1, "hi"), 1002},
        {"unknown data opcode", client_frame(0x83, "hi"), 1002},
        {"unknown control opcode", client_frame(0x8B, "hi"), 1002},
        {"fragmented ping", client_frame(0x09, "hi"), 1002},
        {"long ping", client_frame(0x89, std::string(126, 'p')), 1002},
        {"continuation first", client_frame(0x80, "hi"), 1002},
        {"text inside a message", cat({client_frame(0x01, "a"), client_frame(0x81, "b")}), 1002},
        {"64-bit length with the top bit", client_frame(0x81, "", true, 1ULL << 63), 1002},
        {"close with one byte", client_frame(0x88, "\x03"), 1002},
        {"close code 1005", client_frame(0x88, "\x03\xed"), 1002},
        {"close code 999", client_frame(0x88, "\x03\xe7"), 1002},
        {"close reason not UTF-8", client_frame(0x88, "\x03\xe8\xff"), 1007},
    };
    for (auto const& c : cases) {
        CAPTURE(c.name);
        frame_reader r(32 * 1024, 128 * 1024);
        auto bytes = cat({c.bytes, client_frame(0x81, "after")});
        auto items = read_all(r, bytes, bytes.size());
        REQUIRE(items.size() == 1); // nothing is read after it
        CHECK(items[0].kind == item::refused);
        CHECK(items[0].code == c.code);
        CHECK(items[0].fatal);
    }
}

TEST_CASE("frame reader: once closing, data frames are skipped and control frames still read")
{
    frame_reader r(32 * 1024, 128 * 1024);
    r.discard_data();
    auto items = read_all(r,
                          cat({client_frame(0x81, "ignored"),
                               client_frame(0x82, "binary too"),
                               client_frame(0x81, std::string(50000, 'z')),
                               client_frame(0x88, "\x03\xe9")}),
                          1000);
    REQUIRE(items.size() == 1);
    CHECK(items[0].kind == item::close);
    CHECK(items[0].code == 1001);
    CHECK(r.buffered() == 0);
}

TEST_CASE("a whole text frame is its header then its payload")
{
    auto small = text_frame("hi");
    CHECK(small == std::string("\x81\x02hi", 4));
    std::string body(300, 'x');
    auto medium = text_frame(body);
    REQUIRE(medium.size() == 4 + 300);
    CHECK(static_cast<unsigned char>(medium[0]) == 0x81);
    CHECK(static_cast<unsigned char>(medium[1]) == 126);
    CHECK(((static_cast<unsigned char>(medium[2]) << 8) | static_cast<unsigned char>(medium[3])) ==
          300);
    CHECK(medium.substr(4) == body);
    CHECK(text_frame("") == std::string("\x81\x00", 2));
}

namespace {

/// Text of `bytes` bytes or a little more, mixing one- to four-byte UTF-8 characters.
std::string random_text(std::mt19937& rng, std::size_t bytes)
{
    static char const* const pieces[] = {
        "a", "Z", " ", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80"};
    std::string s;
    while (s.size() < bytes)
        s += pieces[rng() % 6];
    return s;
}

/// A payload size that often sits on a boundary of the three length forms.
std::size_t random_size(std::mt19937& rng)
{
    static std::size_t const edges[] = {0, 1, 124, 125, 126, 127, 65535, 65536, 65537};
    return rng() % 3 ? rng() % 300 : edges[rng() % 9];
}

} // namespace

TEST_CASE("frame reader: random valid streams come out whole, whatever the read sizes")
{
    for (unsigned seed = 1; seed <= 150; ++seed) {
        CAPTURE(seed);
        std::mt19937 rng(seed);
        auto mask = [&] {
            return std::array<unsigned char, 4>{static_cast<unsigned char>(rng()),
                                                static_cast<unsigned char>(rng()),
                                                static_cast<unsigned char>(rng()),
                                                static_cast<unsigned char>(rng())};
        };
        std::vector<unsigned char> bytes;
        std::vector<item> expected;
        auto add = [&](std::vector<unsigned char> const& f) {
            bytes.insert(bytes.end(), f.begin(), f.end());
        };
        auto maybe_control = [&] {
            if (rng() % 4)
                return;
            bool ping = rng() % 2;
            auto payload = std::string(rng() % 126, static_cast<char>('0' + rng() % 10));
            add(client_frame(ping ? 0x89 : 0x8A, payload, true, UINT64_MAX, mask()));
            item it;
            it.kind = ping ? item::ping : item::pong;
            if (ping)
                it.payload = payload;
            expected.push_back(std::move(it));
        };
        for (int m = 0, messages = 1 + static_cast<int>(rng() % 12); m < messages; ++m) {
            maybe_control();
            // One message in 1-4 fragments; a cut may fall inside a UTF-8 character.
            auto text = random_text(rng, random_size(rng));
            std::size_t fragments = 1 + rng() % 4, at = 0;
            for (std::size_t k = 0; k < fragments; ++k) {
                bool last = k + 1 == fragments;
                auto size = last ? text.size() - at : std::min(text.size() - at, random_size(rng));
                unsigned char first = (last ? 0x80 : 0x00) | (k == 0 ? op_text : op_continuation);
                add(client_frame(first, text.substr(at, size), true, UINT64_MAX, mask()));
                at += size;
                if (!last)
                    maybe_control();
            }
            item it;
            it.kind = item::message;
            it.payload = text;
            expected.push_back(std::move(it));
        }
        add(client_frame(0x88,
                         std::string("\x0f\xa0", 2) + random_text(rng, rng() % 60),
                         true,
                         UINT64_MAX,
                         mask()));

        // Fed in reads of random sizes, as a socket would hand them over.
        frame_reader r(70000, 400000);
        std::vector<item> items;
        for (std::size_t at = 0; at < bytes.size();) {
            auto end = std::min(bytes.size(), at + 1 + rng() % (rng() % 2 ? 16 : 70000));
            while (at < end) {
                item it;
                at += r.parse(bytes.data() + at, end - at, it);
                if (it.kind != item::none)
                    items.push_back(std::move(it));
            }
        }
        REQUIRE(items.size() == expected.size() + 1);
        for (std::size_t k = 0; k < expected.size(); ++k) {
            CAPTURE(k);
            CHECK(items[k].kind == expected[k].kind);
            CHECK(items[k].payload == expected[k].payload);
        }
        CHECK(items.back().kind == item::close);
        CHECK(items.back().code == 4000);
        CHECK(r.buffered() == 0);
    }
}

TEST_CASE("frame reader: random and corrupted bytes: it keeps its limits and delivers nothing "
          "after a refusal")
{
    constexpr std::size_t max_frame = 1024, max_message = 4096;
    for (unsigned seed = 1; seed <= 2000; ++seed) {
        CAPTURE(seed);
        std::mt19937 rng(seed);
        std::vector<unsigned char> bytes;
        if (seed % 2) {
            // Valid frames of every kind with a few bytes flipped, or a message in many
            // fragments that may outgrow the message limit.
            bool chain = rng() % 2;
            for (int k = 0, n = 1 + static_cast<int>(rng() % 8); k < n; ++k) {
                static unsigned char const firsts[] = {0x81, 0x01, 0x00, 0x80, 0x89, 0x8A, 0x88};
                auto first = chain ? (k == 0 ? 0x01 : k + 1 == n ? 0x80 : 0x00) : firsts[rng() % 7];
                auto f = client_frame(static_cast<unsigned char>(first),
                                      random_text(rng, rng() % (chain ? 1020 : 1500)));
                bytes.insert(bytes.end(), f.begin(), f.end());
            }
            for (int k = 0, flips = 1 + static_cast<int>(rng() % 4); k < flips; ++k)
                bytes[rng() % bytes.size()] ^= static_cast<unsigned char>(1 + rng() % 255);
        } else {
            bytes.resize(1 + rng() % 3000);
            for (auto& b : bytes)
                b = static_cast<unsigned char>(rng());
        }

        frame_reader r(max_frame, max_message);
        bool refused = false, fatal = false;
        for (std::size_t at = 0; at < bytes.size();) {
            auto end = std::min(bytes.size(), at + 1 + rng() % 200);
            while (at < end) {
                item it;
                auto used = r.parse(bytes.data() + at, end - at, it);
                REQUIRE(used <= end - at);
                REQUIRE((used > 0 || it.kind != item::none)); // always makes progress
                at += used;
                CHECK(r.buffered() <= max_message);
                if (it.kind == item::message)
                    CHECK_FALSE(refused); // nothing is delivered once the connection is closing
                if (fatal)
                    CHECK(it.kind == item::none); // no more frames once the stream is broken
                if (it.kind == item::refused) {
                    refused = true;
                    fatal = fatal || it.fatal;
                    CHECK(
                        (it.code == 1002 || it.code == 1003 || it.code == 1007 || it.code == 1009));
                    CHECK_FALSE(it.payload.empty());
                }
            }
        }
    }
}
