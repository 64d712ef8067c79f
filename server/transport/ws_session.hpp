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

#include "transport/connection.hpp"
#include "transport/net.hpp"
#include "transport/transport.hpp"
#include "transport/ws_protocol.hpp"

namespace chatd::server {

/// API Gateway's WebSocket limits on what a client sends.
constexpr std::size_t max_ws_message_bytes = 128 * 1024; ///< larger message: close 1009
constexpr std::size_t max_ws_frame_bytes = 32 * 1024;    ///< larger frame: close 1009

/// One accepted WebSocket connection: transport only. Reads frames (RFC 6455, our own
/// ws::frame_reader) and hands complete text messages to its session_events; writes frames
/// from a bounded queue, everything queued in one gather write; answers pings; runs the close
/// handshake; reports its end exactly once.
///
/// `Stream` is transport in chatd and a fake in the unit tests; see transport for what it
/// must do. Lives on the I/O thread; every member function must be called there.
template <class Stream>
class basic_ws_session final : public connection,
                               public std::enable_shared_from_this<basic_ws_session<Stream>>
{
public:
    struct limits
    {
        std::size_t queue_bytes; ///< bytes queued for sending before the client is dropped
        std::size_t in_flight;   ///< events awaiting their integration before reading pauses
        std::chrono::milliseconds idle_timeout; ///< no traffic either way: close 1001
        std::chrono::milliseconds max_duration; ///< connection age: close 1001
        /// How long the 101 may take to write, and the client to answer our close.
        std::chrono::milliseconds handshake_timeout = std::chrono::seconds(5);
    };

    basic_ws_session(Stream stream, session_events& events, core::connection_info info, limits lim);

    /// Send the 101 for a handshake already checked and whose $connect succeeded; `accept` is
    /// its Sec-WebSocket-Accept (ws::accept_key). Once it is written on_open is called and
    /// reading starts; if it cannot be written, on_close.
    void start(std::string_view accept, std::optional<std::string> subprotocol);

    post_status deliver(std::shared_ptr<std::string const> payload) override;
    post_status deliver_frame(std::shared_ptr<std::string const> const& frame,
                              core::epoch_ms now) override;

    /// Server-initiated close: frames already queued go out first, then the close frame.
    void close(int code, std::string reason) override;

    void abort(int code, std::string reason) override;
    void event_done() override;
    void uncork() override;

    bool is_open() const override { return state_ == state::open; }

private:
    enum class state
    {
        handshaking, ///< the 101 is being written
        open,
        closing, ///< a close frame is queued or sent, or the client's arrived
        closed   ///< the end is reported; nothing more happens
    };

    /// How a queued frame is written.
    enum class framing : std::uint8_t
    {
        message, ///< `payload` is a text message: headers are built, split at max_frame_out
        control, ///< `payload` is a pong's or close's payload (`opcode`)
        whole    ///< `payload` is a frame made by ws::text_frame, written as it is
    };

    /// One frame waiting to be written.
    struct out_frame
    {
        std::shared_ptr<std::string const> payload;
        framing kind;
        std::uint8_t opcode; ///< for control frames
    };

    /// Checks a post of `bytes` against the state and the queue limit (dropping a client that
    /// is not reading) and marks the connection active.
    post_status admit(std::size_t bytes, core::epoch_ms now);

    void on_handshake_written(error_code ec);
    void do_read();
    void on_bytes(error_code ec, unsigned char const* p, std::size_t n);
    void consume(unsigned char const* p, std::size_t n);
    bool handle(ws::frame_reader::item& item);
    void on_client_close(ws::frame_reader::item& item);
    void on_refused(ws::frame_reader::item& item);
    bool paused() const;

    /// Nothing more is read: the session ended, the client's close frame arrived, or its
    /// bytes are no longer frames.
    bool reading_over() const { return state_ == state::closed || fatal_ || close_received_; }

    void resume();
    void enqueue(out_frame f);
    void schedule_write();
    void do_write();
    std::size_t frame_batch();          ///< builds headers_ and gather_ for the next write
    void write_rest(std::size_t first); ///< wait, then write gather_ from `first` on
    void on_write(error_code ec);
    void send_close(unsigned code, std::string_view reason);
    void shut_down();
    void arm_timer();
    void arm_close_timer();
    void on_timer(error_code ec);
    void drop_queue();
    void finish();

    Stream stream_;
    net::steady_timer timer_;
    session_events& events_;
    limits limits_;
    state state_ = state::handshaking;
    ws::frame_reader reader_;
    std::string unread_;           ///< bytes read but not parsed while reading is paused
    std::vector<out_frame> queue_; // (a deque costs ~600 B even empty)
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
    bool writing_ = false;                  ///< a write is in progress (now or waiting)
    bool write_scheduled_ = false;          ///< corked: uncork() will write
    bool reading_ = false;                  ///< a read is in progress
    bool parsing_ = false;                  ///< consume() is on the stack
    bool close_sent_ = false;               ///< our close frame is on the wire
    bool close_received_ = false;           ///< the client's close frame arrived
    bool fatal_ = false;         ///< the client's bytes are no longer frames: stop reading
    bool shutting_down_ = false; ///< the TCP or TLS shutdown has started
    std::size_t in_flight_ = 0;
    std::optional<std::pair<int, std::string>> close_cause_; ///< ours, when we closed first
    std::optional<std::pair<int, std::string>> client_close_;
};

extern template class basic_ws_session<transport>;

/// chatd's WebSocket session.
using ws_session = basic_ws_session<transport>;

} // namespace chatd::server
