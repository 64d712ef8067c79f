#include "transport/ws_protocol.hpp"

#include <chatd/core/chars.hpp>
#include <chatd/core/utf8.hpp>

#include <openssl/evp.h>

#include <algorithm>
#include <cstring>

namespace chatd::server::ws {
namespace {

bool is_base64_char(char c)
{
    return core::is_ascii_alnum(c) || c == '+' || c == '/';
}

/// XOR `n` bytes with the 4-byte mask, starting `offset` bytes into it; eight at a time.
void unmask(unsigned char* d,
            std::size_t n,
            std::array<unsigned char, 4> const& mask,
            std::size_t offset)
{
    std::array<unsigned char, 8> key{};
    for (std::size_t k = 0; k < key.size(); ++k)
        key[k] = mask[(offset + k) & 3];
    std::uint64_t key64 = 0;
    std::memcpy(&key64, key.data(), sizeof key64);
    std::size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        std::uint64_t w = 0;
        std::memcpy(&w, d + i, sizeof w);
        w ^= key64;
        std::memcpy(d + i, &w, sizeof w);
    }
    for (; i < n; ++i)
        d[i] ^= key[i & 7];
}

} // namespace

bool valid_client_key(std::string_view key)
{
    // 16 bytes in base64: 22 characters and "==".
    return key.size() == 24 && key.substr(22) == "==" &&
           std::all_of(key.begin(), key.begin() + 22, is_base64_char);
}

std::optional<std::string> accept_key(std::string_view client_key)
{
    static constexpr std::string_view guid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    std::string input;
    input.reserve(client_key.size() + guid.size());
    input.append(client_key).append(guid);
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int digest_len = 0;
    if (EVP_Digest(input.data(), input.size(), digest, &digest_len, EVP_sha1(), nullptr) != 1)
        return std::nullopt;
    unsigned char encoded[4 * ((EVP_MAX_MD_SIZE + 2) / 3) + 1];
    auto len = EVP_EncodeBlock(encoded, digest, static_cast<int>(digest_len));
    if (len <= 0)
        return std::nullopt;
    return std::string(reinterpret_cast<char const*>(encoded), static_cast<std::size_t>(len));
}

bool valid_close_code(unsigned code)
{
    if (code >= 3000 && code <= 4999)
        return true;
    switch (code) {
    case 1000:
    case 1001:
    case 1002:
    case 1003:
    case 1007:
    case 1008:
    case 1009:
    case 1010:
    case 1011:
    case 1012:
    case 1013:
    case 1014:
        return true;
    default:
        return false;
    }
}

std::size_t write_header(unsigned char* out, bool fin, std::uint8_t opcode, std::size_t size)
{
    out[0] = static_cast<unsigned char>((fin ? 0x80 : 0) | opcode);
    if (size < 126) {
        out[1] = static_cast<unsigned char>(size);
        return 2;
    }
    if (size < 65536) {
        out[1] = 126;
        out[2] = static_cast<unsigned char>(size >> 8);
        out[3] = static_cast<unsigned char>(size);
        return 4;
    }
    out[1] = 127;
    auto v = static_cast<std::uint64_t>(size);
    for (int i = 0; i < 8; ++i)
        out[2 + i] = static_cast<unsigned char>(v >> (8 * (7 - i)));
    return 10;
}

std::string text_frame(std::string_view payload)
{
    unsigned char header[max_header_bytes];
    auto n = write_header(header, true, op_text, payload.size());
    std::string frame;
    frame.reserve(n + payload.size());
    frame.append(reinterpret_cast<char const*>(header), n).append(payload);
    return frame;
}

std::string close_payload(unsigned code, std::string_view reason)
{
    std::string p;
    p.reserve(2 + reason.size());
    p.push_back(static_cast<char>((code >> 8) & 0xff));
    p.push_back(static_cast<char>(code & 0xff));
    // A control frame carries at most 125 bytes: the reason gets 123 of them.
    p.append(reason.substr(0, 123));
    return p;
}

void frame_reader::refuse(item& out, unsigned code, char const* reason, bool fatal)
{
    out.kind = item::refused;
    out.code = code;
    out.payload = reason;
    out.fatal = fatal;
    // Whatever follows is not delivered: the connection is closing.
    discard_ = true;
    failed_ = fatal;
    skip_ = true;
    in_message_ = false;
    message_.clear();
    message_.shrink_to_fit();
}

std::uint64_t frame_reader::decode_header()
{
    fin_ = (header_[0] & 0x80) != 0;
    opcode_ = header_[0] & 0x0f;
    std::uint64_t len = header_[1] & 0x7f;
    std::size_t pos = 2;
    if (len == 126) {
        len = (std::uint64_t{header_[2]} << 8) | header_[3];
        pos = 4;
    } else if (len == 127) {
        len = 0;
        for (std::size_t k = 0; k < 8; ++k)
            len = (len << 8) | header_[2 + k];
        pos = 10;
    }
    if (header_[1] & 0x80)
        std::copy_n(header_.begin() + static_cast<std::ptrdiff_t>(pos), 4, mask_.begin());
    header_have_ = 0;
    header_need_ = 2;
    in_payload_ = true;
    remaining_ = len;
    mask_offset_ = 0;
    skip_ = discard_;
    return len;
}

std::optional<frame_reader::refusal> frame_reader::check_frame(std::uint64_t len) const
{
    // RFC 6455 section 5.2 and 5.5: the rules every frame must follow.
    if (header_[0] & 0x70)
        return refusal{1002, "Protocol error: reserved bits set (no extension was negotiated)"};
    if (!(header_[1] & 0x80))
        return refusal{1002, "Protocol error: client frames must be masked"};
    if (len >> 63)
        return refusal{1002, "Protocol error: invalid payload length"};
    if (opcode_ & 0x8) {
        if (opcode_ != op_close && opcode_ != op_ping && opcode_ != op_pong)
            return refusal{1002, "Protocol error: unknown opcode"};
        if (!fin_)
            return refusal{1002, "Protocol error: fragmented control frame"};
        if (len > 125)
            return refusal{1002, "Protocol error: control frame payload over 125 bytes"};
        return std::nullopt;
    }
    if (opcode_ != op_continuation && opcode_ != op_text && opcode_ != op_binary)
        return refusal{1002, "Protocol error: unknown opcode"};
    if (discard_)
        return std::nullopt; // after a refusal only the frame rules matter
    if (opcode_ == op_continuation && !in_message_)
        return refusal{1002, "Protocol error: continuation frame with no message to continue"};
    if (opcode_ != op_continuation && in_message_)
        return refusal{1002, "Protocol error: new message before the previous one ended"};
    // contract(binary-frame): binary frames are not supported -> close 1003.
    if (opcode_ == op_binary)
        return refusal{1003, "Binary frames are not supported", false};
    // contract(frame-size, message-size): a frame over 32 KB or a message over 128 KB -> 1009.
    if (len > max_frame_ || message_.size() + len > max_message_)
        return refusal{1009, "Message too big", false};
    return std::nullopt;
}

bool frame_reader::header_complete(item& out)
{
    auto len = decode_header();
    if (auto r = check_frame(len)) {
        refuse(out, r->code, r->reason, r->fatal);
        return false;
    }
    if (opcode_ & 0x8) {
        skip_ = false;
        control_.clear();
    } else if (!discard_) {
        in_message_ = true;
    }
    return true;
}

void frame_reader::frame_complete(item& out)
{
    in_payload_ = false;
    if (skip_)
        return;
    switch (opcode_) {
    case op_ping:
        out.kind = item::ping;
        out.payload = std::move(control_);
        control_.clear();
        return;
    case op_pong:
        out.kind = item::pong;
        control_.clear();
        return;
    case op_close: {
        if (control_.empty()) {
            out.kind = item::close;
            out.code = 1005; // no status code in the frame
            out.payload.clear();
            return;
        }
        if (control_.size() == 1)
            return refuse(out, 1002, "Protocol error: close frame with a 1-byte payload", true);
        auto code = (unsigned{static_cast<unsigned char>(control_[0])} << 8) |
                    static_cast<unsigned char>(control_[1]);
        if (!valid_close_code(code))
            return refuse(out, 1002, "Protocol error: invalid close code", true);
        auto reason = std::string_view(control_).substr(2);
        if (!core::is_valid_utf8(reason))
            return refuse(out, 1007, "Invalid UTF-8 in the close reason", true);
        out.kind = item::close;
        out.code = code;
        out.payload = std::string(reason);
        control_.clear();
        return;
    }
    default:
        if (!fin_)
            return; // more frames of this message follow
        in_message_ = false;
        if (!core::is_valid_utf8(message_))
            return refuse(out, 1007, "Invalid UTF-8 in a text frame", false);
        out.kind = item::message;
        out.payload = std::move(message_);
        message_ = std::string();
        return;
    }
}

std::size_t frame_reader::parse(unsigned char const* p, std::size_t n, item& out)
{
    out.kind = item::none;
    if (failed_)
        return n; // the stream is no longer frames
    std::size_t i = 0;
    while (i < n) {
        if (!in_payload_) {
            while (i < n && header_have_ < header_need_) {
                header_[header_have_++] = p[i++];
                if (header_have_ == 2) {
                    auto len7 = header_[1] & 0x7f;
                    header_need_ = 2 +
                                   (len7 == 126   ? 2
                                    : len7 == 127 ? 8
                                                  : 0) +
                                   ((header_[1] & 0x80) ? 4 : 0);
                }
            }
            if (header_have_ < header_need_)
                return i;
            if (!header_complete(out))
                return failed_ ? n : i;
            if (remaining_ == 0) {
                frame_complete(out);
                if (out.kind != item::none)
                    return i;
                continue;
            }
        }
        auto take = static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, n - i));
        if (!skip_) {
            auto& dst = (opcode_ & 0x8) ? control_ : message_;
            auto at = dst.size();
            dst.append(reinterpret_cast<char const*>(p + i), take);
            unmask(reinterpret_cast<unsigned char*>(dst.data()) + at, take, mask_, mask_offset_);
        }
        mask_offset_ = (mask_offset_ + take) & 3;
        remaining_ -= take;
        i += take;
        if (remaining_ == 0) {
            frame_complete(out);
            if (out.kind != item::none)
                return i;
        }
    }
    return i;
}

} // namespace chatd::server::ws
