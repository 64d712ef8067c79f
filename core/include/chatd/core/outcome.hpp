#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace chatd::core {

/// Connection ids, immutable once made: a store can hand the same list (say, a room's members)
/// to every post made from it until the list changes, instead of copying it per message.
using id_list = std::shared_ptr<std::vector<std::string> const>;

/// PostToConnection with one payload to several connections: the same bytes API Gateway would
/// receive from N calls with equal Data. The payload is shared, never copied per recipient.
struct post_to_connection
{
    id_list connection_ids;
    std::shared_ptr<std::string const> data;
    std::string except; ///< an id in `connection_ids` that is not posted to (empty: none)

    /// Whether `id`, one of `connection_ids`, is posted to: every one but `except`.
    bool is_recipient(std::string_view id) const { return except.empty() || id != except; }

    /// Call `f(id)` for every recipient.
    template <class F>
    void for_each_recipient(F&& f) const
    {
        for (auto const& id : *connection_ids)
            if (is_recipient(id))
                f(id);
    }
};

/// DeleteConnection.
struct delete_connection
{
    std::string connection_id;
};

using action = std::variant<post_to_connection, delete_connection>;

/// What API Gateway sees from a Lambda-proxy integration, plus the management API calls the
/// function made while it ran (executed by the gateway, in order, after it returns).
struct outcome
{
    int status_code = 200;
    std::vector<std::pair<std::string, std::string>> headers; ///< $connect: Sec-WebSocket-Protocol
    std::optional<std::string> body;                          ///< sent back only on two-way routes
    std::vector<action> actions;

    /// Queue a post of `data` to `ids` (no-op when `ids` is empty).
    void post(std::vector<std::string> ids, std::string data)
    {
        if (ids.empty())
            return;
        post(std::make_shared<std::vector<std::string> const>(std::move(ids)), std::move(data));
    }

    /// Queue a post of `data` to every id in `ids` but `except`.
    void post(id_list ids, std::string data, std::string_view except = {})
    {
        actions.emplace_back(
            post_to_connection{std::move(ids),
                               std::make_shared<std::string const>(std::move(data)),
                               std::string(except)});
    }
};

} // namespace chatd::core
