#pragma once

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace chatd::core {

/// PostToConnection with one payload to several connections: the same bytes API Gateway would
/// receive from N calls with equal Data. The payload is shared, never copied per recipient.
struct post_to_connection
{
    std::vector<std::string> connection_ids;
    std::shared_ptr<std::string const> data;
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
        actions.emplace_back(post_to_connection{
            std::move(ids), std::make_shared<std::string const>(std::move(data))});
    }
};

} // namespace chatd::core
