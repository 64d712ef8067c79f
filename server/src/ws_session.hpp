#pragma once

#include <chatd/core/event.hpp>

#include <array>
#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "frame_guard.hpp"
#include "net.hpp"
#include "transport.hpp"

namespace chatd::server {

class gateway;

/// Result of handing a frame to a connection (PostToConnection's outcomes).
enum class post_status
{
    ok,   ///< queued for sending
    gone, ///< no such open connection (410)
    limit ///< the client is not reading and its queue is full (429); it is being dropped
};

/// One accepted WebSocket connection: transport only. Reads frames and hands them to the
/// gateway; writes frames from a bounded queue; reports its end to the gateway exactly once.
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

    /// Complete the handshake for `req` ($connect has already succeeded). On success the
    /// gateway is told (opened) and reading starts; on failure the gateway gets the close.
    void start(http::request<http::string_body> req, std::optional<std::string> subprotocol);

    /// Queue one text frame. The same buffer may be shared by many sessions.
    post_status deliver(std::shared_ptr<std::string const> frame);

    /// Server-initiated close: frames already queued go out first, then the close frame.
    /// `$disconnect` will carry `code` and `reason`.
    void close(int code, std::string reason);

    /// Drop the TCP connection at once (the client sees 1006).
    void abort(int code, std::string reason);

    /// An event from this connection finished its integration; reading resumes if paused.
    void event_done();

    core::connection_info const& info() const { return info_; }

    bool is_open() const { return state_ == state::open; }

    core::epoch_ms last_active() const { return last_active_; }

    void touch(core::epoch_ms now) { last_active_ = now; }

private:
    enum class state
    {
        handshaking,
        open,
        closing,
        closed
    };

    void on_accept(error_code ec);
    void do_read();
    void read_piece(std::size_t limit);
    void reset_buffer();
    void on_read(error_code ec);
    void write_if_open();
    void do_write();
    void on_write(error_code ec);
    void do_close();
    void arm_timer();
    void on_timer(error_code ec);
    void drop_queue();
    void finish(error_code ec);

    // The plain socket (or the TLS stream) under the frame guard: the HTTP phase's timers and
    // stream state are left behind with the tcp_stream (~0.5 KB per idle connection).
    websocket::stream<frame_guard<transport>> ws_;
    net::steady_timer timer_;
    gateway& gw_;
    core::connection_info info_;
    limits limits_;
    state state_ = state::handshaking;
    beast::flat_buffer buffer_;
    std::vector<std::shared_ptr<std::string const>> queue_; // (a deque costs ~600 B even empty)
    std::size_t queued_bytes_ = 0;
    bool writing_ = false;
    bool write_scheduled_ = false;
    std::size_t batch_count_ = 0; ///< queued messages in the write in progress
    std::vector<std::array<unsigned char, 10>> headers_;
    std::vector<std::size_t> header_lengths_;
    bool reading_ = false;
    bool close_pending_ = false;
    std::size_t in_flight_ = 0;
    std::optional<std::pair<int, std::string>> close_cause_;
    core::epoch_ms last_active_ = 0;
    http::request<http::string_body> upgrade_request_;
};

} // namespace chatd::server
