#pragma once

#include <chatd/core/clock.hpp>
#include <chatd/core/outcome.hpp>

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace chatd::core {

/// A connected client as the chat app stores it.
struct connection_record
{
    std::string connection_id;
    std::string name;
    epoch_ms connected_at = 0;
    std::string source_ip;
    std::string user_agent;
};

struct member
{
    std::string connection_id;
    std::string name;
};

struct room_summary
{
    std::string room_id;
    std::int64_t members = 0;
    epoch_ms created_at = 0;
};

struct message_record
{
    std::string room_id;
    std::int64_t seq = 0;
    std::string connection_id;
    std::string name;
    std::string text;
    epoch_ms sent_at = 0;
};

/// Thrown by a store when it cannot do what was asked (I/O error, corrupt file, full disk).
/// To the gateway this is a function error, as an uncaught exception is in a Lambda.
class store_error : public std::runtime_error
{
public:
    using std::runtime_error::runtime_error;
};

/// The chat app's persistence, declared here and implemented in storage/ (SQLite) or by a
/// test fake. Each call is atomic on its own. A store is used by one thread at a time.
class store
{
public:
    virtual ~store() = default;

    virtual void put_connection(connection_record const& c) = 0;
    virtual std::optional<connection_record> get_connection(std::string_view id) = 0;

    /// Delete the connection and all its memberships; returns the rooms it was in.
    virtual std::vector<std::string> remove_connection(std::string_view id) = 0;

    /// Every stored connection id (the tutorial's table scan). A store may return the same
    /// list again while no connection comes or goes.
    virtual id_list connection_ids() = 0;

    /// Create a room; false when one with that id exists already.
    virtual bool create_room(std::string_view room_id, epoch_ms created_at) = 0;
    virtual bool room_exists(std::string_view room_id) = 0;
    virtual std::vector<room_summary> list_rooms() = 0;

    /// Add a membership; false when it existed already.
    virtual bool
    add_member(std::string_view room_id, std::string_view connection_id, epoch_ms at) = 0;

    /// Remove a membership; false when there was none.
    virtual bool remove_member(std::string_view room_id, std::string_view connection_id) = 0;
    virtual bool is_member(std::string_view room_id, std::string_view connection_id) = 0;

    /// Members of a room, in the order they joined.
    virtual std::vector<member> members(std::string_view room_id) = 0;

    /// The connection ids of `members(room_id)`, in the same order: a message's recipients. A
    /// store may return the same list again while the room's membership does not change.
    virtual id_list member_ids(std::string_view room_id) = 0;

    /// Store a message under the room's next seq (1, 2, 3, ... with no gaps) and return it.
    virtual message_record append_message(std::string_view room_id,
                                          std::string_view connection_id,
                                          std::string_view name,
                                          std::string_view text,
                                          epoch_ms sent_at) = 0;

    /// Up to `limit` messages with seq < `before` (all when nullopt), the newest ones, returned
    /// oldest first.
    virtual std::vector<message_record> messages_before(std::string_view room_id,
                                                        std::optional<std::int64_t> before,
                                                        std::size_t limit) = 0;
};

} // namespace chatd::core
