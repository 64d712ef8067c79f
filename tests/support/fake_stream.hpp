#pragma once

// A stand-in for transport in basic_ws_session's unit tests: no socket, every byte and every
// pending operation in plain sight. The test feeds the client's bytes, decides how much the
// "kernel" takes at once, and completes or fails the waits.

#include <cstddef>
#include <functional>
#include <limits>
#include <memory>
#include <string>

#include "transport/net.hpp"

namespace chatd::test {

namespace net = server::net;
using server::error_code;

/// Everything the session did to its stream, and the operations it is waiting on.
struct fake_wire
{
    std::string written;                                        ///< bytes the session sent
    std::size_t room = std::numeric_limits<std::size_t>::max(); ///< what write_now takes now
    std::function<void(error_code, unsigned char const*, std::size_t)> reader;
    std::function<void(error_code)> writer; ///< an async_write waiting for room
    std::string unwritten;                  ///< what that write still has to send
    std::string delivered;                  ///< the bytes handed to the last read
    bool reading_started = false;
    bool closed = false;
    bool shut_down = false;
    int async_writes = 0;
};

class fake_stream
{
public:
    using executor_type = net::any_io_executor;

    fake_stream(std::shared_ptr<fake_wire> wire, net::any_io_executor ex)
        : wire_(std::move(wire))
        , ex_(std::move(ex))
    {}

    executor_type get_executor() { return ex_; }

    void start_reading() { wire_->reading_started = true; }

    template <class Handler>
    void async_read(Handler&& h)
    {
        wire_->reader = std::forward<Handler>(h);
    }

    template <class ConstBuffers>
    std::size_t write_now(ConstBuffers const& buffers, error_code&)
    {
        auto bytes = flatten(buffers);
        auto n = std::min(bytes.size(), wire_->room);
        wire_->room -= n;
        wire_->written.append(bytes, 0, n);
        return n;
    }

    template <class ConstBuffers, class Handler>
    void async_write(ConstBuffers const& buffers, Handler&& h)
    {
        ++wire_->async_writes;
        wire_->unwritten = flatten(buffers);
        wire_->writer = std::forward<Handler>(h);
        if (wire_->room >= wire_->unwritten.size())
            complete_write(*wire_, ex_);
    }

    void close()
    {
        wire_->closed = true;
        fail_pending(*wire_, ex_, net::error::operation_aborted);
    }

    template <class Handler>
    void async_shutdown(Handler&& h)
    {
        wire_->shut_down = true;
        net::post(ex_, [h = std::forward<Handler>(h)]() mutable { h(error_code{}); });
    }

    /// The waiting write takes everything now.
    static void complete_write(fake_wire& w, net::any_io_executor const& ex)
    {
        if (!w.writer)
            return;
        w.written += w.unwritten;
        w.unwritten.clear();
        net::post(ex, [h = std::exchange(w.writer, nullptr)] { h(error_code{}); });
    }

    /// Pending read and write end with `ec`.
    static void fail_pending(fake_wire& w, net::any_io_executor const& ex, error_code ec)
    {
        if (w.reader)
            net::post(ex, [h = std::exchange(w.reader, nullptr), ec] { h(ec, nullptr, 0); });
        if (w.writer)
            net::post(ex, [h = std::exchange(w.writer, nullptr), ec] { h(ec); });
    }

private:
    template <class ConstBuffers>
    static std::string flatten(ConstBuffers const& buffers)
    {
        std::string out;
        for (auto it = net::buffer_sequence_begin(buffers); it != net::buffer_sequence_end(buffers);
             ++it) {
            net::const_buffer b = *it;
            out.append(static_cast<char const*>(b.data()), b.size());
        }
        return out;
    }

    std::shared_ptr<fake_wire> wire_;
    net::any_io_executor ex_;
};

} // namespace chatd::test
