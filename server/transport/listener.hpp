#pragma once

#include <chrono>
#include <cstdint>

#include "ops/metrics.hpp"
#include "transport/http_session.hpp"
#include "transport/net.hpp"

namespace chatd::server {

/// Accepts TCP connections and starts an HTTP session for each. I/O thread.
class listener
{
public:
    /// Bind and listen; throws boost::system::system_error when the address is unusable.
    listener(net::io_context& ioc, tcp::endpoint where, http_context& ctx, metrics& stats);

    /// The bound endpoint (with the real port when 0 was asked for).
    tcp::endpoint local_endpoint() const { return acceptor_.local_endpoint(); }

    /// Start the accept loop.
    void run();

    /// Stop accepting; open connections are not touched.
    void stop();

private:
    net::awaitable<void> accept_loop();

    net::io_context& ioc_;
    tcp::acceptor acceptor_;
    http_context& ctx_;
    metrics& stats_;
    // accept() failing (descriptors out): logged once per episode, then every 10 s at most.
    bool in_trouble_ = false;
    std::uint64_t failed_accepts_ = 0;
    std::chrono::steady_clock::time_point last_warning_{};
};

} // namespace chatd::server
