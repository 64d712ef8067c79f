#include "app/http_routes.hpp"

#include "gateway/management_api.hpp"
#include "transport/static_files.hpp"

namespace chatd::server {
namespace {

/// Largest body of a request that is not a PostToConnection.
constexpr std::size_t max_other_body_bytes = 64 * 1024;

/// load_static as a coroutine for co_spawn onto the file thread. Parameters are taken by
/// value so the coroutine frame owns them (a capturing lambda coroutine would not).
net::awaitable<static_file>
load_static_async(std::filesystem::path root, std::string target, conditional cond)
{
    co_return load_static(root, target, cond);
}

} // namespace

http_routes::http_routes(gateway& gw,
                         core::id_source& ids,
                         metrics& stats,
                         std::filesystem::path static_root,
                         net::any_io_executor files)
    : gw_(gw)
    , ids_(ids)
    , stats_(stats)
    , static_root_(std::move(static_root))
    , files_(std::move(files))
{}

std::size_t http_routes::body_limit(std::string_view target) const
{
    return is_management_target(target) ? max_post_bytes : max_other_body_bytes;
}

http_response http_routes::too_large(http::request_header<> const& req, std::uint64_t length)
{
    if (is_management_target(req.target()))
        return post_too_large(ids_, req.version(), length);
    return text_response(
        req.version(), http::status::payload_too_large, "request body too large\n");
}

net::awaitable<std::optional<http_response>> http_routes::upgrade(http_request req,
                                                                  transport& stream)
{
    co_return co_await gw_.connect(req, stream);
}

net::awaitable<http_response> http_routes::serve(http_request const& req)
{
    auto const v = req.version();
    auto target = std::string_view(req.target());
    auto path = target.substr(0, target.find('?'));
    if (path == "/chatd.json")
        co_return chatd_json(v);
    if (path == "/healthz")
        co_return text_response(v, http::status::ok, "ok\n");
    if (path == "/metrics") {
        auto res = text_response(v, http::status::ok, stats_.render());
        res.set(http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
        res.set(http::field::cache_control, "no-store");
        co_return res;
    }
    if (is_management_target(target))
        co_return management(req);
    if (path != "/" && is_stage_path(path, gw_.options().stage)) {
        // contract(upgrade-required): a plain GET of the WebSocket URL -> 426.
        auto res =
            text_response(v,
                          http::status::upgrade_required,
                          "This is a WebSocket endpoint: connect with a WebSocket client.\n");
        res.set(http::field::upgrade, "websocket");
        co_return res;
    }
    if (req.method() != http::verb::get && req.method() != http::verb::head) {
        auto res = text_response(v, http::status::method_not_allowed, "method not allowed\n");
        res.set(http::field::allow, "GET, HEAD");
        co_return res;
    }
    co_return co_await static_file(req);
}

http_response http_routes::chatd_json(unsigned version) const
{
    auto res = text_response(version,
                             http::status::ok,
                             "{\"stage\":\"" + gw_.options().stage +
                                 "\",\"version\":\"" CHATD_VERSION "\"}\n");
    res.set(http::field::content_type, "application/json");
    res.set(http::field::cache_control, "no-store");
    return res;
}

http_response http_routes::management(http_request const& req)
{
    auto res = handle_management(gw_.connections(), gw_.options().stage, ids_, req);
    stats_.management_calls.add(std::string(req.method_string()) + " " +
                                std::to_string(res.result_int()));
    return res;
}

net::awaitable<http_response> http_routes::static_file(http_request const& req)
{
    // File reads block: do them on the file thread, then come back here.
    conditional cond;
    if (auto it = req.find(http::field::if_none_match); it != req.end())
        cond.if_none_match = std::string(it->value());
    if (auto it = req.find(http::field::if_modified_since); it != req.end())
        cond.if_modified_since = std::string(it->value());
    auto file = co_await net::co_spawn(
        files_,
        load_static_async(static_root_, std::string(req.target()), std::move(cond)),
        net::use_awaitable);
    auto res =
        text_response(req.version(), static_cast<http::status>(file.status), std::move(file.body));
    res.set(http::field::content_type, file.content_type);
    // no-cache: the browser keeps the file but asks every time (a 304 when unchanged), so
    // edits to a client under --static show up on the next reload.
    res.set(http::field::cache_control, "no-cache");
    res.set("X-Content-Type-Options", "nosniff");
    res.set("Content-Security-Policy", content_security_policy);
    res.set("Referrer-Policy", "no-referrer");
    if (!file.etag.empty()) {
        res.set(http::field::etag, file.etag);
        res.set(http::field::last_modified, file.last_modified);
    }
    res.prepare_payload();
    if (file.status == 304)
        res.erase(http::field::content_length); // a 304 has no body and describes none
    co_return res;
}

} // namespace chatd::server
