#pragma once

#include <chatd/core/event.hpp>

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "net.hpp"
#include "transport.hpp"
#include "ws_protocol.hpp"

namespace chatd::server {

class gateway;

/// Result of handing a frame to a connection (PostToConnection's outcomes).
enum class post_status
{
    ok,   ///< queued for sending
    gone, ///< no such open connection (410)
    limit ///< the client is not reading and its queue is full (429); it is being dropped
};

/// One accepted WebSocket connection: transport only. Reads frames (RFC 6455, our own
/// ws::frame_reader) and hands complete text messages to the gateway; writes frames from a
/// bounded queue, everything queued in one gather write; answers pings; runs the close
/// handshake; reports its end to the gateway exactly once.
/// Lives on the I/O thread; every member function must be called there.
class ws_session : public std::enable_shared_from_this<ws_session>
{
public:
    struct limits
    {
        std::size_t queue_bytes; ///< bytes queued for sending before the client is dropped
        std::size_t in_flight;   ///< events awaiting their integration before reading pauses
        std::chrono::milliseconds idle_timeout; ///< no traffic either way: close 1001
        std::chrono::milliseconds max_duration; ///< connection age: close 1001
    };

    ws_session(transport stream, gateway& gw, core::connection_info info, limits lim);

    /// Send the 101 for a handshake already checked (ws::valid_client_key) and whose $connect
    /// succeeded. Once it is written the gateway is told (opened) and reading starts; if it
    /// cannot be written the gateway gets the close.
    void start(std::string_view client_key, std::optional<std::string> subprotocol);

    /// Outgoing messages longer than this are sent as several frames (as API Gateway does).
    static constexpr std::size_t max_frame_out = 32 * 1024;

    /// Queue one text message. The same buffer may be shared by many sessions.
    post_status deliver(std::shared_ptr<std::string const> payload);

    /// Queue a whole frame made by ws::text_frame, of a message no longer than max_frame_out,
    /// shared by many sessions; `now` is the time of the post. Written as it is: no header is
    /// built and the frame is one piece of the write, a single-buffer `send` when it is alone.
    post_status deliver_frame(std::shared_ptr<std::string const> const& frame, core::epoch_ms now);

    /// Server-initiated close: frames already queued go out first, then the close frame.
    /// `$disconnect` will carry `code` and `reason`.
    void close(int code, std::string reason);

    /// Drop the TCP connection at once (the client sees 1006).
    void abort(int code, std::string reason);

    /// An event from this connection finished its integration; reading resumes if paused.
    void event_done();

    /// The gateway's cork is drained: write what is queued (see gateway::cork).
    void uncork();

    core::connection_info const& info() const { return info_; }

    bool is_open() const { return state_ == state::open; }

    core::epoch_ms last_active() const { return last_active_; }

    void touch(core::epoch_ms now) { last_active_ = now; }

private:
    enum class state
    {
        handshaking,
        open,
        closing, ///< a close frame is queued or sent, or the client's arrived
        closed
    };

    /// One frame waiting to be written: a shared message, or a pong or close of our own.
    struct out_frame
    {
        std::shared_ptr<std::string const> payload;
        std::uint8_t opcode; ///< or whole_frame: `payload` is the frame, header included
    };

    static constexpr std::uint8_t whole_frame = 0xff; // (not an RFC 6455 opcode)

    /// Checks a post of `bytes` against the state and the queue limit (dropping a client that
    /// is not reading) and marks the connection active.
    post_status admit(std::size_t bytes, core::epoch_ms now);

    void on_handshake_written(error_code ec);
    void do_read();
    void on_readable(error_code ec);
    void on_bytes(error_code ec, unsigned char const* p, std::size_t n);
    void consume(unsigned char const* p, std::size_t n);
    bool handle(ws::frame_reader::item& item);
    bool paused() const;

    /// Nothing more is read: the session ended, the client's close frame arrived, or its
    /// bytes are no longer frames.
    bool reading_over() const { return state_ == state::closed || fatal_ || close_received_; }

    void resume();
    void enqueue(std::shared_ptr<std::string const> payload, std::uint8_t opcode);
    void schedule_write();
    void do_write();
    void write_rest(std::size_t first); ///< wait, then write gather_ from `first` on
    void on_write(error_code ec);
    void send_close(unsigned code, std::string_view reason);
    void shut_down();
    void arm_timer();
    void arm_close_timer();
    void on_timer(error_code ec);
    void drop_queue();
    void finish();

    transport stream_;
    net::steady_timer timer_;
    gateway& gw_;
    core::connection_info info_;
    limits limits_;
    state state_ = state::handshaking;
    ws::frame_reader reader_;
    std::string unread_; ///< bytes read but not parsed while reading is paused
    std::unique_ptr<unsigned char[]> tls_buffer_; ///< TLS reads land here (plain ones do not)
    std::vector<out_frame> queue_;                // (a deque costs ~600 B even empty)
    std::size_t queued_bytes_ = 0;
    std::size_t batch_count_ = 0; ///< queued frames in the write in progress

    struct header
    {
        std::array<unsigned char, ws::max_header_bytes> bytes;
        std::uint8_t size;
    };

    std::vector<header> headers_;           ///< frame headers of the write in progress
    std::vector<net::const_buffer> gather_; ///< headers and payloads of the write in progress
    std::string handshake_;                 ///< the 101 response while it is being written
    bool writing_ = false;
    bool write_scheduled_ = false;
    bool reading_ = false;
    bool parsing_ = false;
    bool close_sent_ = false;     ///< our close frame is on the wire
    bool close_received_ = false; ///< the client's close frame arrived
    bool fatal_ = false;          ///< the client's bytes are no longer frames: stop reading
    bool shutting_down_ = false;
    std::size_t in_flight_ = 0;
    std::optional<std::pair<int, std::string>> close_cause_; ///< ours, when we closed first
    std::optional<std::pair<int, std::string>> client_close_;
    core::epoch_ms last_active_ = 0;
};

} // namespace chatd::server
