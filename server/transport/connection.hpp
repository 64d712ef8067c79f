#pragma once

#include <chatd/core/clock.hpp>
#include <chatd/core/event.hpp>

#include <memory>
#include <string>

namespace chatd::server {

/// Result of handing a frame to a connection (PostToConnection's outcomes).
enum class post_status
{
    ok,   ///< queued for sending
    gone, ///< no such open connection (410)
    limit ///< the client is not reading and its queue is full (429); it is being dropped
};

/// One WebSocket connection as the layers above the transport see it: something to send
/// frames to and close. The I/O thread's; every member function must be called there.
class connection
{
public:
    virtual ~connection() = default;

    /// Queue one text message. The same buffer may be shared by many connections.
    virtual post_status deliver(std::shared_ptr<std::string const> payload) = 0;

    /// Queue a whole frame made by ws::text_frame, of a message no longer than
    /// max_frame_out, shared by many connections; `now` is the time of the post. Written as
    /// it is: no header is built.
    virtual post_status deliver_frame(std::shared_ptr<std::string const> const& frame,
                                      core::epoch_ms now) = 0;

    /// Close with a close frame after what is queued; the close event will carry `code` and
    /// `reason`. Nothing happens when the connection is not open.
    virtual void close(int code, std::string reason) = 0;

    /// Drop the TCP connection at once (the client sees 1006).
    virtual void abort(int code, std::string reason) = 0;

    /// An event from this connection finished its integration; reading resumes if paused.
    virtual void event_done() = 0;

    /// Write what is queued now (see session_events::cork).
    virtual void uncork() = 0;

    /// Open: past the handshake and not closing.
    virtual bool is_open() const = 0;

    /// Outgoing messages longer than this are sent as several frames (as API Gateway does).
    static constexpr std::size_t max_frame_out = 32 * 1024;

    core::connection_info const& info() const { return info_; }

    core::epoch_ms last_active() const { return last_active_; }

    void touch(core::epoch_ms now) { last_active_ = now; }

protected:
    explicit connection(core::connection_info info)
        : info_(std::move(info))
        , last_active_(info_.connected_at)
    {}

    core::connection_info info_;
    core::epoch_ms last_active_;
};

/// What a WebSocket session tells the layer above it (the gateway), and asks of it. Sessions
/// hold a reference; every call happens on the I/O thread.
class session_events
{
public:
    /// The handshake is complete: `c` can now receive posts.
    virtual void on_open(std::shared_ptr<connection> const& c) = 0;

    /// A complete text message arrived. The session counts it as in flight until
    /// connection::event_done().
    virtual void on_message(std::shared_ptr<connection> const& c, std::string text) = 0;

    /// The connection ended, after on_open or after a handshake whose 101 could not be
    /// written. Called exactly once per session that was started.
    virtual void on_close(core::connection_info const& info, int code, std::string reason) = 0;

    /// `c` has frames queued: call c.uncork() after the current handler, once for everything
    /// queued meanwhile, so a fan-out to N clients costs one post, not N, and each client gets
    /// everything queued for it in one system call. `c` stays alive until then.
    virtual void cork(connection& c) = 0;

    /// The time the connection's activity is measured in.
    virtual core::clock const& clock() const = 0;

protected:
    ~session_events() = default;
};

} // namespace chatd::server
