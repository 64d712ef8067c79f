#pragma once

#include <chatd/core/outcome.hpp>

#include <cstddef>
#include <string>
#include <unordered_map>
#include <vector>

namespace chatd::server {

/// The sessions of recipient lists, remembered per list object. A store hands out the same
/// immutable list while membership is unchanged (a room's members, everyone connected), so a
/// fan-out looks its recipients up once per list rather than once per message. The owner
/// calls clear() whenever a connection opens or closes: until then every answer stays true.
template <class Session>
class recipient_cache
{
public:
    /// Lists seen once (a reply to one sender, say) would pile up between two connection
    /// changes: past `max_lists` the cache starts over.
    explicit recipient_cache(std::size_t max_lists = 1024)
        : max_lists_(max_lists)
    {}

    /// The sessions of `ids`, index for index, with `find(id)` (a Session*, null when there is
    /// no such connection) asked only the first time this list is seen.
    template <class Find>
    std::vector<Session*> const& sessions(core::id_list const& ids, Find&& find)
    {
        if (lists_.size() >= max_lists_ && !lists_.contains(ids.get()))
            lists_.clear();
        auto [it, fresh] = lists_.try_emplace(ids.get());
        auto& e = it->second;
        if (fresh) {
            e.ids = ids;
            e.sessions.reserve(ids->size());
            for (auto const& id : *ids)
                e.sessions.push_back(find(id));
        }
        return e.sessions;
    }

    void clear() { lists_.clear(); }

    std::size_t size() const { return lists_.size(); }

private:
    struct entry
    {
        core::id_list ids; ///< held, so that its address names no other list meanwhile
        std::vector<Session*> sessions;
    };

    std::size_t max_lists_;
    std::unordered_map<std::vector<std::string> const*, entry> lists_;
};

} // namespace chatd::server
