#include "ws_session.hpp"

#include <algorithm>
#include <chrono>
#include <span>

#include "gateway.hpp"

namespace chatd::server {
namespace {

/// API Gateway's limits.
constexpr std::size_t max_message_bytes = 128 * 1024; // larger message: close 1009
constexpr std::size_t max_frame_bytes = 32 * 1024;    // larger frame: close 1009

/// The opening handshake's write and the close handshake each get this long.
constexpr auto handshake_timeout = std::chrono::seconds(5);

/// Frames per system call, and bytes, at most: enough to amortise the syscall, small enough
/// to keep one client's burst from hogging the loop.
constexpr std::size_t max_frames_per_write = 256;
constexpr std::size_t max_bytes_per_write = 256 * 1024;

constexpr std::size_t read_bytes = 64 * 1024;
constexpr std::size_t tls_read_bytes = 4 * 1024;

/// Plain sockets wait for readiness with no buffer and are then read into one buffer per I/O
/// thread, so an idle connection holds no read buffer at all; what a read leaves unparsed is
/// kept by the frame reader (a partial message) or the session (while reading is paused).
unsigned char* thread_read_buffer()
{
    thread_local std::unique_ptr<unsigned char[]> buffer(new unsigned char[read_bytes]);
    return buffer.get();
}

bool header_safe(std::string_view v)
{
    return v.find_first_of("\r\n") == std::string_view::npos;
}

/// The kernel had no room (or nothing to read) for a non-blocking call. Tested only when `ec`
/// is set: comparing an error_code with an enum builds a second error_code, which on the
/// write path cost about 19 instructions per delivery when done for every successful send.
bool would_block(error_code const& ec)
{
    return ec && (ec == net::error::would_block || ec == net::error::try_again);
}

/// Write what the kernel takes at once, without waiting: a full send buffer counts as nothing
/// written, not as an error.
template <class Buffers>
std::size_t write_now(tcp::socket& socket, Buffers const& buffers, error_code& ec)
{
    auto n = socket.write_some(buffers, ec);
    if (would_block(ec)) {
        ec = {};
        n = 0;
    }
    return n;
}

} // namespace

ws_session::ws_session(transport stream, gateway& gw, core::connection_info info, limits lim)
    : stream_(std::move(stream))
    , timer_(stream_.get_executor())
    , gw_(gw)
    , info_(std::move(info))
    , limits_(lim)
    , reader_(max_frame_bytes, max_message_bytes)
    , last_active_(info_.connected_at)
{}

void ws_session::start(std::string_view client_key, std::optional<std::string> subprotocol)
{
    handshake_ = "HTTP/1.1 101 Switching Protocols\r\n"
                 "Upgrade: websocket\r\n"
                 "Connection: Upgrade\r\n"
                 "Sec-WebSocket-Accept: ";
    handshake_.append(ws::accept_key(client_key)).append("\r\n");
    // contract(subprotocol): only the $connect result's Sec-WebSocket-Protocol reaches the 101.
    if (subprotocol && header_safe(*subprotocol))
        handshake_.append("Sec-WebSocket-Protocol: ").append(*subprotocol).append("\r\n");
    handshake_.append("Server: chatd\r\n\r\n");
    timer_.expires_after(handshake_timeout);
    timer_.async_wait([self = shared_from_this()](error_code ec) { self->on_timer(ec); });
    net::async_write(
        stream_, net::buffer(handshake_), [self = shared_from_this()](error_code ec, std::size_t) {
            self->on_handshake_written(ec);
        });
}

void ws_session::on_handshake_written(error_code ec)
{
    handshake_ = std::string();
    if (ec) {
        // $connect succeeded, so the connection existed for the integration: it must hear
        // $disconnect.
        state_ = state::closed;
        timer_.cancel();
        error_code ignored;
        stream_.close(ignored);
        gw_.on_closed(info_, 1006, "");
        return;
    }
    state_ = state::open;
    if (stream_.secure()) {
        tls_buffer_.reset(new unsigned char[tls_read_bytes]);
    } else {
        error_code ignored;
        stream_.socket().non_blocking(true, ignored);
    }
    gw_.opened(shared_from_this());
    arm_timer();
    do_read();
}

// --- reading -------------------------------------------------------------------------------

void ws_session::do_read()
{
    reading_ = true;
    if (stream_.secure()) {
        // TLS decrypts into the buffer as the read completes: it needs one of its own.
        stream_.async_read_some(net::buffer(tls_buffer_.get(), tls_read_bytes),
                                [self = shared_from_this()](error_code ec, std::size_t n) {
                                    self->on_bytes(ec, self->tls_buffer_.get(), n);
                                });
        return;
    }
    stream_.socket().async_wait(tcp::socket::wait_read, [self = shared_from_this()](error_code ec) {
        self->on_readable(ec);
    });
}

void ws_session::on_readable(error_code ec)
{
    if (ec)
        return on_bytes(ec, nullptr, 0);
    auto* buffer = thread_read_buffer();
    auto n = stream_.socket().read_some(net::buffer(buffer, read_bytes), ec);
    if (would_block(ec))
        return do_read(); // woken with nothing to read after all
    on_bytes(ec, buffer, n);
}

void ws_session::on_bytes(error_code ec, unsigned char const* p, std::size_t n)
{
    reading_ = false;
    if (state_ == state::closed)
        return;
    if (ec)
        return finish(); // end of stream or a reset: the client is gone
    consume(p, n);
}

bool ws_session::paused() const
{
    // Backpressure: while too many of this client's events are in flight nothing more is read;
    // the client's own TCP window then holds further frames. (A closing connection discards
    // what it reads, so it never pauses.)
    return state_ == state::open && in_flight_ >= limits_.in_flight;
}

void ws_session::consume(unsigned char const* p, std::size_t n)
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

void ws_session::resume()
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

bool ws_session::handle(ws::frame_reader::item& item)
{
    using kind = ws::frame_reader::item;
    switch (item.kind) {
    case kind::none:
        return true;
    case kind::message:
        if (state_ != state::open)
            return true; // closing: what the client still sends is discarded
        ++in_flight_;
        gw_.on_frame(shared_from_this(), std::move(item.payload));
        return true;
    case kind::ping:
        // A client's ping or pong is traffic too: it keeps the idle timer from firing.
        touch(gw_.clock().now());
        if (state_ == state::open)
            enqueue(std::make_shared<std::string const>(std::move(item.payload)), ws::op_pong);
        return true;
    case kind::pong:
        touch(gw_.clock().now());
        return true;
    case kind::close:
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
        return false;
    case kind::refused:
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
        return !item.fatal;
    }
    return true;
}

void ws_session::event_done()
{
    if (in_flight_ > 0)
        --in_flight_;
    resume();
}

// --- writing -------------------------------------------------------------------------------

post_status ws_session::admit(std::size_t bytes, core::epoch_ms now)
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

post_status ws_session::deliver(std::shared_ptr<std::string const> payload)
{
    auto st = admit(payload->size(), gw_.clock().now());
    if (st == post_status::ok)
        enqueue(std::move(payload), ws::op_text);
    return st;
}

post_status ws_session::deliver_frame(std::shared_ptr<std::string const> const& frame,
                                      core::epoch_ms now)
{
    auto st = admit(frame->size(), now);
    if (st == post_status::ok)
        enqueue(frame, whole_frame);
    return st;
}

void ws_session::enqueue(std::shared_ptr<std::string const> payload, std::uint8_t opcode)
{
    queued_bytes_ += payload->size();
    queue_.push_back({std::move(payload), opcode});
    schedule_write();
}

void ws_session::schedule_write()
{
    // Cork: the write starts after the current handler, so every frame queued for this client
    // in the meantime goes out in the same system call.
    if (writing_ || write_scheduled_)
        return;
    write_scheduled_ = true;
    gw_.cork(*this);
}

void ws_session::uncork()
{
    write_scheduled_ = false;
    if (!writing_ && !queue_.empty() && state_ != state::closed)
        do_write();
}

void ws_session::send_close(unsigned code, std::string_view reason)
{
    // contract(disconnect-codes): a close frame without a code is answered without one.
    auto payload = code == 1005 ? std::string() : ws::close_payload(code, reason);
    enqueue(std::make_shared<std::string const>(std::move(payload)), ws::op_close);
}

void ws_session::do_write()
{
    // Frame everything queued (up to the caps) and write it with one gather write. A text
    // message longer than 32 KB goes out as a first frame plus continuation frames. The
    // payloads are the queued (shared) strings themselves: nothing is copied.
    writing_ = true;
    if (queue_.size() == 1 && queue_.front().opcode == whole_frame && !stream_.secure()) {
        // A fan-out's usual case: one shared frame, already whole. Nothing to build, and the
        // header and gather vectors are not even touched.
        batch_count_ = 1;
        auto const& frame = *queue_.front().payload;
        error_code ec;
        auto n = write_now(stream_.socket(), net::buffer(frame), ec);
        if (ec || n == frame.size())
            return on_write(ec);
        gather_.assign(1, net::buffer(frame) + n);
        return write_rest(0);
    }
    batch_count_ = 0;
    headers_.clear();
    std::size_t bytes = 0;
    for (auto const& f : queue_) {
        auto size = f.payload->size();
        if (batch_count_ > 0 &&
            (batch_count_ >= max_frames_per_write || bytes + size > max_bytes_per_write))
            break;
        bytes += size;
        ++batch_count_;
        if (f.opcode == whole_frame)
            continue;
        std::size_t offset = 0;
        do {
            auto piece = std::min(max_frame_out, size - offset);
            auto& h = headers_.emplace_back();
            h.size = static_cast<std::uint8_t>(
                ws::write_header(h.bytes.data(),
                                 offset + piece == size,
                                 offset == 0 ? f.opcode : std::uint8_t{ws::op_continuation},
                                 piece));
            offset += piece;
        } while (offset < size);
    }
    // (Pointers into headers_ are taken only now that it has stopped growing.)
    gather_.clear();
    std::size_t h = 0;
    for (std::size_t i = 0; i < batch_count_; ++i) {
        auto const& payload = *queue_[i].payload;
        if (queue_[i].opcode == whole_frame) {
            gather_.emplace_back(payload.data(), payload.size());
            continue;
        }
        std::size_t offset = 0;
        do {
            auto piece = std::min(max_frame_out, payload.size() - offset);
            gather_.emplace_back(headers_[h].bytes.data(), headers_[h].size);
            if (piece > 0)
                gather_.emplace_back(payload.data() + offset, piece);
            offset += piece;
            ++h;
        } while (offset < payload.size());
    }
    std::size_t first = 0;
    if (!stream_.secure()) {
        // Most writes fit in the socket's send buffer: make the system call now, and wait (an
        // asynchronous operation, its allocation, a reactor registration) only for what the
        // kernel did not take.
        error_code ec;
        auto n = write_now(stream_.socket(), std::span<net::const_buffer const>(gather_), ec);
        if (ec)
            return on_write(ec);
        while (first < gather_.size() && n >= gather_[first].size())
            n -= gather_[first++].size();
        if (first == gather_.size())
            return on_write({});
        gather_[first] += n;
    }
    write_rest(first);
}

void ws_session::write_rest(std::size_t first)
{
    net::async_write(
        stream_,
        std::span<net::const_buffer const>(gather_.data() + first, gather_.size() - first),
        [self = shared_from_this()](error_code ec, std::size_t) { self->on_write(ec); });
}

void ws_session::on_write(error_code ec)
{
    writing_ = false;
    auto written = std::min(batch_count_, queue_.size());
    for (std::size_t i = 0; i < written; ++i) {
        queued_bytes_ -= queue_[i].payload->size();
        if (queue_[i].opcode == ws::op_close && !ec)
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
        error_code ignored;
        stream_.close(ignored);
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

void ws_session::drop_queue()
{
    // Frames being written must outlive the write that reads them: keep the batch then.
    auto keep = writing_ ? std::min(batch_count_, queue_.size()) : std::size_t{0};
    while (queue_.size() > keep) {
        queued_bytes_ -= queue_.back().payload->size();
        queue_.pop_back();
    }
}

// --- closing -------------------------------------------------------------------------------

void ws_session::close(int code, std::string reason)
{
    if (state_ != state::open)
        return;
    state_ = state::closing;
    reader_.discard_data();
    arm_close_timer();
    send_close(static_cast<unsigned>(code), reason);
    close_cause_.emplace(code, std::move(reason));
}

void ws_session::shut_down()
{
    // The close handshake is complete: the server ends the TCP connection (RFC 6455 section
    // 7.1.1), after TLS close_notify on a TLS connection. The close timer still bounds it.
    if (shutting_down_ || state_ == state::closed)
        return;
    shutting_down_ = true;
    stream_.async_shutdown([self = shared_from_this()](error_code) { self->finish(); });
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
    stream_.close(ignored);
    // The gateway may be iterating over its connections right now: it hears of the close
    // from a handler of its own, never from inside this call.
    if (!reading_)
        net::post(stream_.get_executor(), [self = shared_from_this()] { self->finish(); });
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

void ws_session::arm_close_timer()
{
    timer_.expires_after(handshake_timeout);
    timer_.async_wait([self = shared_from_this()](error_code ec) { self->on_timer(ec); });
}

void ws_session::on_timer(error_code ec)
{
    if (ec)
        return; // re-armed or cancelled
    switch (state_) {
    case state::handshaking: {
        // The 101 could not be written in time: the write fails and reports the close.
        error_code ignored;
        stream_.close(ignored);
        return;
    }
    case state::open: {
        auto now = gw_.clock().now();
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

void ws_session::finish()
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
    error_code ignored;
    stream_.close(ignored);
    unread_ = std::string();
    gw_.on_closed(info_, code, std::move(reason));
}

} // namespace chatd::server
