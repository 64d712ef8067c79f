#include "listener.hpp"

#include "log.hpp"

namespace chatd::server {
listener::listener(net::io_context& ioc, tcp::endpoint where, http_context& ctx)
    : ioc_(ioc)
    , acceptor_(ioc)
    , ctx_(ctx)
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
            // Out of descriptors and the like: say so, breathe, keep serving.
            log::warn("accept: " + ec.message());
            net::steady_timer pause(ioc_, std::chrono::milliseconds(50));
            co_await pause.async_wait(net::as_tuple(net::use_awaitable));
            continue;
        }
        socket.set_option(tcp::no_delay(true), ec);
        net::co_spawn(ioc_, serve_http(std::move(socket), ctx_), log::if_thrown("http session"));
    }
}

} // namespace chatd::server
