#include "gateway.hpp"

#include <chatd/core/event_json.hpp>

#include <cstdio>
#include <vector>

#include "log.hpp"

namespace chatd::server {

gateway::gateway(net::any_io_executor io,
                 gateway_options options,
                 core::route_selector selector,
                 route_table routes,
                 core::id_source& ids,
                 core::clock const& clk)
    : io_(std::move(io))
    , options_(std::move(options))
    , selector_(std::move(selector))
    , routes_(std::move(routes))
    , ids_(ids)
    , clock_(clk)
{}

std::string gateway::new_id()
{
    for (;;) {
        auto id = ids_.next_id();
        if (!live_.contains(id))
            return id;
    }
}

std::string gateway::trace_id()
{
    // X-Amzn-Trace-Id: Root=1-<8 hex: epoch seconds>-<24 hex random>
    char secs[16];
    std::snprintf(
        secs, sizeof secs, "%08llx", static_cast<unsigned long long>(clock_.now() / 1000));
    return std::string("Root=1-") + secs + "-" + ids_.hex(24);
}

route_target const* gateway::find_route(std::string_view key) const
{
    auto it = routes_.find(key);
    return it == routes_.end() ? nullptr : &it->second;
}

void gateway::note(core::event const& ev)
{
    if (options_.events)
        options_.events->write(core::serialize(ev));
}

void gateway::opened(std::shared_ptr<ws_session> const& s)
{
    live_.emplace(s->info().connection_id, s);
    log::debug("connected " + s->info().connection_id + " from " + s->info().identity.source_ip);
}

void gateway::on_frame(std::shared_ptr<ws_session> const& s, std::string text)
{
    auto now = clock_.now();
    s->touch(now);
    auto request_id = new_id();
    auto key = selector_.select(text);
    route_target const* route = key ? find_route(*key) : nullptr;
    if (!route || !route->target) {
        // contract(no-route): no match and no $default -> Forbidden frame, connection stays.
        send_gateway_frame(*s, "Forbidden", request_id);
        s->event_done();
        return;
    }
    auto ev = core::make_message_event(s->info(), *key, request_id, new_id(), now, std::move(text));
    note(ev);
    ++pending_;
    route->target->invoke(
        std::move(ev), [this, s, route, request_id](invocation_result result) mutable {
            // dispatch: integrations complete on the I/O thread, so this usually runs inline.
            net::dispatch(io_, [this, s, route, request_id, result = std::move(result)]() mutable {
                --pending_;
                finish_message(s, *route, request_id, std::move(result));
            });
        });
}

void gateway::finish_message(std::shared_ptr<ws_session> const& s,
                             route_target const& route,
                             std::string const& request_id,
                             invocation_result result)
{
    s->event_done();
    switch (result.st) {
    case invocation_result::status::function_error:
        // contract(integration-error): the caller gets the gateway's frame; it stays open.
        log::warn("integration error on " + s->info().connection_id + ": " + result.error);
        send_gateway_frame(*s, "Internal server error", request_id);
        return;
    case invocation_result::status::timeout:
        send_gateway_frame(*s, "Endpoint request timed out", request_id);
        return;
    case invocation_result::status::ok:
        break;
    }
    // contract(route-response): only two-way routes return the body, whatever the status.
    if (route.two_way && result.out.body && !result.out.body->empty())
        s->deliver(std::make_shared<std::string const>(*result.out.body));
    apply(result.out);
}

void gateway::send_gateway_frame(ws_session& s,
                                 std::string_view message,
                                 std::string_view request_id)
{
    // contract(error-frame): byte layout as API Gateway sends it (one space after the first
    // colon only). Ids contain no characters that need escaping.
    std::string frame = "{\"message\": \"";
    frame.append(message)
        .append("\", \"connectionId\":\"")
        .append(s.info().connection_id)
        .append("\", \"requestId\":\"")
        .append(request_id)
        .append("\"}");
    s.deliver(std::make_shared<std::string const>(std::move(frame)));
}

void gateway::apply(core::outcome const& out)
{
    for (auto const& a : out.actions) {
        if (auto const* p = std::get_if<core::post_to_connection>(&a)) {
            for (auto const& id : p->connection_ids)
                post(id, p->data); // a gone recipient is the integration's 410, ignored here
        } else if (auto const* d = std::get_if<core::delete_connection>(&a)) {
            remove(d->connection_id);
        }
    }
}

void gateway::on_closed(core::connection_info const& info, int code, std::string reason)
{
    live_.erase(info.connection_id);
    log::debug("disconnected " + info.connection_id + " code " + std::to_string(code));
    auto const* route = find_route("$disconnect");
    if (!route || !route->target)
        return;
    auto ev = core::make_disconnect_event(info, new_id(), clock_.now(), code, std::move(reason));
    note(ev);
    ++pending_;
    // contract(disconnect): results and errors of $disconnect are ignored, but the
    // management API calls it made still happen (memberLeft to the others).
    route->target->invoke(std::move(ev), [this](invocation_result result) mutable {
        net::dispatch(io_, [this, result = std::move(result)]() mutable {
            --pending_;
            if (result.st == invocation_result::status::ok)
                apply(result.out);
        });
    });
}

post_status gateway::post(std::string_view connection_id, std::shared_ptr<std::string const> data)
{
    auto it = live_.find(connection_id);
    if (it == live_.end())
        return post_status::gone;
    return it->second->deliver(std::move(data));
}

std::optional<gateway::connection_view> gateway::get(std::string_view connection_id) const
{
    auto it = live_.find(connection_id);
    if (it == live_.end() || !it->second->is_open())
        return std::nullopt;
    auto const& s = *it->second;
    return connection_view{s.info().connected_at, s.info().identity, s.last_active()};
}

bool gateway::remove(std::string_view connection_id)
{
    auto it = live_.find(connection_id);
    if (it == live_.end() || !it->second->is_open())
        return false;
    auto s = it->second;
    // contract(delete): $disconnect sees 1000 "Connection Closed Normally".
    s->close(1000, "Connection Closed Normally");
    return true;
}

void gateway::begin_shutdown()
{
    accepting_ = false;
    std::vector<std::shared_ptr<ws_session>> all;
    all.reserve(live_.size());
    for (auto const& [id, s] : live_)
        all.push_back(s);
    for (auto const& s : all)
        s->close(1001, "Going away");
}

void gateway::abort_all()
{
    std::vector<std::shared_ptr<ws_session>> all;
    for (auto const& [id, s] : live_)
        all.push_back(s);
    for (auto const& s : all)
        s->abort(1001, "Going away");
}

} // namespace chatd::server
