#pragma once

#include <chatd/core/chat.hpp>
#include <chatd/core/clock.hpp>
#include <chatd/core/ids.hpp>

#include <memory>

#include "chat_integration.hpp"
#include "config.hpp"
#include "gateway.hpp"
#include "http_session.hpp"
#include "listener.hpp"
#include "net.hpp"
#include "storage_worker.hpp"

namespace chatd::server {

/// chatd, assembled: one I/O thread (the caller of run()), one storage thread, one file
/// thread. Construction opens the database and binds the port, so errors surface early.
class server
{
public:
    explicit server(config cfg);
    ~server();

    /// The bound endpoint.
    tcp::endpoint endpoint() const { return listener_->local_endpoint(); }

    /// Serve until SIGINT/SIGTERM, then shut down cleanly: every client gets 1001 "Going
    /// away", $disconnect runs for each, storage is flushed. A second signal exits at once.
    /// Returns the process exit code.
    int run();

private:
    void on_signal(int sig);
    void poll_shutdown(std::chrono::steady_clock::time_point deadline, bool aborted);

    config cfg_;
    core::system_clock clock_;
    core::random_id_source ids_;
    net::io_context ioc_{1};
    net::thread_pool files_{1};
    std::unique_ptr<storage_worker> storage_;
    std::unique_ptr<core::chat_app> app_;
    std::unique_ptr<chat_integration> chat_;
    std::unique_ptr<gateway> gateway_;
    std::unique_ptr<http_context> http_;
    std::unique_ptr<listener> listener_;
    net::signal_set signals_{ioc_, SIGINT, SIGTERM};
    net::steady_timer shutdown_timer_{ioc_};
    bool stopping_ = false;
};

} // namespace chatd::server
