#pragma once

// An in-memory core::store for core's tests: the same contract as the SQLite store, kept
// deliberately simple (linear scans) so it is obviously right.
#include <chatd/core/store.hpp>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

namespace chatd::test {

class memory_store : public core::store
{
public:
    void put_connection(core::connection_record const& c) override
    {
        remove_connection(c.connection_id);
        connections_[c.connection_id] = c;
    }

    std::optional<core::connection_record> get_connection(std::string_view id) override
    {
        auto it = connections_.find(std::string(id));
        if (it == connections_.end())
            return std::nullopt;
        return it->second;
    }

    std::vector<std::string> remove_connection(std::string_view id) override
    {
        std::vector<std::string> rooms;
        for (auto it = memberships_.begin(); it != memberships_.end();) {
            if (it->connection_id == id) {
                rooms.push_back(it->room_id);
                it = memberships_.erase(it);
            } else {
                ++it;
            }
        }
        connections_.erase(std::string(id));
        return rooms;
    }

    core::id_list connection_ids() override
    {
        std::vector<std::string> ids;
        for (auto const& [id, c] : connections_)
            ids.push_back(id);
        return std::make_shared<std::vector<std::string> const>(std::move(ids));
    }

    bool create_room(std::string_view room_id, core::epoch_ms created_at) override
    {
        return rooms_.emplace(std::string(room_id), room{created_at, 0}).second;
    }

    bool room_exists(std::string_view room_id) override
    {
        return rooms_.contains(std::string(room_id));
    }

    std::vector<core::room_summary> list_rooms() override
    {
        std::vector<core::room_summary> out;
        for (auto const& [id, r] : rooms_) {
            auto n = std::count_if(memberships_.begin(), memberships_.end(), [&](auto const& m) {
                return m.room_id == id;
            });
            out.push_back(core::room_summary{id, n, r.created_at});
        }
        std::stable_sort(out.begin(), out.end(), [](auto const& a, auto const& b) {
            return a.created_at < b.created_at;
        });
        return out;
    }

    bool add_member(std::string_view room_id, std::string_view conn, core::epoch_ms) override
    {
        if (is_member(room_id, conn))
            return false;
        memberships_.push_back(membership{std::string(room_id), std::string(conn)});
        return true;
    }

    bool remove_member(std::string_view room_id, std::string_view conn) override
    {
        auto before = memberships_.size();
        std::erase_if(memberships_, [&](auto const& m) {
            return m.room_id == room_id && m.connection_id == conn;
        });
        return memberships_.size() != before;
    }

    bool is_member(std::string_view room_id, std::string_view conn) override
    {
        return std::any_of(memberships_.begin(), memberships_.end(), [&](auto const& m) {
            return m.room_id == room_id && m.connection_id == conn;
        });
    }

    std::vector<core::member> members(std::string_view room_id) override
    {
        std::vector<core::member> out;
        for (auto const& m : memberships_)
            if (m.room_id == room_id)
                out.push_back(core::member{m.connection_id, connections_[m.connection_id].name});
        return out;
    }

    core::id_list member_ids(std::string_view room_id) override
    {
        std::vector<std::string> ids;
        for (auto const& m : members(room_id))
            ids.push_back(m.connection_id);
        return std::make_shared<std::vector<std::string> const>(std::move(ids));
    }

    core::message_record append_message(std::string_view room_id,
                                        std::string_view conn,
                                        std::string_view name,
                                        std::string_view text,
                                        core::epoch_ms sent_at) override
    {
        auto& r = rooms_.at(std::string(room_id));
        core::message_record m{std::string(room_id),
                               ++r.last_seq,
                               std::string(conn),
                               std::string(name),
                               std::string(text),
                               sent_at};
        messages_.push_back(m);
        return m;
    }

    std::vector<core::message_record> messages_before(std::string_view room_id,
                                                      std::optional<std::int64_t> before,
                                                      std::size_t limit) override
    {
        std::vector<core::message_record> out;
        for (auto it = messages_.rbegin(); it != messages_.rend() && out.size() < limit; ++it)
            if (it->room_id == room_id && (!before || it->seq < *before))
                out.push_back(*it);
        std::reverse(out.begin(), out.end());
        return out;
    }

private:
    struct room
    {
        core::epoch_ms created_at;
        std::int64_t last_seq;
    };

    struct membership
    {
        std::string room_id;
        std::string connection_id;
    };

    std::map<std::string, core::connection_record> connections_;
    std::map<std::string, room> rooms_;
    std::vector<membership> memberships_;
    std::vector<core::message_record> messages_;
};

} // namespace chatd::test
