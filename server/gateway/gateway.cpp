#include "gateway/gateway.hpp"

#include <chatd/core/authorizer.hpp>
#include <chatd/core/event_json.hpp>

#include <cstdio>
#include <vector>

#include "gateway/management_api.hpp"
#include "ops/log.hpp"
#include "transport/ws_protocol.hpp"

namespace chatd::server {
namespace {

bool is_lifecycle_route(std::string_view key)
{
    return key == "$connect" || key == "$disconnect";
}

http_response shutting_down(unsigned version)
{
    return text_response(version, http::status::service_unavailable, "chatd is shutting down\n");
}

/// A handshake chatd cannot complete, refused before $connect runs (RFC 6455 section 4.2.2).
std::optional<http_response> bad_handshake(http_request const& req)
{
    auto const v = req.version();
    if (req[http::field::sec_websocket_version] != "13") {
        auto res = text_response(v,
                                 http::status::upgrade_required,
                                 "Unsupported Sec-WebSocket-Version: this server speaks 13\n");
        res.set(http::field::sec_websocket_version, "13");
        return res;
    }
    if (!ws::valid_client_key(std::string(req[http::field::sec_websocket_key])))
        return text_response(
            v,
            http::status::bad_request,
            "Bad Sec-WebSocket-Key: it must be 16 random bytes in base64 (24 characters)\n");
    return std::nullopt;
}

} // namespace

bool is_stage_path(std::string_view target, std::string_view stage)
{
    auto path = target.substr(0, target.find('?'));
    if (path == "/")
        return true;
    if (path.size() < 2 || path.substr(1, stage.size()) != stage)
        return false;
    auto rest = path.substr(1 + stage.size());
    return rest.empty() || rest == "/";
}

gateway::gateway(net::any_io_executor io,
                 gateway_options options,
                 core::route_selector selector,
                 route_table routes,
                 core::id_source& ids,
                 core::clock const& clk,
                 metrics& stats)
    : io_(io)
    , options_(std::move(options))
    , selector_(std::move(selector))
    , routes_(std::move(routes))
    , ids_(ids)
    , clock_(clk)
    , stats_(stats)
    , registry_(std::move(io), stats)
{
    if (!options_.stage_variables.empty())
        stage_variables_ = std::make_shared<core::field_list const>(options_.stage_variables);
    // Counters are looked up once here, so a frame costs one relaxed increment. $connect and
    // $disconnect are no frames: they have no series.
    for (auto& [key, route] : routes_) {
        route.key = key;
        if (!is_lifecycle_route(key))
            route.frames_in = &stats_.messages_in.at(key);
    }
    unrouted_in_ = &stats_.messages_in.at("");
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
    return it == routes_.end() || !it->second.target ? nullptr : &it->second;
}

template <class Done>
void gateway::invoke(route_target const& route, core::event ev, Done done)
{
    ev.stage_variables = stage_variables_;
    if (options_.events)
        options_.events->write(core::serialize(ev));
    ++pending_;
    route.target->invoke(
        std::move(ev), [this, done = std::move(done)](invocation_result result) mutable {
            // Integrations usually complete on the I/O thread already; then
            // this runs inline.
            net::dispatch(io_,
                          [this, done = std::move(done), result = std::move(result)]() mutable {
                              --pending_;
                              done(std::move(result));
                          });
        });
}

net::awaitable<invocation_result> gateway::invoke_awaitable(route_target const& route,
                                                            core::event ev)
{
    co_return co_await net::async_initiate<decltype(net::use_awaitable), void(invocation_result)>(
        [this, &route](auto handler, core::event e) {
            auto shared = std::make_shared<decltype(handler)>(std::move(handler));
            invoke(route,
                   std::move(e),
                   [shared, work = net::make_work_guard(io_)](invocation_result r) {
                       // (Resumed from a handler of its own, never from inside invoke().)
                       auto ex = net::get_associated_executor(*shared);
                       net::post(ex,
                                 [shared, r = std::move(r)]() mutable { (*shared)(std::move(r)); });
                   });
        },
        net::use_awaitable,
        std::move(ev));
}

void gateway::record(std::string_view event,
                     std::string_view connection_id,
                     std::string_view route,
                     invocation_result const& result,
                     steady::time_point started)
{
    using st = invocation_result::status;
    double seconds = std::chrono::duration<double>(steady::now() - started).count();
    stats_.integration_seconds.observe(seconds);
    auto outcome = result.st == st::ok               ? "ok"
                   : result.st == st::function_error ? "function_error"
                                                     : "timeout";
    stats_.integration_outcomes.add(outcome);
    auto lvl = result.st == st::ok ? log::level::info : log::level::warn;
    if (!log::enabled(lvl))
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
    log::event(lvl, f);
}

// --- $connect ------------------------------------------------------------------------------

net::awaitable<std::optional<http_response>> gateway::connect(http_request const& req,
                                                              transport& stream)
{
    auto const v = req.version();
    if (!is_stage_path(req.target(), options_.stage)) {
        // API Gateway says only "Forbidden"; the log says what the right path is.
        log::info("WebSocket upgrade refused with 403, as API Gateway would: the path is not "
                  "this chatd's stage; connect to /" +
                  options_.stage + " (or /)");
        co_return management_error(
            ids_, v, http::status::forbidden, "ForbiddenException", "Forbidden");
    }
    if (!accepting_)
        co_return shutting_down(v);
    if (auto refused = bad_handshake(req))
        co_return refused;
    auto accept = ws::accept_key(req[http::field::sec_websocket_key]);
    if (!accept) {
        log::error("cannot compute Sec-WebSocket-Accept: OpenSSL's SHA-1 failed");
        co_return text_response(v, http::status::internal_server_error, "Internal server error\n");
    }

    core::connection_info info;
    info.connection_id = registry_.new_id(ids_);
    info.connected_at = clock_.now();
    info.identity.source_ip = stream.remote_ip();
    if (auto it = req.find(http::field::user_agent); it != req.end())
        info.identity.user_agent = std::string(it->value());
    info.domain_name = std::string(req[http::field::host]);
    info.stage = options_.stage;
    info.api_id = options_.api_id;

    auto decision = co_await run_connect(req, stream, info);
    if (decision.refusal)
        co_return std::move(decision.refusal);
    auto session = std::make_shared<ws_session>(
        std::move(stream), *this, std::move(info), options_.session_limits);
    session->start(*accept, std::move(decision.subprotocol));
    co_return std::nullopt;
}

net::awaitable<gateway::connect_decision>
gateway::run_connect(http_request const& req, transport& stream, core::connection_info& info)
{
    auto const* route = find_route("$connect");
    if (!route) {
        if (log::enabled(log::level::info))
            log::event(log::level::info, {"CONNECT", info.connection_id, "", "ok", -1, -1, {}});
        co_return connect_decision{};
    }
    core::field_list headers;
    for (auto const& f : req)
        headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
    auto target = std::string_view(req.target());
    std::optional<std::string_view> raw_query;
    if (auto q = target.find('?'); q != std::string_view::npos)
        raw_query = target.substr(q + 1);
    auto make_event = [&] {
        return core::make_connect_event(info,
                                        ids_.next_id(),
                                        clock_.now(),
                                        headers,
                                        raw_query,
                                        trace_id(),
                                        stream.local_port(),
                                        stream.secure() ? "https" : "http");
    };
    auto ev = make_event();
    ev.stage_variables = stage_variables_; // for the authorizer's event too
    if (route->authorizer) {
        if (auto refused = co_await authorize(*route, req, ev, headers, info))
            co_return connect_decision{std::move(refused), std::nullopt};
        ev = make_event(); // with requestContext.authorizer now
    }
    // contract(connect): the upgrade waits for $connect; its result decides the handshake.
    auto started = steady::now();
    auto result = co_await invoke_awaitable(*route, std::move(ev));
    record("CONNECT", info.connection_id, "$connect", result, started);
    auto const v = req.version();
    auto refuse = [&](int code, http_response res) {
        stats_.connects_refused.add(std::to_string(code));
        return connect_decision{std::move(res), std::nullopt};
    };
    using st = invocation_result::status;
    if (result.st == st::function_error)
        co_return refuse(502, text_response(v, http::status::bad_gateway, ""));
    if (result.st == st::timeout)
        co_return refuse(504, text_response(v, http::status::gateway_timeout, ""));
    int code = result.out.status_code;
    if (code < 200 || code > 299) {
        if (result.out.body && log::enabled(log::level::info))
            log::info("$connect refused " + info.connection_id + " with " + std::to_string(code) +
                      ": " + *result.out.body);
        http_response res{static_cast<http::status>(code), v};
        res.set(http::field::server, "chatd");
        res.prepare_payload();
        co_return refuse(code, std::move(res));
    }
    if (!accepting_) {
        // $connect succeeded, so the integration must hear $disconnect.
        on_close(info, 1001, "Going away");
        co_return connect_decision{shutting_down(v), std::nullopt};
    }
    connect_decision out;
    for (auto const& [name, value] : result.out.headers)
        if (beast::iequals(name, "Sec-WebSocket-Protocol"))
            out.subprotocol = value;
    co_return out;
}

net::awaitable<std::optional<http_response>> gateway::authorize(route_target const& route,
                                                                http_request const& req,
                                                                core::event const& connect_event,
                                                                core::field_list const& headers,
                                                                core::connection_info& info)
{
    auto const v = req.version();
    auto refuse = [&](int code, std::string const& why) -> std::optional<http_response> {
        stats_.connects_refused.add(std::to_string(code));
        log::info("CONNECT " + info.connection_id + " refused by the authorizer with " +
                  std::to_string(code) + ": " + why);
        http_response res{static_cast<http::status>(code), v};
        res.set(http::field::server, "chatd");
        res.prepare_payload();
        return res;
    };
    if (!core::identity_sources_present(route.identity_sources, headers, connect_event))
        co_return refuse(401, "an identity source is missing or empty");
    auto method_arn = "arn:aws:execute-api:" + options_.region + ":" + options_.account_id + ":" +
                      options_.api_id + "/" + options_.stage + "/$connect";
    auto payload = core::authorizer_request(connect_event, headers, method_arn);
    auto started = steady::now();
    auto result =
        co_await net::async_initiate<decltype(net::use_awaitable), void(raw_invoker::result)>(
            [this, &route](auto handler, std::string p) {
                auto shared = std::make_shared<decltype(handler)>(std::move(handler));
                ++pending_;
                route.authorizer->invoke_raw(
                    std::move(p),
                    [this, shared, work = net::make_work_guard(io_)](raw_invoker::result r) {
                        // (Resumed from a handler of its own, never from inside invoke_raw().)
                        net::post(io_, [this, shared, r = std::move(r)]() mutable {
                            --pending_;
                            (*shared)(std::move(r));
                        });
                    });
            },
            net::use_awaitable,
            std::move(payload));
    auto d = core::read_authorizer_result(result.ok, result.body, method_arn);
    using verdict = core::authorizer_decision::verdict;
    switch (d.v) {
    case verdict::unauthorized:
        co_return refuse(401, d.why);
    case verdict::deny:
        co_return refuse(403, d.why);
    case verdict::error:
        co_return refuse(500, d.why + (result.error.empty() ? "" : " (" + result.error + ")"));
    case verdict::allow:
        break;
    }
    d.context.integration_latency_ms = static_cast<long>(
        std::chrono::duration_cast<std::chrono::milliseconds>(steady::now() - started).count());
    info.authorizer = std::move(d.context);
    co_return std::nullopt;
}

// --- messages ------------------------------------------------------------------------------

void gateway::on_open(std::shared_ptr<connection> const& c)
{
    registry_.add(c);
    stats_.connects.fetch_add(1, std::memory_order_relaxed);
}

void gateway::on_message(std::shared_ptr<connection> const& c, std::string text)
{
    auto now = clock_.now();
    c->touch(now);
    auto request_id = ids_.next_id();
    auto started = steady::now();
    auto key = selector_.select(text);
    route_target const* route = key ? find_route(*key) : nullptr;
    (route ? route->frames_in : unrouted_in_)->fetch_add(1, std::memory_order_relaxed);
    if (!route) {
        // contract(no-route): no match and no $default -> Forbidden frame, connection stays.
        send_gateway_frame(*c, "Forbidden", request_id);
        c->event_done();
        if (log::enabled(log::level::info))
            log::event(
                log::level::info,
                {"MESSAGE", c->info().connection_id, key ? *key : "", "no_route", -1, -1, {}});
        return;
    }
    auto ev =
        core::make_message_event(c->info(), *key, request_id, ids_.next_id(), now, std::move(text));
    invoke(*route, std::move(ev), [this, c, route, request_id, started](invocation_result r) {
        finish_message(*c, *route, request_id, std::move(r), started);
    });
}

void gateway::finish_message(connection& c,
                             route_target const& route,
                             std::string const& request_id,
                             invocation_result result,
                             steady::time_point started)
{
    c.event_done();
    record("MESSAGE", c.info().connection_id, route.key, result, started);
    switch (result.st) {
    case invocation_result::status::function_error:
        // contract(integration-error): the caller gets the gateway's frame; it stays open.
        log::warn("integration error on " + c.info().connection_id + ": " + result.error);
        send_gateway_frame(c, "Internal server error", request_id);
        return;
    case invocation_result::status::timeout:
        send_gateway_frame(c, "Endpoint request timed out", request_id);
        return;
    case invocation_result::status::ok:
        break;
    }
    // contract(route-response): only two-way routes return the body, whatever the status.
    if (route.two_way && result.out.body && !result.out.body->empty() &&
        c.deliver(std::make_shared<std::string const>(*result.out.body)) == post_status::ok)
        stats_.replies_out.fetch_add(1, std::memory_order_relaxed);
    apply(result.out);
}

void gateway::send_gateway_frame(connection& c,
                                 std::string_view message,
                                 std::string_view request_id)
{
    // contract(error-frame): byte layout as API Gateway sends it (one space after the first
    // colon only). Ids contain no characters that need escaping.
    std::string frame = "{\"message\": \"";
    frame.append(message)
        .append("\", \"connectionId\":\"")
        .append(c.info().connection_id)
        .append("\", \"requestId\":\"")
        .append(request_id)
        .append("\"}");
    if (c.deliver(std::make_shared<std::string const>(std::move(frame))) == post_status::ok)
        stats_.errors_out.fetch_add(1, std::memory_order_relaxed);
}

void gateway::apply(core::outcome const& out)
{
    auto now = clock_.now();
    for (auto const& a : out.actions) {
        if (auto const* p = std::get_if<core::post_to_connection>(&a))
            registry_.post_all(*p, now);
        else if (auto const* d = std::get_if<core::delete_connection>(&a))
            registry_.close(d->connection_id);
    }
}

// --- $disconnect ---------------------------------------------------------------------------

void gateway::on_close(core::connection_info const& info, int code, std::string reason)
{
    registry_.remove(info.connection_id);
    stats_.disconnects.add(std::to_string(code));
    auto const* route = find_route("$disconnect");
    if (!route) {
        if (log::enabled(log::level::info))
            log::event(log::level::info,
                       {"DISCONNECT", info.connection_id, "", "ok", -1, code, reason});
        return;
    }
    auto ev =
        core::make_disconnect_event(info, ids_.next_id(), clock_.now(), code, std::move(reason));
    // contract(disconnect): results and errors of $disconnect are ignored, but the
    // management API calls it made still happen (memberLeft to the others).
    invoke(
        *route,
        std::move(ev),
        [this, id = info.connection_id, code, started = steady::now()](invocation_result result) {
            if (result.st == invocation_result::status::ok)
                result.out.status_code = code; // the close code, for the log
            record("DISCONNECT", id, "$disconnect", result, started);
            if (result.st == invocation_result::status::ok)
                apply(result.out);
        });
}

// --- shutdown ------------------------------------------------------------------------------

void gateway::begin_shutdown()
{
    accepting_ = false;
    registry_.close_all(1001, "Going away", false);
}

void gateway::abort_all()
{
    registry_.close_all(1001, "Going away", true);
}

} // namespace chatd::server
