#pragma once

// The definitions of basic_ws_session, included where it is instantiated: ws_session.cpp for
// chatd's transport, the unit tests for their fake stream.

#include <algorithm>
#include <chrono>
#include <span>

#include "transport/ws_session.hpp"

namespace chatd::server {
namespace ws_session_detail {

/// Frames per system call, and bytes, at most: enough to amortise the syscall, small enough
/// to keep one client's burst from hogging the loop.
constexpr std::size_t max_frames_per_write = 256;
constexpr std::size_t max_bytes_per_write = 256 * 1024;

/// A subprotocol that can go into a header line as it is.
inline bool header_safe(std::string_view v)
{
    return v.find_first_of("\r\n") == std::string_view::npos;
}

/// Calls `fn(offset, length, last)` for each frame a text message of `size` bytes goes out
/// as: one frame, or a first frame and continuations of at most max_frame_out bytes each.
template <class Fn>
void for_each_frame(std::size_t size, Fn&& fn)
{
    std::size_t offset = 0;
    do {
        auto piece = std::min(connection::max_frame_out, size - offset);
        fn(offset, piece, offset + piece == size);
        offset += piece;
    } while (offset < size);
}

} // namespace ws_session_detail

template <class Stream>
basic_ws_session<Stream>::basic_ws_session(Stream stream,
                                           session_events& events,
                                           core::connection_info info,
                                           limits lim)
    : connection(std::move(info))
    , stream_(std::move(stream))
    , timer_(stream_.get_executor())
    , events_(events)
    , limits_(lim)
    , reader_(max_ws_frame_bytes, max_ws_message_bytes)
{}

template <class Stream>
void basic_ws_session<Stream>::start(std::string_view accept,
                                     std::optional<std::string> subprotocol)
{
    handshake_ = "HTTP/1.1 101 Switching Protocols\r\n"
                 "Upgrade: websocket\r\n"
                 "Connection: Upgrade\r\n"
                 "Sec-WebSocket-Accept: ";
    handshake_.append(accept).append("\r\n");
    // contract(subprotocol): only the $connect result's Sec-WebSocket-Protocol reaches the 101.
    if (subprotocol && ws_session_detail::header_safe(*subprotocol))
        handshake_.append("Sec-WebSocket-Protocol: ").append(*subprotocol).append("\r\n");
    handshake_.append("Server: chatd\r\n\r\n");
    arm_close_timer();
    stream_.async_write(net::buffer(handshake_), [self = this->shared_from_this()](error_code ec) {
        self->on_handshake_written(ec);
    });
}

template <class Stream>
void basic_ws_session<Stream>::on_handshake_written(error_code ec)
{
    handshake_ = std::string();
    if (ec) {
        // $connect succeeded, so the connection existed for the integration: it must hear
        // the close.
        state_ = state::closed;
        timer_.cancel();
        stream_.close();
        events_.on_close(info_, 1006, "");
        return;
    }
    state_ = state::open;
    stream_.start_reading();
    events_.on_open(this->shared_from_this());
    arm_timer();
    do_read();
}

// --- reading -------------------------------------------------------------------------------

template <class Stream>
void basic_ws_session<Stream>::do_read()
{
    reading_ = true;
    stream_.async_read(
        [self = this->shared_from_this()](error_code ec, unsigned char const* p, std::size_t n) {
            self->on_bytes(ec, p, n);
        });
}

template <class Stream>
void basic_ws_session<Stream>::on_bytes(error_code ec, unsigned char const* p, std::size_t n)
{
    reading_ = false;
    if (state_ == state::closed)
        return;
    if (ec)
        return finish(); // end of stream or a reset: the client is gone
    consume(p, n);
}

template <class Stream>
bool basic_ws_session<Stream>::paused() const
{
    // Backpressure: while too many of this client's events are in flight nothing more is read;
    // the client's own TCP window then holds further frames. (A closing connection discards
    // what it reads, so it never pauses.)
    return state_ == state::open && in_flight_ >= limits_.in_flight;
}

template <class Stream>
void basic_ws_session<Stream>::consume(unsigned char const* p, std::size_t n)
{
    parsing_ = true;
    std::size_t used = 0;
    ws::frame_reader::item item;
    while (used < n && !paused() && !reading_over()) {
        used += reader_.parse(p + used, n - used, item);
        if (item.kind != ws::frame_reader::item::none && !handle(item))
            break;
    }
    parsing_ = false;
    if (reading_over())
        return;
    if (used < n)
        unread_.append(reinterpret_cast<char const*>(p + used), n - used);
    resume();
}

template <class Stream>
void basic_ws_session<Stream>::resume()
{
    if (parsing_ || reading_ || state_ == state::handshaking || reading_over() || paused())
        return;
    if (!unread_.empty()) {
        auto bytes = std::move(unread_);
        unread_ = std::string();
        return consume(reinterpret_cast<unsigned char const*>(bytes.data()), bytes.size());
    }
    do_read();
}

template <class Stream>
bool basic_ws_session<Stream>::handle(ws::frame_reader::item& item)
{
    using kind = ws::frame_reader::item;
    switch (item.kind) {
    case kind::none:
        return true;
    case kind::message:
        if (state_ != state::open)
            return true; // closing: what the client still sends is discarded
        ++in_flight_;
        events_.on_message(this->shared_from_this(), std::move(item.payload));
        return true;
    case kind::ping:
        // A client's ping or pong is traffic too: it keeps the idle timer from firing.
        touch(events_.clock().now());
        if (state_ == state::open)
            enqueue({std::make_shared<std::string const>(std::move(item.payload)),
                     framing::control,
                     ws::op_pong});
        return true;
    case kind::pong:
        touch(events_.clock().now());
        return true;
    case kind::close:
        on_client_close(item);
        return false;
    case kind::refused:
        on_refused(item);
        return !item.fatal;
    }
    return true;
}

template <class Stream>
void basic_ws_session<Stream>::on_client_close(ws::frame_reader::item& item)
{
    close_received_ = true;
    client_close_.emplace(static_cast<int>(item.code), std::move(item.payload));
    if (state_ == state::open) {
        // The client closed first: answer with its own code and reason, after what is
        // already queued, then end the connection.
        state_ = state::closing;
        arm_close_timer();
        send_close(item.code, client_close_->second);
    } else if (close_sent_) {
        shut_down(); // the answer to our close
    }
    // (else our close frame is still queued: on_write ends the connection after it)
}

template <class Stream>
void basic_ws_session<Stream>::on_refused(ws::frame_reader::item& item)
{
    if (item.fatal)
        fatal_ = true;
    if (state_ == state::open) {
        state_ = state::closing;
        close_cause_.emplace(static_cast<int>(item.code), item.payload);
        arm_close_timer();
        send_close(item.code, item.payload);
    } else if (fatal_ && close_sent_) {
        shut_down();
    }
}

template <class Stream>
void basic_ws_session<Stream>::event_done()
{
    if (in_flight_ > 0)
        --in_flight_;
    resume();
}

// --- writing -------------------------------------------------------------------------------

template <class Stream>
post_status basic_ws_session<Stream>::admit(std::size_t bytes, core::epoch_ms now)
{
    if (state_ != state::open)
        return post_status::gone;
    if (queued_bytes_ + bytes > limits_.queue_bytes) {
        abort(1006, "Client is not reading: write queue full");
        return post_status::limit;
    }
    last_active_ = now;
    return post_status::ok;
}

template <class Stream>
post_status basic_ws_session<Stream>::deliver(std::shared_ptr<std::string const> payload)
{
    auto st = admit(payload->size(), events_.clock().now());
    if (st == post_status::ok)
        enqueue({std::move(payload), framing::message, ws::op_text});
    return st;
}

template <class Stream>
post_status basic_ws_session<Stream>::deliver_frame(std::shared_ptr<std::string const> const& frame,
                                                    core::epoch_ms now)
{
    auto st = admit(frame->size(), now);
    if (st == post_status::ok)
        enqueue({frame, framing::whole, ws::op_text});
    return st;
}

template <class Stream>
void basic_ws_session<Stream>::enqueue(out_frame f)
{
    queued_bytes_ += f.payload->size();
    queue_.push_back(std::move(f));
    schedule_write();
}

template <class Stream>
void basic_ws_session<Stream>::schedule_write()
{
    // Cork: the write starts after the current handler, so every frame queued for this client
    // in the meantime goes out in the same system call.
    if (writing_ || write_scheduled_)
        return;
    write_scheduled_ = true;
    events_.cork(*this);
}

template <class Stream>
void basic_ws_session<Stream>::uncork()
{
    write_scheduled_ = false;
    if (!writing_ && !queue_.empty() && state_ != state::closed)
        do_write();
}

template <class Stream>
void basic_ws_session<Stream>::send_close(unsigned code, std::string_view reason)
{
    // contract(disconnect-codes): a close frame without a code is answered without one.
    auto payload = code == 1005 ? std::string() : ws::close_payload(code, reason);
    enqueue(
        {std::make_shared<std::string const>(std::move(payload)), framing::control, ws::op_close});
}

template <class Stream>
void basic_ws_session<Stream>::do_write()
{
    writing_ = true;
    if (queue_.size() == 1 && queue_.front().kind == framing::whole) {
        // A fan-out's usual case: one shared frame, already whole. Nothing to build, and the
        // header and gather vectors are not even touched.
        batch_count_ = 1;
        auto const& frame = *queue_.front().payload;
        error_code ec;
        auto n = stream_.write_now(net::buffer(frame), ec);
        if (ec || n == frame.size())
            return on_write(ec);
        gather_.assign(1, net::buffer(frame) + n);
        return write_rest(0);
    }
    batch_count_ = frame_batch();
    // Most writes fit in the socket's send buffer: make the system call now, and wait (an
    // asynchronous operation, its allocation, a reactor registration) only for what the
    // kernel did not take.
    error_code ec;
    auto n = stream_.write_now(std::span<net::const_buffer const>(gather_), ec);
    if (ec)
        return on_write(ec);
    std::size_t first = 0;
    while (first < gather_.size() && n >= gather_[first].size())
        n -= gather_[first++].size();
    if (first == gather_.size())
        return on_write({});
    gather_[first] += n;
    write_rest(first);
}

template <class Stream>
std::size_t basic_ws_session<Stream>::frame_batch()
{
    // Frames as many queued messages as the caps allow into one gather write. The payloads
    // are the queued (shared) strings themselves: nothing is copied. The headers are built
    // first, so that pointers into headers_ are taken only once it has stopped growing.
    using ws_session_detail::for_each_frame;
    std::size_t count = 0;
    std::size_t bytes = 0;
    headers_.clear();
    for (auto const& f : queue_) {
        auto size = f.payload->size();
        if (count > 0 && (count >= ws_session_detail::max_frames_per_write ||
                          bytes + size > ws_session_detail::max_bytes_per_write))
            break;
        bytes += size;
        ++count;
        if (f.kind == framing::whole)
            continue;
        for_each_frame(size, [&](std::size_t offset, std::size_t piece, bool last) {
            auto& h = headers_.emplace_back();
            auto op = offset > 0                   ? std::uint8_t{ws::op_continuation}
                      : f.kind == framing::message ? std::uint8_t{ws::op_text}
                                                   : f.opcode;
            h.size = static_cast<std::uint8_t>(ws::write_header(h.bytes.data(), last, op, piece));
        });
    }
    gather_.clear();
    std::size_t h = 0;
    for (std::size_t i = 0; i < count; ++i) {
        auto const& payload = *queue_[i].payload;
        if (queue_[i].kind == framing::whole) {
            gather_.emplace_back(payload.data(), payload.size());
            continue;
        }
        for_each_frame(payload.size(), [&](std::size_t offset, std::size_t piece, bool) {
            gather_.emplace_back(headers_[h].bytes.data(), headers_[h].size);
            if (piece > 0)
                gather_.emplace_back(payload.data() + offset, piece);
            ++h;
        });
    }
    return count;
}

template <class Stream>
void basic_ws_session<Stream>::write_rest(std::size_t first)
{
    stream_.async_write(
        std::span<net::const_buffer const>(gather_.data() + first, gather_.size() - first),
        [self = this->shared_from_this()](error_code ec) { self->on_write(ec); });
}

template <class Stream>
void basic_ws_session<Stream>::on_write(error_code ec)
{
    writing_ = false;
    auto written = std::min(batch_count_, queue_.size());
    for (std::size_t i = 0; i < written; ++i) {
        queued_bytes_ -= queue_[i].payload->size();
        if (queue_[i].kind == framing::control && queue_[i].opcode == ws::op_close && !ec)
            close_sent_ = true;
    }
    queue_.erase(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(written));
    batch_count_ = 0;
    if (queue_.empty() && queue_.capacity() > 64) {
        // A burst is over: give its memory back, idle connections should stay small.
        queue_.shrink_to_fit();
        headers_ = {};
        gather_ = {};
    }
    if (state_ == state::closed)
        return;
    if (ec) {
        // A client that vanished: the read side sees it too, unless it is not reading.
        drop_queue();
        stream_.close();
        if (!reading_)
            finish();
        return;
    }
    if (close_sent_) {
        // Our close frame is out: with the client's close already here (or its bytes no
        // longer frames) the connection ends now; otherwise reading goes on until its close
        // frame arrives or the close timer fires.
        if (close_received_ || fatal_)
            shut_down();
        return;
    }
    if (!queue_.empty())
        do_write();
}

template <class Stream>
void basic_ws_session<Stream>::drop_queue()
{
    // Frames being written must outlive the write that reads them: keep the batch then.
    auto keep = writing_ ? std::min(batch_count_, queue_.size()) : std::size_t{0};
    while (queue_.size() > keep) {
        queued_bytes_ -= queue_.back().payload->size();
        queue_.pop_back();
    }
}

// --- closing -------------------------------------------------------------------------------
//
// A connection ends in one of three ways, each reaching finish() (which reports the close,
// once): the close handshake completes (shut_down: TCP or TLS shutdown, then finish), the
// peer vanishes (a failed read or write), or chatd gives up on it (abort, or the close timer).

template <class Stream>
void basic_ws_session<Stream>::close(int code, std::string reason)
{
    if (state_ != state::open)
        return;
    state_ = state::closing;
    reader_.discard_data();
    arm_close_timer();
    send_close(static_cast<unsigned>(code), reason);
    close_cause_.emplace(code, std::move(reason));
}

template <class Stream>
void basic_ws_session<Stream>::shut_down()
{
    // The close handshake is complete: the server ends the TCP connection (RFC 6455 section
    // 7.1.1), after TLS close_notify on a TLS connection. The close timer still bounds it.
    if (shutting_down_ || state_ == state::closed)
        return;
    shutting_down_ = true;
    stream_.async_shutdown([self = this->shared_from_this()](error_code) { self->finish(); });
}

template <class Stream>
void basic_ws_session<Stream>::abort(int code, std::string reason)
{
    if (state_ == state::closed)
        return;
    if (!close_cause_)
        close_cause_.emplace(code, std::move(reason));
    state_ = state::closing;
    drop_queue();
    stream_.close();
    // The gateway may be iterating over its connections right now: it hears of the close
    // from a handler of its own, never from inside this call.
    if (!reading_)
        net::post(stream_.get_executor(), [self = this->shared_from_this()] { self->finish(); });
}

template <class Stream>
void basic_ws_session<Stream>::arm_timer()
{
    // One timer covers both limits: it fires at the earlier deadline and re-arms itself.
    auto now = events_.clock().now();
    auto idle_at = last_active_ + limits_.idle_timeout.count();
    auto max_at = info_.connected_at + limits_.max_duration.count();
    auto wait = std::max<core::epoch_ms>(0, std::min(idle_at, max_at) - now);
    timer_.expires_after(std::chrono::milliseconds(wait));
    timer_.async_wait([self = this->shared_from_this()](error_code ec) { self->on_timer(ec); });
}

template <class Stream>
void basic_ws_session<Stream>::arm_close_timer()
{
    timer_.expires_after(limits_.handshake_timeout);
    timer_.async_wait([self = this->shared_from_this()](error_code ec) { self->on_timer(ec); });
}

template <class Stream>
void basic_ws_session<Stream>::on_timer(error_code ec)
{
    if (ec)
        return; // re-armed or cancelled
    switch (state_) {
    case state::handshaking:
        // The 101 could not be written in time: the write fails and reports the close.
        stream_.close();
        return;
    case state::open: {
        auto now = events_.clock().now();
        // contract(idle-timeout, max-duration): both close with 1001 "Going away".
        if (now >= info_.connected_at + limits_.max_duration.count() ||
            now >= last_active_ + limits_.idle_timeout.count())
            return close(1001, "Going away");
        return arm_timer();
    }
    case state::closing:
        // The client did not answer our close (or read what was queued) in time.
        return finish();
    case state::closed:
        return;
    }
}

template <class Stream>
void basic_ws_session<Stream>::finish()
{
    if (state_ == state::closed)
        return;
    state_ = state::closed;
    int code = 1006;
    std::string reason;
    if (close_cause_) {
        code = close_cause_->first;
        reason = close_cause_->second;
    } else if (client_close_) {
        code = client_close_->first;
        // contract(disconnect-codes): a close frame without a code is reported as 1005.
        reason = code == 1005 ? "Client-side close frame status not set" : client_close_->second;
    }
    drop_queue();
    timer_.cancel();
    stream_.close();
    unread_ = std::string();
    events_.on_close(info_, code, std::move(reason));
}

} // namespace chatd::server
