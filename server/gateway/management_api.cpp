#include "gateway/management_api.hpp"

#include <chatd/core/clock.hpp>
#include <chatd/core/event.hpp>

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include <vector>

#include "ops/log.hpp"

namespace chatd::server {
namespace {

namespace json = boost::json;

std::string request_id(core::id_source& ids)
{
    auto h = ids.hex(32);
    h[12] = '4';
    return h.substr(0, 8) + "-" + h.substr(8, 4) + "-" + h.substr(12, 4) + "-" + h.substr(16, 4) +
           "-" + h.substr(20, 12);
}

http::response<http::string_body>
base_response(core::id_source& ids, unsigned version, http::status status)
{
    http::response<http::string_body> res{status, version};
    res.set(http::field::server, "chatd");
    res.set("x-amzn-RequestId", request_id(ids));
    return res;
}

/// "/dev/@connections/abc%3D" -> {"", "dev", "@connections", "abc="}; nullopt if malformed.
std::optional<std::vector<std::string>> decoded_segments(std::string_view target)
{
    auto path = target.substr(0, target.find('?'));
    std::vector<std::string> segs;
    while (true) {
        auto slash = path.find('/');
        auto seg = core::percent_decode(path.substr(0, slash));
        if (!seg)
            return std::nullopt;
        segs.push_back(std::move(*seg));
        if (slash == std::string_view::npos)
            break;
        path.remove_prefix(slash + 1);
    }
    return segs;
}

} // namespace

bool is_management_target(std::string_view target)
{
    auto path = target.substr(0, target.find('?'));
    return path.find("/@connections") != std::string_view::npos ||
           path.find("/%40connections") != std::string_view::npos;
}

http::response<http::string_body> management_error(core::id_source& ids,
                                                   unsigned version,
                                                   http::status status,
                                                   std::string_view error_type,
                                                   std::string_view message)
{
    auto res = base_response(ids, version, status);
    res.set("x-amzn-ErrorType", error_type);
    res.set(http::field::content_type, "application/json");
    json::object o;
    o["message"] = message;
    res.body() = json::serialize(o);
    res.prepare_payload();
    return res;
}

http::response<http::string_body>
post_too_large(core::id_source& ids, unsigned version, std::uint64_t length)
{
    return management_error(ids,
                            version,
                            http::status::payload_too_large,
                            "PayloadTooLargeException",
                            "Request data is " + std::to_string(length) + " bytes; the limit is " +
                                std::to_string(max_post_bytes));
}

namespace {

using response = http::response<http::string_body>;

/// API Gateway says only "Forbidden"; the log says what the API looks like.
response forbidden(core::id_source& ids, unsigned version, std::string_view stage)
{
    log::info("management request refused with 403, as API Gateway would: the API is GET, "
              "POST or DELETE on /" +
              std::string(stage) + "/@connections/{connectionId}");
    return management_error(
        ids, version, http::status::forbidden, "ForbiddenException", "Forbidden");
}

/// GetConnection's answer: lower-case keys, ISO-8601 times, userAgent null when absent.
std::string connection_json(connection_registry::connection_view const& info)
{
    json::object identity;
    identity["sourceIp"] = info.identity.source_ip;
    if (info.identity.user_agent)
        identity["userAgent"] = *info.identity.user_agent;
    else
        identity["userAgent"] = nullptr;
    json::object o;
    o["connectedAt"] = core::format_iso8601(info.connected_at);
    o["identity"] = std::move(identity);
    o["lastActiveAt"] = core::format_iso8601(info.last_active);
    return json::serialize(o);
}

/// One call on a well-formed connection id: the three verbs of the API.
struct call
{
    connection_registry& connections;
    core::id_source& ids;
    unsigned version;
    std::string const& id;

    response empty(http::status status) const
    {
        auto res = base_response(ids, version, status);
        res.prepare_payload();
        return res;
    }

    response gone() const
    {
        // contract(gone): 410, x-amzn-ErrorType GoneException, empty body.
        auto res = base_response(ids, version, http::status::gone);
        res.set("x-amzn-ErrorType", "GoneException");
        res.prepare_payload();
        return res;
    }

    response post(std::string const& data) const
    {
        if (data.size() > max_post_bytes)
            return post_too_large(ids, version, data.size());
        switch (connections.post(id, std::make_shared<std::string const>(data))) {
        case post_status::gone:
            return gone();
        case post_status::limit:
            return management_error(ids,
                                    version,
                                    http::status::too_many_requests,
                                    "LimitExceededException",
                                    "The client's send buffer is full; it has been disconnected");
        case post_status::ok:
            break;
        }
        return empty(http::status::ok);
    }

    response get() const
    {
        auto info = connections.get(id);
        if (!info)
            return gone();
        auto res = base_response(ids, version, http::status::ok);
        res.set(http::field::content_type, "application/json");
        res.body() = connection_json(*info);
        res.prepare_payload();
        return res;
    }

    response remove() const
    {
        return connections.close(id) ? empty(http::status::no_content) : gone();
    }
};

} // namespace

http::response<http::string_body> handle_management(connection_registry& connections,
                                                    std::string_view stage,
                                                    core::id_source& ids,
                                                    http::request<http::string_body> const& req)
{
    auto const v = req.version();
    // contract(management-path): /{stage}/@connections/{id}, percent-decoded (%3D, %40).
    auto segs = decoded_segments(req.target());
    if (!segs || segs->size() != 4 || !(*segs)[0].empty() || (*segs)[1] != stage ||
        (*segs)[2] != "@connections")
        return forbidden(ids, v, stage);
    auto const& id = (*segs)[3];
    if (!core::is_valid_id(id))
        return management_error(ids,
                                v,
                                http::status::bad_request,
                                "BadRequestException",
                                "Invalid connectionId: " + id);
    call c{connections, ids, v, id};
    switch (req.method()) {
    case http::verb::post:
        return c.post(req.body());
    case http::verb::get:
        return c.get();
    case http::verb::delete_:
        return c.remove();
    default:
        return forbidden(ids, v, stage);
    }
}

} // namespace chatd::server
