#pragma once

// WebSocket frames as a client writes them and as a test reads the server's (RFC 6455).

#include <array>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace chatd::test {

/// One client frame: masked (unless told), with the given first byte (FIN, RSV and opcode)
/// and payload; `claimed` overrides the length the header gives.
inline std::vector<unsigned char> client_frame(unsigned char first,
                                               std::string const& payload,
                                               bool masked = true,
                                               std::uint64_t claimed = UINT64_MAX,
                                               std::array<unsigned char, 4> mask = {
                                                   0x37, 0xfa, 0x21, 0x3d})
{
    std::uint64_t len = claimed == UINT64_MAX ? payload.size() : claimed;
    std::vector<unsigned char> f{first};
    unsigned char m = masked ? 0x80 : 0;
    if (len < 126) {
        f.push_back(static_cast<unsigned char>(m | len));
    } else if (len < 65536) {
        f.push_back(m | 126);
        f.push_back(static_cast<unsigned char>(len >> 8));
        f.push_back(static_cast<unsigned char>(len));
    } else {
        f.push_back(m | 127);
        for (int i = 7; i >= 0; --i)
            f.push_back(static_cast<unsigned char>(len >> (8 * i)));
    }
    if (masked)
        f.insert(f.end(), mask.begin(), mask.end());
    for (std::size_t i = 0; i < payload.size(); ++i)
        f.push_back(static_cast<unsigned char>(payload[i]) ^ (masked ? mask[i % 4] : 0));
    return f;
}

/// One frame the server sent.
struct server_frame
{
    bool fin = false;
    std::uint8_t opcode = 0;
    std::string payload;

    /// A close frame's code (0: none).
    unsigned close_code() const
    {
        if (payload.size() < 2)
            return 0;
        return unsigned(static_cast<unsigned char>(payload[0])) << 8 |
               static_cast<unsigned char>(payload[1]);
    }
};

/// The server's frames in `bytes`, which must hold whole unmasked frames only.
inline std::vector<server_frame> server_frames(std::string const& bytes)
{
    std::vector<server_frame> out;
    std::size_t at = 0;
    auto byte = [&](std::size_t i) {
        return static_cast<unsigned char>(bytes.at(i));
    };
    while (at < bytes.size()) {
        server_frame f;
        f.fin = byte(at) & 0x80;
        f.opcode = byte(at) & 0x0f;
        std::uint64_t len = byte(at + 1) & 0x7f;
        at += 2;
        if (len == 126) {
            len = std::uint64_t(byte(at)) << 8 | byte(at + 1);
            at += 2;
        } else if (len == 127) {
            len = 0;
            for (int i = 0; i < 8; ++i)
                len = len << 8 | byte(at + std::size_t(i));
            at += 8;
        }
        f.payload = bytes.substr(at, len);
        if (f.payload.size() != len)
            throw std::runtime_error("server_frames: a partial frame");
        at += len;
        out.push_back(std::move(f));
    }
    return out;
}

} // namespace chatd::test
