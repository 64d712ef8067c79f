#include "transport/listener.hpp"

#include "ops/log.hpp"
#include "ops/metrics.hpp"

namespace chatd::server {

listener::listener(net::io_context& ioc, tcp::endpoint where, http_context& ctx, metrics& stats)
    : ioc_(ioc)
    , acceptor_(ioc)
    , ctx_(ctx)
    , stats_(stats)
{
    acceptor_.open(where.protocol());
    acceptor_.set_option(net::socket_base::reuse_address(true));
    acceptor_.bind(where);
    acceptor_.listen(net::socket_base::max_listen_connections);
}

void listener::run()
{
    net::co_spawn(ioc_, accept_loop(), log::if_thrown("accept loop ended"));
}

void listener::stop()
{
    error_code ignored;
    acceptor_.close(ignored);
}

net::awaitable<void> listener::accept_loop()
{
    for (;;) {
        auto [ec, socket] = co_await acceptor_.async_accept(net::as_tuple(net::use_awaitable));
        if (ec == net::error::operation_aborted || !acceptor_.is_open())
            co_return;
        if (ec) {
            // Out of descriptors and the like: count it, say so (once per episode, then at most
            // every 10 s: this repeats every 50 ms while it lasts), breathe, keep serving. The
            // client waits in the listen backlog meanwhile.
            stats_.accept_errors.add(ec.message());
            auto now = std::chrono::steady_clock::now();
            ++failed_accepts_;
            if (!in_trouble_ || now - last_warning_ >= std::chrono::seconds(10)) {
                log::warn("accept: " + ec.message() + " (" + std::to_string(failed_accepts_) +
                          " failed accepts so far; new clients wait until descriptors free up)");
                last_warning_ = now;
            }
            in_trouble_ = true;
            net::steady_timer pause(ioc_, std::chrono::milliseconds(50));
            co_await pause.async_wait(net::as_tuple(net::use_awaitable));
            continue;
        }
        if (in_trouble_) {
            in_trouble_ = false;
            log::info("accept: connections are accepted again");
        }
        socket.set_option(tcp::no_delay(true), ec);
        net::co_spawn(ioc_, serve_http(std::move(socket), ctx_), log::if_thrown("http session"));
    }
}

} // namespace chatd::server
