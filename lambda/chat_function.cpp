#include "chat_function.hpp"

#include <chatd/core/event_json.hpp>

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include <cstdio>
#include <cstdlib>

namespace chatd::lambda {
namespace {

std::string env_or(char const* name, std::string fallback)
{
    char const* v = std::getenv(name);
    return v && *v ? std::string(v) : std::move(fallback);
}

std::optional<aws::url> management_from_environment()
{
    auto text = env_or("AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI", "");
    if (text.empty())
        return std::nullopt;
    auto u = aws::url::parse(text);
    if (!u)
        throw std::invalid_argument("AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI '" + text +
                                    "' is not an http:// or https:// URL");
    return u;
}

/// The proxy result API Gateway reads: statusCode, and headers and body when set.
std::string proxy_result(core::outcome const& out)
{
    boost::json::object r{{"statusCode", out.status_code}};
    if (!out.headers.empty()) {
        boost::json::object h;
        for (auto const& [k, v] : out.headers)
            h[k] = v;
        r["headers"] = std::move(h);
    }
    if (out.body)
        r["body"] = *out.body;
    return boost::json::serialize(r);
}

} // namespace

chat_function::chat_function()
    : app_(core::chat_options{}, clock_, ids_)
    , db_(aws::dynamodb_endpoint_from_environment())
    , store_(db_, {storage::dynamodb_tables::from_environment()})
    , region_(env_or("AWS_REGION", env_or("AWS_DEFAULT_REGION", "us-east-1")))
    , management_override_(management_from_environment())
{}

aws::management_client& chat_function::management(core::event const& ev)
{
    auto base = management_override_;
    if (!base) {
        base = aws::url::parse("https://" + ev.context.domain_name + "/" + ev.context.stage);
        if (!base)
            throw std::invalid_argument("cannot make a management API URL from domainName '" +
                                        ev.context.domain_name + "'");
    }
    auto key = (base->tls ? "https://" : "http://") + base->host_header() + base->base_path;
    auto& slot = management_[key];
    if (!slot)
        slot = std::make_unique<aws::management_client>(*base, region_);
    return *slot;
}

void chat_function::deliver(core::outcome const& out,
                            core::event const& ev,
                            std::set<std::string>& gone_seen,
                            int depth)
{
    auto& api = management(ev);
    std::vector<std::string> gone;
    // Actions in order; the recipients of one post in parallel. A client sees its frames in
    // the order the handler made them.
    for (auto const& action : out.actions) {
        if (auto const* d = std::get_if<core::delete_connection>(&action)) {
            api.disconnect(d->connection_id);
            continue;
        }
        auto const& post = std::get<core::post_to_connection>(action);
        std::vector<aws::post_job> jobs;
        post.for_each_recipient([&](std::string const& id) { jobs.push_back({id, post.data}); });
        for (auto const& r : api.post_all(jobs)) {
            if (r.status == aws::post_status::gone)
                gone.push_back(r.connection_id);
            else if (r.status != aws::post_status::ok)
                std::fprintf(
                    stderr, "PostToConnection %s: %s\n", r.connection_id.c_str(), r.detail.c_str());
        }
    }
    if (depth > 0)
        return;
    for (auto const& id : gone) {
        if (!gone_seen.insert(id).second)
            continue;
        // As the built-in app does for a closed connection, the frame is dropped; and since
        // API Gateway's $disconnect is best-effort, the connection is cleaned up here too.
        core::connection_info c;
        c.connection_id = id;
        c.stage = ev.context.stage;
        c.domain_name = ev.context.domain_name;
        c.api_id = ev.context.api_id;
        auto bye = core::make_disconnect_event(
            c, ids_.next_id(), clock_.now(), 1006, "Gone: PostToConnection answered 410");
        deliver(app_.handle(bye, store_), ev, gone_seen, depth + 1);
    }
}

invocation_result chat_function::operator()(invocation const& inv)
{
    std::string error;
    auto ev = core::event_from_json(inv.payload, error);
    if (!ev)
        return invocation_result::error("Runtime.InvalidEvent", error);
    try {
        auto out = app_.handle(*ev, store_);
        std::set<std::string> gone_seen;
        deliver(out, *ev, gone_seen, 0);
        return {true, proxy_result(out), {}, {}};
    } catch (core::store_error const& e) {
        return invocation_result::error("StoreUnavailable", e.what());
    }
}

} // namespace chatd::lambda
