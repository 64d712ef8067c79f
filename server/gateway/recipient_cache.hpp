#pragma once

#include <chatd/core/outcome.hpp>

#include <algorithm>
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
    /// Lists seen once (a reply to one sender, say), or the old member lists of a room whose
    /// membership keeps changing, would pile up between two connection changes (each holding
    /// its ids alive): past `max_lists` lists, or `max_ids` ids in all (or twice the new list,
    /// if that is more), the cache starts over.
    explicit recipient_cache(std::size_t max_lists = 1024, std::size_t max_ids = 1 << 16)
        : max_lists_(max_lists)
        , max_ids_(max_ids)
    {}

    /// The sessions of `ids`, index for index, with `find(id)` (a Session*, null when there is
    /// no such connection) asked only the first time this list is seen.
    template <class Find>
    std::vector<Session*> const& sessions(core::id_list const& ids, Find&& find)
    {
        auto it = lists_.find(ids.get());
        if (it != lists_.end())
            return it->second.sessions;
        auto n = ids->size();
        if (lists_.size() >= max_lists_ || total_ids_ + n > std::max(max_ids_, 2 * n))
            clear();
        auto& e = lists_[ids.get()];
        e.ids = ids;
        e.sessions.reserve(n);
        for (auto const& id : *ids)
            e.sessions.push_back(find(id));
        total_ids_ += n;
        return e.sessions;
    }

    void clear()
    {
        lists_.clear();
        total_ids_ = 0;
    }

    /// Ids held by the cached lists.
    std::size_t ids_held() const { return total_ids_; }

    std::size_t size() const { return lists_.size(); }

private:
    struct entry
    {
        core::id_list ids; ///< held, so that its address names no other list meanwhile
        std::vector<Session*> sessions;
    };

    std::size_t max_lists_;
    std::size_t max_ids_;
    std::size_t total_ids_ = 0;
    std::unordered_map<std::vector<std::string> const*, entry> lists_;
};

} // namespace chatd::server
