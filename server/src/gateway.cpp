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
{
    // Counters are looked up once here, so a frame costs one relaxed increment.
    for (auto& [key, route] : routes_) {
        route.key = key;
        route.frames_in = &stats().messages_in.at(key);
    }
    unrouted_in_ = &stats().messages_in.at("");
}

std::string gateway::new_request_id()
{
    return ids_.next_id();
}

std::string gateway::new_connection_id()
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

void gateway::record(std::string_view event,
                     std::string_view connection_id,
                     std::string_view route,
                     invocation_result const& result,
                     steady::time_point started)
{
    using st = invocation_result::status;
    double seconds = std::chrono::duration<double>(steady::now() - started).count();
    stats().integration_seconds.observe(seconds);
    auto outcome = result.st == st::ok               ? "ok"
                   : result.st == st::function_error ? "function_error"
                                                     : "timeout";
    stats().integration_outcomes.add(outcome);
    if (!log::enabled(result.st == st::ok ? log::level::info : log::level::warn))
        return;
    log::event_fields f;
    f.event = event;
    f.connection_id = connection_id;
    f.route = route;
    f.outcome = outcome;
    f.latency_ms = seconds * 1000;
    if (result.st == st::ok)
        f.code = result.out.status_code;
    else
        f.detail = result.error;
    log::event(result.st == st::ok ? log::level::info : log::level::warn, f);
}

void gateway::opened(std::shared_ptr<ws_session> const& s)
{
    live_.emplace(s->info().connection_id, s);
    recipients_.clear();
    stats().connects.fetch_add(1, std::memory_order_relaxed);
    stats().open_connections.store(std::int64_t(live_.size()), std::memory_order_relaxed);
}

void gateway::cork(ws_session& s)
{
    corked_.push_back(&s);
    schedule_flush();
}

void gateway::schedule_flush()
{
    if (cork_posted_)
        return;
    cork_posted_ = true;
    net::post(io_, [this] {
        cork_posted_ = false;
        // Sessions retired before this handler may be on the list being written: they are
        // let go after it. (One corked or retired from here on is for the next handler: a
        // closed session never corks again.)
        flushing_.swap(corked_);
        releasing_.swap(retired_);
        for (auto* session : flushing_)
            session->uncork();
        flushing_.clear();
        releasing_.clear();
    });
}

void gateway::on_frame(std::shared_ptr<ws_session> const& s, std::string text)
{
    auto now = clock_.now();
    s->touch(now);
    auto request_id = new_request_id();
    auto started = steady::now();
    auto key = selector_.select(text);
    route_target const* route = key ? find_route(*key) : nullptr;
    (route ? route->frames_in : unrouted_in_)->fetch_add(1, std::memory_order_relaxed);
    if (!route || !route->target) {
        // contract(no-route): no match and no $default -> Forbidden frame, connection stays.
        send_gateway_frame(*s, "Forbidden", request_id);
        s->event_done();
        if (log::enabled(log::level::info))
            log::event(
                log::level::info,
                {"MESSAGE", s->info().connection_id, key ? *key : "", "no_route", -1, -1, {}});
        return;
    }
    auto ev = core::make_message_event(
        s->info(), *key, request_id, new_request_id(), now, std::move(text));
    note(ev);
    ++pending_;
    route->target->invoke(
        std::move(ev), [this, s, route, request_id, started](invocation_result result) mutable {
            // dispatch: integrations complete on the I/O thread, so this usually runs inline.
            net::dispatch(
                io_, [this, s, route, request_id, started, result = std::move(result)]() mutable {
                    --pending_;
                    finish_message(s, *route, request_id, std::move(result), started);
                });
        });
}

void gateway::finish_message(std::shared_ptr<ws_session> const& s,
                             route_target const& route,
                             std::string const& request_id,
                             invocation_result result,
                             steady::time_point started)
{
    s->event_done();
    record("MESSAGE", s->info().connection_id, route.key, result, started);
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
    if (route.two_way && result.out.body && !result.out.body->empty() &&
        s->deliver(std::make_shared<std::string const>(*result.out.body)) == post_status::ok)
        stats().replies_out.fetch_add(1, std::memory_order_relaxed);
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
    if (s.deliver(std::make_shared<std::string const>(std::move(frame))) == post_status::ok)
        stats().errors_out.fetch_add(1, std::memory_order_relaxed);
}

void gateway::apply(core::outcome const& out)
{
    for (auto const& a : out.actions) {
        if (auto const* p = std::get_if<core::post_to_connection>(&a)) {
            post_all(*p);
        } else if (auto const* d = std::get_if<core::delete_connection>(&a)) {
            remove(d->connection_id);
        }
    }
}

void gateway::post_all(core::post_to_connection const& p)
{
    // A gone recipient is the integration's 410, ignored here.
    auto const& ids = *p.connection_ids;
    if (ids.empty())
        return;
    if (ids.size() == 1) {
        if (p.except.empty() || ids.front() != p.except)
            post(ids.front(), p.data);
        return;
    }
    // Built once for every recipient (longer messages are split per connection instead).
    std::shared_ptr<std::string const> frame;
    if (p.data->size() <= ws_session::max_frame_out)
        frame = std::make_shared<std::string const>(ws::text_frame(*p.data));
    ws_session const* except = p.except.empty() ? nullptr : find_live(p.except);
    auto now = clock_.now();
    std::uint64_t posted = 0;
    // (Delivering never closes a session from inside the call, see ws_session::abort, so the
    // list and its sessions stay as they are throughout the loop.)
    auto find = [this](std::string const& id) {
        return find_live(id);
    };
    for (auto* s : recipients_.sessions(p.connection_ids, find)) {
        if (!s || s == except)
            continue;
        auto st = frame ? s->deliver_frame(frame, now) : s->deliver(p.data);
        if (st == post_status::ok)
            ++posted;
        else if (st == post_status::limit)
            stats().drops.add("client_write_queue");
    }
    stats().posts_out.fetch_add(posted, std::memory_order_relaxed);
}

void gateway::on_closed(core::connection_info const& info, int code, std::string reason)
{
    if (auto it = live_.find(info.connection_id); it != live_.end()) {
        retired_.push_back(std::move(it->second));
        live_.erase(it);
        schedule_flush();
    }
    recipients_.clear();
    stats().open_connections.store(std::int64_t(live_.size()), std::memory_order_relaxed);
    stats().disconnects.add(std::to_string(code));
    auto const* route = find_route("$disconnect");
    if (!route || !route->target) {
        if (log::enabled(log::level::info))
            log::event(log::level::info,
                       {"DISCONNECT", info.connection_id, "", "ok", -1, code, reason});
        return;
    }
    auto ev =
        core::make_disconnect_event(info, new_request_id(), clock_.now(), code, std::move(reason));
    note(ev);
    ++pending_;
    // contract(disconnect): results and errors of $disconnect are ignored, but the
    // management API calls it made still happen (memberLeft to the others).
    route->target->invoke(
        std::move(ev),
        [this, id = info.connection_id, code, started = steady::now()](
            invocation_result result) mutable {
            net::dispatch(
                io_,
                [this, id = std::move(id), code, started, result = std::move(result)]() mutable {
                    --pending_;
                    if (result.st == invocation_result::status::ok)
                        result.out.status_code = code; // the close code, for the log
                    record("DISCONNECT", id, "$disconnect", result, started);
                    if (result.st == invocation_result::status::ok)
                        apply(result.out);
                });
        });
}

ws_session* gateway::find_live(std::string_view connection_id) const
{
    auto it = live_.find(connection_id);
    return it == live_.end() ? nullptr : it->second.get();
}

post_status gateway::post(std::string_view connection_id, std::shared_ptr<std::string const> data)
{
    auto* s = find_live(connection_id);
    if (!s)
        return post_status::gone;
    auto st = s->deliver(std::move(data));
    if (st == post_status::ok)
        stats().posts_out.fetch_add(1, std::memory_order_relaxed);
    else if (st == post_status::limit)
        stats().drops.add("client_write_queue");
    return st;
}

std::optional<gateway::connection_view> gateway::get(std::string_view connection_id) const
{
    auto const* s = find_live(connection_id);
    if (!s || !s->is_open())
        return std::nullopt;
    return connection_view{s->info().connected_at, s->info().identity, s->last_active()};
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
