#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <type_traits>
#include <utility>
#include <vector>

#include "net.hpp"

namespace chatd::server {

/// Counts the WebSocket frames a client sends and notes any whose payload is larger than
/// `max_frame` bytes. Beast limits whole messages but not single frames; API Gateway refuses
/// frames over 32 KB, so this layer sits between Beast and the TCP stream and reads the frame
/// headers as the bytes go by. It changes nothing it forwards.
class frame_limit
{
public:
    explicit frame_limit(std::uint64_t max_frame)
        : max_(max_frame)
    {}

    /// Feed bytes read from the client, in order.
    void feed(unsigned char const* p, std::size_t n);

    /// A frame over the limit was seen (sticky).
    bool exceeded() const { return exceeded_; }

private:
    enum class state
    {
        first,
        second,
        length,
        mask,
        payload
    };

    void header_done();

    std::uint64_t max_;
    state state_ = state::first;
    bool masked_ = false;
    int length_bytes_ = 0;
    int mask_bytes_ = 0;
    std::uint64_t length_ = 0;
    std::uint64_t remaining_ = 0;
    bool exceeded_ = false;
};

/// A move-only "run this later" (std::function needs copyable targets; Beast's handlers are not).
class deferred_op
{
public:
    deferred_op() = default;

    template <class F>
    explicit deferred_op(F&& f)
        : p_(std::make_unique<impl<std::decay_t<F>>>(std::forward<F>(f)))
    {}

    explicit operator bool() const { return p_ != nullptr; }

    void operator()()
    {
        auto p = std::move(p_);
        p->run();
    }

private:
    struct base
    {
        virtual ~base() = default;
        virtual void run() = 0;
    };

    template <class F>
    struct impl final : base
    {
        explicit impl(F&& fn)
            : f(std::move(fn))
        {}

        void run() override { f(); }

        F f;
    };

    std::unique_ptr<base> p_;
};

/// A stream layer for websocket::stream, between Beast and the TCP stream:
/// - it shows every byte read to a frame_limit (API Gateway's 32 KB frame limit);
/// - it lets the session write pre-framed messages straight to the socket, many per system
///   call (write_raw), and keeps those writes and Beast's own (pongs, the close frame) from
///   ever interleaving.
/// I/O thread only, like the session that owns it.
template <class NextLayer>
class frame_guard
{
public:
    using executor_type = typename NextLayer::executor_type;
    using next_layer_type = NextLayer;

    frame_guard(NextLayer&& next, std::uint64_t max_frame)
        : next_(std::move(next))
        , limit_(max_frame)
    {}

    executor_type get_executor() noexcept { return next_.get_executor(); }

    NextLayer& next_layer() noexcept { return next_; }

    NextLayer const& next_layer() const noexcept { return next_; }

    bool frame_too_big() const { return limit_.exceeded(); }

    template <class MutableBuffers, class Handler>
    auto async_read_some(MutableBuffers const& buffers, Handler&& handler)
    {
        return net::async_initiate<Handler, void(error_code, std::size_t)>(
            [this](auto h, MutableBuffers const& b) {
                auto ex = net::get_associated_executor(h, get_executor());
                // Straight to the socket: the TCP stream's timer machinery is not used here
                // (the websocket layer keeps its own timers), and it costs on every operation.
                lowest().async_read_some(
                    b,
                    net::bind_executor(
                        ex, [this, b, h = std::move(h)](error_code ec, std::size_t n) mutable {
                            observe(b, n);
                            std::move(h)(ec, n);
                        }));
            },
            handler,
            buffers);
    }

    /// Beast's writes: deferred while a raw write is in progress.
    template <class ConstBuffers, class Handler>
    auto async_write_some(ConstBuffers const& buffers, Handler&& handler)
    {
        return net::async_initiate<Handler, void(error_code, std::size_t)>(
            [this](auto h, ConstBuffers const& b) {
                auto ex = net::get_associated_executor(h, get_executor());
                auto start = [this, b, ex, h = std::move(h)]() mutable {
                    beast_busy_ = true;
                    lowest().async_write_some(
                        b,
                        net::bind_executor(
                            ex, [this, h = std::move(h)](error_code ec, std::size_t n) mutable {
                                beast_busy_ = false;
                                // A queued raw write holds its session alive, so `this` is
                                // still valid after the handler only when one is queued.
                                bool raw_waiting = static_cast<bool>(pending_raw_);
                                std::move(h)(ec, n);
                                if (raw_waiting && !beast_busy_ && !raw_busy_ && pending_raw_)
                                    std::exchange(pending_raw_, deferred_op{})();
                            }));
                };
                if (raw_busy_)
                    pending_beast_ = deferred_op(std::move(start));
                else
                    start();
            },
            handler,
            buffers);
    }

    /// Write `buffers` completely, then call `done`. The buffers must stay valid until then;
    /// at most one raw write at a time. `done` must keep the owner of this layer alive.
    void write_raw(std::vector<net::const_buffer> buffers, std::function<void(error_code)> done)
    {
        auto start = [this, buffers = std::move(buffers), done = std::move(done)]() mutable {
            raw_busy_ = true;
            net::async_write(
                lowest(), buffers, [this, done = std::move(done)](error_code ec, std::size_t) {
                    raw_busy_ = false;
                    if (pending_beast_)
                        std::exchange(pending_beast_, deferred_op{})();
                    done(ec);
                });
        };
        if (beast_busy_)
            pending_raw_ = deferred_op(std::move(start));
        else
            start();
    }

private:
    auto& lowest() { return beast::get_lowest_layer(next_); }

    template <class MutableBuffers>
    void observe(MutableBuffers const& b, std::size_t n)
    {
        for (auto it = net::buffer_sequence_begin(b); n > 0 && it != net::buffer_sequence_end(b);
             ++it) {
            net::mutable_buffer chunk = *it;
            auto take = std::min(n, chunk.size());
            limit_.feed(static_cast<unsigned char const*>(chunk.data()), take);
            n -= take;
        }
    }

    NextLayer next_;
    frame_limit limit_;
    bool raw_busy_ = false;
    bool beast_busy_ = false;
    deferred_op pending_raw_;
    deferred_op pending_beast_;
};

/// Closing a websocket::stream<frame_guard<...>> closes the layer underneath.
template <class NextLayer>
void teardown(beast::role_type role, frame_guard<NextLayer>& s, error_code& ec)
{
    using boost::beast::websocket::teardown;
    teardown(role, s.next_layer(), ec);
}

template <class NextLayer, class Handler>
void async_teardown(beast::role_type role, frame_guard<NextLayer>& s, Handler&& handler)
{
    using boost::beast::websocket::async_teardown;
    async_teardown(role, s.next_layer(), std::forward<Handler>(handler));
}

} // namespace chatd::server
