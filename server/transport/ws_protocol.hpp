#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

/// The WebSocket protocol (RFC 6455) as chatd's server side speaks it, without any I/O: the
/// opening handshake's key, frame headers, and an incremental reader of client frames. The
/// session feeds it whatever bytes the socket gave and acts on what comes out.
namespace chatd::server::ws {

enum opcode : std::uint8_t
{
    op_continuation = 0x0,
    op_text = 0x1,
    op_binary = 0x2,
    op_close = 0x8,
    op_ping = 0x9,
    op_pong = 0xA
};

/// Sec-WebSocket-Key is well-formed: base64 of 16 bytes (RFC 6455 section 4.2.1).
bool valid_client_key(std::string_view key);

/// Sec-WebSocket-Accept for a client key (RFC 6455 section 4.2.2); nothing when OpenSSL
/// cannot compute the SHA-1 (out of memory, or a build that disables it).
std::optional<std::string> accept_key(std::string_view client_key);

/// A close code a peer may put in its close frame (RFC 6455 section 7.4).
bool valid_close_code(unsigned code);

/// Largest header of an unmasked server frame.
constexpr std::size_t max_header_bytes = 10;

/// Write the header of one unmasked server frame into `out`; returns its length.
std::size_t write_header(unsigned char* out, bool fin, std::uint8_t opcode, std::size_t size);

/// One whole unmasked, final text frame, header and payload in one string: what is written
/// as is, to any number of connections.
std::string text_frame(std::string_view payload);

/// The payload of a close frame: the code in network order, then the reason.
std::string close_payload(unsigned code, std::string_view reason);

/// Reads client frames incrementally. Limits are API Gateway's: a frame's payload over
/// `max_frame` or a message over `max_message` is refused with 1009; binary messages with 1003.
class frame_reader
{
public:
    struct item
    {
        enum kind_t
        {
            none,    ///< nothing complete yet: feed more bytes
            message, ///< a complete text message in `payload`
            ping,    ///< a ping; `payload` is what the pong must carry
            pong,
            close,  ///< the client's close frame: `code` (1005: none) and `payload` (reason)
            refused ///< the client broke a rule: `code` and `payload` (reason) for our close
        };

        kind_t kind = none;
        unsigned code = 0;
        std::string payload;
        /// For `refused`: the byte stream can no longer be parsed as frames (the connection
        /// is closed right after our close frame, without waiting for the client's).
        bool fatal = false;
    };

    frame_reader(std::size_t max_frame, std::size_t max_message)
        : max_frame_(max_frame)
        , max_message_(max_message)
    {}

    /// Consume bytes from [p, p + n) until one item is complete or the bytes run out;
    /// returns how many were consumed. Call again with the rest while items come out.
    std::size_t parse(unsigned char const* p, std::size_t n, item& out);

    /// From now on data frames are skipped unread (the connection is closing); control
    /// frames are still reported.
    void discard_data() { discard_ = true; }

    /// Bytes held for a message still being assembled (memory accounting and tests).
    std::size_t buffered() const { return message_.size(); }

private:
    /// Why a frame is refused: the close code, its reason, and whether reading stops (a
    /// protocol error) or only the message is dropped while its frames are read past.
    struct refusal
    {
        unsigned code;
        char const* reason;
        bool fatal = true;
    };

    void refuse(item& out, unsigned code, char const* reason, bool fatal);
    /// Take the frame's fields out of the complete header and start reading its payload;
    /// returns the payload length.
    std::uint64_t decode_header();
    /// The first rule of RFC 6455 (or of API Gateway's limits) the decoded frame breaks.
    std::optional<refusal> check_frame(std::uint64_t len) const;
    bool header_complete(item& out);
    void frame_complete(item& out);

    std::size_t max_frame_;
    std::size_t max_message_;
    // The frame being read.
    std::array<unsigned char, 14> header_{};
    std::size_t header_have_ = 0;
    std::size_t header_need_ = 2;
    bool in_payload_ = false;
    bool fin_ = false;
    std::uint8_t opcode_ = 0;
    std::array<unsigned char, 4> mask_{};
    std::uint64_t remaining_ = 0;
    std::size_t mask_offset_ = 0;
    bool skip_ = false; ///< this frame's payload is not kept
    // The message being assembled across frames, and the current control frame's payload.
    bool in_message_ = false;
    std::string message_;
    std::string control_;
    bool discard_ = false;
    bool failed_ = false;
};

} // namespace chatd::server::ws
