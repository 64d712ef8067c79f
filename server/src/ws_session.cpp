#include "ws_session.hpp"

#include <algorithm>
#include <array>
#include <chrono>

#include "gateway.hpp"

namespace chatd::server {
namespace {

/// API Gateway's limits that Beast enforces for us.
constexpr std::size_t max_message_bytes = 128 * 1024; // larger message: close 1009
constexpr std::size_t max_frame_bytes = 32 * 1024;    // larger frame: close 1009
constexpr std::size_t max_frame_out = 32 * 1024;      // outgoing frames are split at 32 KB
constexpr std::size_t first_read_bytes = 256;         // the read an idle connection waits in

} // namespace

ws_session::ws_session(transport stream, gateway& gw, core::connection_info info, limits lim)
    : ws_(std::move(stream), max_frame_bytes)
    , timer_(ws_.get_executor())
    , gw_(gw)
    , info_(std::move(info))
    , limits_(lim)
    , last_active_(info_.connected_at)
{}

void ws_session::start(http::request<http::string_body> req, std::optional<std::string> subprotocol)
{
    upgrade_request_ = std::move(req);
    websocket::stream_base::timeout t{};
    t.handshake_timeout = std::chrono::seconds(5); // also bounds the close handshake
    t.idle_timeout = websocket::stream_base::none();
    t.keep_alive_pings = false; // API Gateway sends no pings
    ws_.set_option(t);
    ws_.set_option(websocket::stream_base::decorator(
        [subprotocol = std::move(subprotocol)](websocket::response_type& res) {
            res.set(http::field::server, "chatd");
            // contract(subprotocol): only the $connect result's Sec-WebSocket-Protocol reaches
            // the 101.
            if (subprotocol)
                res.set(http::field::sec_websocket_protocol, *subprotocol);
        }));
    ws_.read_message_max(max_message_bytes);
    // A client's ping or pong is traffic too: it keeps the idle timer from firing.
    ws_.control_callback([this](websocket::frame_type kind, beast::string_view) {
        if (kind != websocket::frame_type::close)
            touch(gw_.clock().now());
    });
    ws_.async_accept(upgrade_request_,
                     [self = shared_from_this()](error_code ec) { self->on_accept(ec); });
}

void ws_session::on_accept(error_code ec)
{
    upgrade_request_ = {};
    if (ec) {
        // $connect succeeded, so the connection existed for the integration: it must hear
        // $disconnect.
        state_ = state::closed;
        gw_.on_closed(info_, 1006, "");
        return;
    }
    state_ = state::open;
    gw_.opened(shared_from_this());
    arm_timer();
    do_read();
}

void ws_session::do_read()
{
    reading_ = true;
    // An idle connection waits with a small buffer: the first piece of a message is read with a
    // small limit (most chat frames fit in it), the rest with Beast's own sizing. A whole-message
    // read would have Beast size the buffer for a full TCP frame before any data arrives.
    read_piece(first_read_bytes);
}

void ws_session::read_piece(std::size_t limit)
{
    ws_.async_read_some(buffer_, limit, [self = shared_from_this()](error_code ec, std::size_t) {
        if (!ec && !self->ws_.is_message_done())
            return self->read_piece(0); // 0: Beast picks the size
        self->reading_ = false;
        self->on_read(ec);
    });
}

void ws_session::reset_buffer()
{
    buffer_.clear();
    // Keep a small buffer for the next message; give back what a large one needed.
    if (buffer_.capacity() > 4 * first_read_bytes)
        buffer_.shrink_to_fit();
}

void ws_session::on_read(error_code ec)
{
    if (ec)
        return finish(ec);
    if (state_ != state::open) {
        // Closing: discard what the client still sends until its close frame arrives.
        reset_buffer();
        return do_read();
    }
    if (ws_.next_layer().frame_too_big()) {
        // contract(frame-size): a frame over 32 KB closes the connection with 1009.
        reset_buffer();
        close(1009, "Message too big");
        return do_read();
    }
    if (!ws_.got_text()) {
        // contract(binary-frame): binary frames are not supported -> close 1003.
        reset_buffer();
        close(1003, "Binary frames are not supported");
        return do_read();
    }
    auto text = beast::buffers_to_string(buffer_.data());
    reset_buffer();
    ++in_flight_;
    gw_.on_frame(shared_from_this(), std::move(text));
    // Backpressure: stop reading while too many of this client's events are in flight; the
    // client's own TCP window then holds further frames.
    // (event_done may already have restarted reading if the event finished synchronously.)
    if (!reading_ && in_flight_ < limits_.in_flight && state_ == state::open)
        do_read();
}

void ws_session::event_done()
{
    if (in_flight_ > 0)
        --in_flight_;
    if (!reading_ && state_ == state::open && in_flight_ < limits_.in_flight)
        do_read();
}

post_status ws_session::deliver(std::shared_ptr<std::string const> frame)
{
    if (state_ != state::open)
        return post_status::gone;
    if (queued_bytes_ + frame->size() > limits_.queue_bytes) {
        abort(1006, "Client is not reading: write queue full");
        return post_status::limit;
    }
    queued_bytes_ += frame->size();
    queue_.push_back(std::move(frame));
    last_active_ = gw_.clock().now();
    // Cork: start the write after the current handler, so every frame queued for this client
    // in the meantime goes out in the same system call.
    if (!writing_ && !write_scheduled_) {
        write_scheduled_ = true;
        net::post(ws_.get_executor(), [self = shared_from_this()] {
            self->write_scheduled_ = false;
            if (!self->writing_ && !self->queue_.empty() && self->state_ != state::closed)
                self->write_if_open();
        });
    }
    return post_status::ok;
}

namespace {

/// Append the header of one unmasked server frame (RFC 6455 section 5.2).
void frame_header(
    std::array<unsigned char, 10>& h, std::size_t& len, bool fin, int opcode, std::size_t size)
{
    h[0] = static_cast<unsigned char>((fin ? 0x80 : 0) | opcode);
    if (size < 126) {
        h[1] = static_cast<unsigned char>(size);
        len = 2;
    } else if (size < 65536) {
        h[1] = 126;
        h[2] = static_cast<unsigned char>(size >> 8);
        h[3] = static_cast<unsigned char>(size);
        len = 4;
    } else {
        h[1] = 127;
        for (int i = 0; i < 8; ++i)
            h[2 + i] =
                static_cast<unsigned char>(static_cast<std::uint64_t>(size) >> (8 * (7 - i)));
        len = 10;
    }
}

/// Frames per system call, and bytes, at most: enough to amortise the syscall, small enough
/// to keep one client's burst from hogging the loop.
constexpr std::size_t max_frames_per_write = 256;
constexpr std::size_t max_bytes_per_write = 256 * 1024;

} // namespace

void ws_session::write_if_open()
{
    // Once a close frame has gone either way no data frame may follow it, and the socket may
    // already be shut down for sending: what is still queued is dropped.
    if (!ws_.is_open())
        return drop_queue();
    do_write();
}

void ws_session::do_write()
{
    // Frame everything queued (up to the caps) and write it with one gather write. Each text
    // message longer than 32 KB goes out as a first frame plus continuation frames.
    writing_ = true;
    batch_count_ = 0;
    headers_.clear();
    header_lengths_.clear();
    std::size_t bytes = 0;
    for (auto const& msg : queue_) {
        if (batch_count_ > 0 &&
            (batch_count_ >= max_frames_per_write || bytes + msg->size() > max_bytes_per_write))
            break;
        std::size_t offset = 0;
        do {
            auto piece = std::min(max_frame_out, msg->size() - offset);
            bool last = offset + piece == msg->size();
            headers_.emplace_back();
            header_lengths_.emplace_back();
            frame_header(headers_.back(), header_lengths_.back(), last, offset == 0 ? 1 : 0, piece);
            offset += piece;
        } while (offset < msg->size());
        bytes += msg->size();
        ++batch_count_;
    }
    // Buffers point into headers_ and the queued payloads, which stay put until on_write.
    std::vector<net::const_buffer> buffers;
    buffers.reserve(headers_.size() * 2);
    std::size_t h = 0;
    for (std::size_t i = 0; i < batch_count_; ++i) {
        auto const& msg = *queue_[i];
        std::size_t offset = 0;
        do {
            auto piece = std::min(max_frame_out, msg.size() - offset);
            buffers.emplace_back(headers_[h].data(), header_lengths_[h]);
            buffers.emplace_back(msg.data() + offset, piece);
            offset += piece;
            ++h;
        } while (offset < msg.size());
    }
    ws_.next_layer().write_raw(std::move(buffers),
                               [self = shared_from_this()](error_code ec) { self->on_write(ec); });
}

void ws_session::on_write(error_code ec)
{
    writing_ = false;
    auto written = std::min(batch_count_, queue_.size());
    for (std::size_t i = 0; i < written; ++i)
        queued_bytes_ -= queue_[i]->size();
    queue_.erase(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(written));
    batch_count_ = 0;
    if (queue_.empty() && queue_.capacity() > 64) {
        // A burst is over: give its memory back, idle connections should stay small.
        queue_.shrink_to_fit();
        headers_.clear();
        headers_.shrink_to_fit();
        header_lengths_.clear();
        header_lengths_.shrink_to_fit();
    }
    if (ec) {
        drop_queue();
        // A client that vanished: close, and the read side ends. During a close handshake
        // Beast is already tearing the connection down: leave it to finish, so the close code
        // the client sent is what $disconnect sees.
        if (ws_.is_open()) {
            error_code ignored;
            beast::get_lowest_layer(ws_).close(ignored);
        }
        return;
    }
    if (!queue_.empty() && state_ != state::closed)
        return write_if_open();
    if (close_pending_) {
        close_pending_ = false;
        do_close();
    }
}

void ws_session::close(int code, std::string reason)
{
    if (state_ != state::open)
        return;
    state_ = state::closing;
    close_cause_.emplace(code, std::move(reason));
    if (writing_)
        close_pending_ = true; // after the queued frames
    else
        do_close();
}

void ws_session::arm_timer()
{
    // One timer covers both limits: it fires at the earlier deadline and re-arms itself.
    auto now = gw_.clock().now();
    auto idle_at = last_active_ + limits_.idle_timeout.count();
    auto max_at = info_.connected_at + limits_.max_duration.count();
    auto wait = std::max<core::epoch_ms>(0, std::min(idle_at, max_at) - now);
    timer_.expires_after(std::chrono::milliseconds(wait));
    timer_.async_wait([self = shared_from_this()](error_code ec) { self->on_timer(ec); });
}

void ws_session::on_timer(error_code ec)
{
    if (ec || state_ != state::open)
        return;
    auto now = gw_.clock().now();
    // contract(idle-timeout, max-duration): both close with 1001 "Going away".
    if (now >= info_.connected_at + limits_.max_duration.count() ||
        now >= last_active_ + limits_.idle_timeout.count())
        return close(1001, "Going away");
    arm_timer();
}

void ws_session::drop_queue()
{
    // Frames being written must outlive the write that reads them: keep the batch then.
    auto keep = writing_ ? std::min(batch_count_, queue_.size()) : std::size_t{0};
    while (queue_.size() > keep) {
        queued_bytes_ -= queue_.back()->size();
        queue_.pop_back();
    }
}

void ws_session::do_close()
{
    websocket::close_reason cr(static_cast<std::uint16_t>(close_cause_->first));
    cr.reason = close_cause_->second;
    ws_.async_close(cr, [self = shared_from_this()](error_code) {
        // Either the client answered or the close timed out; in both cases we are done.
        if (!self->reading_)
            self->finish(websocket::error::closed);
    });
}

void ws_session::abort(int code, std::string reason)
{
    if (state_ == state::closed)
        return;
    if (!close_cause_)
        close_cause_.emplace(code, std::move(reason));
    state_ = state::closing;
    drop_queue();
    error_code ignored;
    beast::get_lowest_layer(ws_).close(ignored);
    if (!reading_)
        finish(net::error::operation_aborted);
}

void ws_session::finish(error_code ec)
{
    if (state_ == state::closed)
        return;
    state_ = state::closed;
    int code = 1006;
    std::string reason;
    if (close_cause_) {
        code = close_cause_->first;
        reason = close_cause_->second;
    } else if (ec == websocket::error::closed) {
        // contract(disconnect-codes): a close frame without a code is reported as 1005.
        auto const& r = ws_.reason();
        if (r.code == websocket::close_code::none || r.code == 1005) {
            code = 1005;
            reason = "Client-side close frame status not set";
        } else {
            code = r.code;
            reason = std::string(r.reason.c_str());
        }
    } else if (ec == websocket::error::message_too_big) {
        code = 1009; // contract(message-size): over 128 KB -> 1009
        reason = "Message too big";
    } else if (ec == websocket::error::bad_frame_payload) {
        code = 1007;
        reason = "Invalid UTF-8 in a text frame";
    } else if (ec.category() == error_code(websocket::error::closed).category()) {
        code = 1002;
        reason = "Protocol error";
    }
    drop_queue();
    timer_.cancel();
    gw_.on_closed(info_, code, std::move(reason));
}

} // namespace chatd::server
