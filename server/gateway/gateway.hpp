#pragma once

#include <chatd/core/clock.hpp>
#include <chatd/core/ids.hpp>
#include <chatd/core/route.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "gateway/connection_registry.hpp"
#include "integrations/integration.hpp"
#include "ops/line_writer.hpp"
#include "ops/metrics.hpp"
#include "transport/http_session.hpp"
#include "transport/net.hpp"
#include "transport/ws_session.hpp"

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
    /// $connect only: a REQUEST authorizer, and the identity sources it needs.
    raw_invoker* authorizer = nullptr;
    std::vector<std::string> identity_sources;
};

using route_table = std::map<std::string, route_target, std::less<>>;

struct gateway_options
{
    std::string stage;
    std::string api_id;
    ws_session::limits session_limits;
    line_writer* events = nullptr;           ///< --event-log, when given
    std::string region = "us-east-1";        ///< for an authorizer's methodArn
    std::string account_id = "123456789012"; ///< for an authorizer's methodArn
    core::field_list stage_variables;        ///< the stage's, on every event (a template's)
};

/// "/", "/{stage}" and "/{stage}/" (any query aside): the WebSocket endpoint's paths.
bool is_stage_path(std::string_view target, std::string_view stage);

/// The API Gateway stand-in: for each client event it selects the route, builds the event,
/// invokes the route's integration and carries out what the result asks (replies, error
/// frames, management API calls). It owns the WebSocket handshake's $connect, the message
/// routes and $disconnect; the open connections live in its registry. The I/O thread's (one
/// executor, no locks); integrations report back by posting to it.
class gateway final : public session_events
{
public:
    gateway(net::any_io_executor io,
            gateway_options options,
            core::route_selector selector,
            route_table routes,
            core::id_source& ids,
            core::clock const& clk,
            metrics& stats);

    gateway_options const& options() const { return options_; }

    core::clock const& clock() const override { return clock_; }

    /// The open connections, for the management API.
    connection_registry& connections() { return registry_; }

    /// A WebSocket upgrade request (see http_handler::upgrade): checks it, runs $connect, and
    /// on success hands `stream` to a new session; otherwise returns the refusal.
    net::awaitable<std::optional<http_response>> connect(http_request const& req,
                                                         transport& stream);

    /// Stop taking connections and close every open one with 1001 "Going away".
    void begin_shutdown();

    /// Drop connections whose close handshake has not finished (end of the shutdown grace).
    void abort_all();

    std::size_t open_count() const { return registry_.size(); }

    /// Integration calls started and not yet reported back.
    std::size_t pending_count() const { return pending_; }

    // session_events
    void on_open(std::shared_ptr<connection> const& c) override;
    void on_message(std::shared_ptr<connection> const& c, std::string text) override;
    void on_close(core::connection_info const& info, int code, std::string reason) override;

    void cork(connection& c) override { registry_.cork(c); }

    using steady = std::chrono::steady_clock;

private:
    /// What $connect decided: the refusal to send, or the subprotocol for the 101.
    struct connect_decision
    {
        std::optional<http_response> refusal;
        std::optional<std::string> subprotocol;
    };

    route_target const* find_route(std::string_view key) const;

    /// The one way an integration is called: the event goes to --event-log, counts as
    /// pending, and `done(invocation_result)` runs on the I/O thread with the result. (A
    /// template, so that `done` is type-erased once, inside the integration's completion.)
    template <class Done>
    void invoke(route_target const& route, core::event ev, Done done);

    /// invoke() for a coroutine.
    net::awaitable<invocation_result> invoke_awaitable(route_target const& route, core::event ev);

    /// Run $connect (when routed) for a checked handshake.
    net::awaitable<connect_decision>
    run_connect(http_request const& req, transport& stream, core::connection_info& info);
    /// The $connect route's authorizer: nothing when it allows (info.authorizer is set then),
    /// else the refusal (401, 403 or 500).
    net::awaitable<std::optional<http_response>> authorize(route_target const& route,
                                                           http_request const& req,
                                                           core::event const& connect_event,
                                                           core::field_list const& headers,
                                                           core::connection_info& info);

    /// Count and log one finished event: the integration's latency and outcome, one line.
    void record(std::string_view event,
                std::string_view connection_id,
                std::string_view route,
                invocation_result const& result,
                steady::time_point started);

    void finish_message(connection& c,
                        route_target const& route,
                        std::string const& request_id,
                        invocation_result result,
                        steady::time_point started);
    void apply(core::outcome const& out);
    void send_gateway_frame(connection& c, std::string_view message, std::string_view request_id);
    std::string trace_id();

    net::any_io_executor io_;
    gateway_options options_;
    core::route_selector selector_;
    route_table routes_;
    core::id_source& ids_;
    core::clock const& clock_;
    metrics& stats_;
    connection_registry registry_;
    std::size_t pending_ = 0;
    bool accepting_ = true;
    std::shared_ptr<core::field_list const> stage_variables_; ///< null: the stage has none
    std::atomic<std::uint64_t>* unrouted_in_ = nullptr; ///< messages_in for frames with no route
};

} // namespace chatd::server
