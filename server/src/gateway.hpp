#pragma once

#include <chatd/core/clock.hpp>
#include <chatd/core/ids.hpp>
#include <chatd/core/route.hpp>
#include <chatd/core/string_hash.hpp>

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "event_log.hpp"
#include "integration.hpp"
#include "metrics.hpp"
#include "net.hpp"
#include "recipient_cache.hpp"
#include "ws_session.hpp"

namespace chatd::server {

/// A route of the API: which integration serves it, and whether it has a route response
/// (two-way: the integration's `body` goes back to the caller).
struct route_target
{
    integration* target = nullptr;
    bool two_way = false;
    std::string_view key; ///< the route key (set by the gateway; points into its table)
    std::atomic<std::uint64_t>* frames_in =
        nullptr; ///< its messages_in counter (set by the gateway)
};

using route_table = std::map<std::string, route_target, std::less<>>;

struct gateway_options
{
    std::string stage;
    std::string api_id;
    ws_session::limits session_limits;
    event_log* events = nullptr; ///< --event-log, when given
    metrics* stats = nullptr;    ///< required
};

/// The API Gateway stand-in: owns the open connections, builds every event, selects routes,
/// invokes integrations and executes what they ask of the management API. Lives on the I/O
/// thread (one executor, no locks); integrations report back by posting to it.
class gateway
{
public:
    gateway(net::any_io_executor io,
            gateway_options options,
            core::route_selector selector,
            route_table routes,
            core::id_source& ids,
            core::clock const& clk);

    gateway_options const& options() const { return options_; }

    core::clock const& clock() const { return clock_; }

    /// A fresh connection id in API Gateway's shape, never one of an open connection.
    std::string new_connection_id();

    /// A fresh request or message id (same shape; random, so unique in practice).
    std::string new_request_id();
    std::string trace_id();

    route_target const* find_route(std::string_view key) const;

    metrics& stats() const { return *options_.stats; }

    using steady = std::chrono::steady_clock;

    /// Count and log one finished event: the integration's latency and outcome, one line.
    void record(std::string_view event,
                std::string_view connection_id,
                std::string_view route,
                invocation_result const& result,
                steady::time_point started);

    /// Invoke `route` with `ev` and complete `token` on the I/O thread with the
    /// invocation_result. Used by the handshake coroutine for $connect.
    template <class Token>
    auto async_invoke(route_target const& route, core::event ev, Token&& token)
    {
        return net::async_initiate<Token, void(invocation_result)>(
            [this](auto handler, route_target const* r, core::event e) {
                note(e);
                auto ex = net::get_associated_executor(handler, io_);
                auto shared = std::make_shared<decltype(handler)>(std::move(handler));
                auto work = net::make_work_guard(ex);
                r->target->invoke(std::move(e), [shared, ex, work](invocation_result res) {
                    net::post(ex, [shared, res = std::move(res)]() mutable {
                        (*shared)(std::move(res));
                    });
                });
            },
            token,
            &route,
            std::move(ev));
    }

    /// True until shutdown begins; the handshake refuses new connections after that.
    bool accepting() const { return accepting_; }

    /// A session finished its handshake: it can now receive posts.
    void opened(std::shared_ptr<ws_session> const& s);

    /// A text frame arrived on `s`: route it and invoke the integration.
    void on_frame(std::shared_ptr<ws_session> const& s, std::string text);

    /// The connection described by `info` ended (after a successful $connect). Runs
    /// $disconnect. Called exactly once per such connection.
    void on_closed(core::connection_info const& info, int code, std::string reason);

    /// PostToConnection.
    post_status post(std::string_view connection_id, std::shared_ptr<std::string const> data);

    /// GetConnection: what API Gateway reports about an open connection.
    struct connection_view
    {
        core::epoch_ms connected_at;
        core::peer_identity identity;
        core::epoch_ms last_active;
    };

    std::optional<connection_view> get(std::string_view connection_id) const;

    /// DeleteConnection: close with 1000 "Connection Closed Normally". False when not open.
    bool remove(std::string_view connection_id);

    /// Stop taking connections and close every open one with 1001 "Going away".
    void begin_shutdown();

    /// Drop connections whose close handshake has not finished (end of the shutdown grace).
    void abort_all();

    std::size_t open_count() const { return live_.size(); }

    /// Integration calls started and not yet reported back.
    std::size_t pending_count() const { return pending_; }

    /// The cork: `s` has frames queued. Every session corked during one handler is written
    /// from one posted handler after it, so a fan-out to N clients costs one post, not N, and
    /// each client gets everything queued for it in one system call. Only an open or closing
    /// session corks (one the gateway holds in live_), so the cork list holds plain pointers:
    /// a session that closes meanwhile is kept alive by retired_ until the list is written.
    void cork(ws_session& s);

private:
    /// Write the event to --event-log, if on.
    void note(core::event const& ev);

    void finish_message(std::shared_ptr<ws_session> const& s,
                        route_target const& route,
                        std::string const& request_id,
                        invocation_result result,
                        steady::time_point started);
    void apply(core::outcome const& out);

    /// The session of an id in live_ (open or closing), or nullptr.
    ws_session* find_live(std::string_view connection_id) const;

    /// Execute one PostToConnection. To several connections, the frame is built once and the
    /// sessions come from recipients_.
    void post_all(core::post_to_connection const& p);

    /// Run the cork's handler (once per pass, however often asked).
    void schedule_flush();
    void send_gateway_frame(ws_session& s, std::string_view message, std::string_view request_id);

    net::any_io_executor io_;
    gateway_options options_;
    core::route_selector selector_;
    route_table routes_;
    core::id_source& ids_;
    core::clock const& clock_;
    std::unordered_map<std::string, std::shared_ptr<ws_session>, core::string_hash, std::equal_to<>>
        live_;
    std::size_t pending_ = 0;
    bool accepting_ = true;

    recipient_cache<ws_session> recipients_; ///< cleared whenever live_ changes
    std::vector<ws_session*> corked_;
    std::vector<ws_session*> flushing_; ///< (kept for its capacity)
    /// Closed sessions, held until the cork handler after their close has run: a closed
    /// session may still be on the cork list. (Its cancelled timer's handler holds it too, but
    /// the cork does not depend on that.)
    std::vector<std::shared_ptr<ws_session>> retired_;
    std::vector<std::shared_ptr<ws_session>> releasing_; ///< (kept for its capacity)
    bool cork_posted_ = false;
    std::atomic<std::uint64_t>* unrouted_in_ = nullptr; ///< messages_in for frames with no route
};

} // namespace chatd::server
