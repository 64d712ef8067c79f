#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>

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

/// A stream layer for websocket::stream that passes everything through to `NextLayer` and
/// shows the bytes it reads to a frame_limit. I/O thread only, like the session that owns it.
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
                next_.async_read_some(
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

    template <class ConstBuffers, class Handler>
    auto async_write_some(ConstBuffers const& buffers, Handler&& handler)
    {
        return next_.async_write_some(buffers, std::forward<Handler>(handler));
    }

private:
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
