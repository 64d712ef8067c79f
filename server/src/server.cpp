#include "server.hpp"

#include <cstdlib>
#include <filesystem>
#include <set>

#include "log.hpp"

namespace chatd::server {
namespace {

/// Most client events (per connection) waiting on an integration before reading pauses.
constexpr std::size_t max_in_flight_per_connection = 64;

/// Most storage tasks queued at once; past it new events fail fast ("Internal server error").
constexpr std::size_t max_storage_queue = 100000;

/// How long shutdown waits for clients to answer the close before dropping them.
constexpr auto close_grace = std::chrono::seconds(3);

log::level parse_level(std::string const& s)
{
    if (s == "debug")
        return log::level::debug;
    if (s == "warn")
        return log::level::warn;
    if (s == "error")
        return log::level::error;
    return log::level::info;
}

} // namespace

server::server(config cfg)
    : cfg_(std::move(cfg))
{
    log::set_level(parse_level(cfg_.log_level));
    storage_ = std::make_unique<storage_worker>(cfg_.db, max_storage_queue);

    core::chat_options opts;
    opts.max_message_bytes = cfg_.max_message_bytes;
    app_ = std::make_unique<core::chat_app>(opts, clock_, ids_);
    chat_ = std::make_unique<chat_integration>(*app_, *storage_);

    // The built-in app's API: every route it knows goes to it; selection on body.action.
    route_table routes;
    std::set<std::string, std::less<>> keys;
    for (auto const& key : core::chat_app::route_keys()) {
        routes[key] = route_target{chat_.get(), false};
        keys.insert(key);
    }
    auto expr = core::selection_expression::parse("$request.body.action");
    gateway_ = std::make_unique<gateway>(
        ioc_.get_executor(),
        gateway_options{cfg_.stage,
                        cfg_.api_id,
                        ws_session::limits{cfg_.write_queue_bytes, max_in_flight_per_connection}},
        core::route_selector(*expr, std::move(keys)),
        std::move(routes),
        ids_,
        clock_);

    std::error_code fs_ec;
    if (!std::filesystem::is_directory(cfg_.static_dir, fs_ec))
        log::warn("--static '" + cfg_.static_dir +
                  "' is not a directory: the web client will answer 404");
    http_ = std::make_unique<http_context>(
        http_context{*gateway_, ids_, cfg_.static_dir, files_.get_executor(), "http"});
    auto address = net::ip::make_address(cfg_.host);
    listener_ = std::make_unique<listener>(ioc_, tcp::endpoint(address, cfg_.port), *http_);
}

server::~server()
{
    if (storage_)
        storage_->stop();
    files_.join();
}

int server::run()
{
    signals_.async_wait([this](error_code ec, int sig) {
        if (!ec)
            on_signal(sig);
    });
    listener_->run();
    ioc_.run();
    // Every $disconnect has been queued by now; finish and commit them before exiting.
    storage_->stop();
    log::info("chatd stopped");
    return 0;
}

void server::on_signal(int sig)
{
    if (stopping_) {
        log::warn("second signal: exiting now");
        std::_Exit(1);
    }
    stopping_ = true;
    log::info(std::string("signal ") + std::to_string(sig) + ": shutting down");
    // Keep listening for a second signal.
    signals_.async_wait([this](error_code ec, int s) {
        if (!ec)
            on_signal(s);
    });
    listener_->stop();
    gateway_->begin_shutdown();
    poll_shutdown(std::chrono::steady_clock::now() + close_grace, false);
}

void server::poll_shutdown(std::chrono::steady_clock::time_point deadline, bool aborted)
{
    if (gateway_->open_count() == 0) {
        signals_.cancel();
        ioc_.stop();
        return;
    }
    if (!aborted && std::chrono::steady_clock::now() >= deadline) {
        gateway_->abort_all();
        aborted = true;
    }
    shutdown_timer_.expires_after(std::chrono::milliseconds(10));
    shutdown_timer_.async_wait([this, deadline, aborted](error_code ec) {
        if (!ec)
            poll_shutdown(deadline, aborted);
    });
}

} // namespace chatd::server
