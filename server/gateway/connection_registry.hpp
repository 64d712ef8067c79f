#pragma once

#include <chatd/core/clock.hpp>
#include <chatd/core/event.hpp>
#include <chatd/core/ids.hpp>
#include <chatd/core/outcome.hpp>
#include <chatd/core/string_hash.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "gateway/recipient_cache.hpp"
#include "ops/metrics.hpp"
#include "transport/connection.hpp"
#include "transport/net.hpp"

namespace chatd::server {

/// The open connections, by id, and what happens to them as a group: PostToConnection to one
/// or many, GetConnection, DeleteConnection, closing them all at shutdown; and the cork that
/// writes every connection given frames during one handler from one posted handler after it.
/// The I/O thread's: no locks.
class connection_registry
{
public:
    connection_registry(net::any_io_executor io, metrics& stats);

    /// A fresh id in API Gateway's shape, never one of an open connection.
    std::string new_id(core::id_source& ids) const;

    /// `c` finished its handshake: it can receive posts from now on.
    void add(std::shared_ptr<connection> c);

    /// The connection `id` ended. Its session is kept until the cork has written past it.
    void remove(std::string_view id);

    /// PostToConnection to one connection.
    post_status post(std::string_view id, std::shared_ptr<std::string const> data);

    /// PostToConnection to every recipient of `p` (but its `except`), the frame built once.
    /// Gone recipients are skipped, as the integration's 410.
    void post_all(core::post_to_connection const& p, core::epoch_ms now);

    /// GetConnection: what API Gateway reports about an open connection.
    struct connection_view
    {
        core::epoch_ms connected_at;
        core::peer_identity identity;
        core::epoch_ms last_active;
    };

    std::optional<connection_view> get(std::string_view id) const;

    /// DeleteConnection: close with 1000 "Connection Closed Normally". False when not open.
    bool close(std::string_view id);

    /// Close every connection with a close frame (`abort`: false) or drop it (true).
    void close_all(int code, std::string const& reason, bool abort);

    std::size_t size() const { return live_.size(); }

    /// Write `c` after the current handler (see session_events::cork).
    void cork(connection& c);

private:
    connection* find(std::string_view id) const;
    void schedule_flush();
    void count(post_status st, std::uint64_t& posted);

    net::any_io_executor io_;
    metrics& stats_;
    std::unordered_map<std::string, std::shared_ptr<connection>, core::string_hash, std::equal_to<>>
        live_;
    recipient_cache<connection> recipients_; ///< cleared whenever live_ changes

    // The cork holds plain pointers: only open or closing connections cork (ones in live_),
    // and one that ends meanwhile is held by retired_ until the list has been written.
    std::vector<connection*> corked_;
    std::vector<connection*> flushing_; ///< (kept for its capacity)
    std::vector<std::shared_ptr<connection>> retired_;
    std::vector<std::shared_ptr<connection>> releasing_; ///< (kept for its capacity)
    bool flush_posted_ = false;
};

} // namespace chatd::server
