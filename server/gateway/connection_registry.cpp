#include "gateway/connection_registry.hpp"

#include "transport/ws_protocol.hpp"

namespace chatd::server {

connection_registry::connection_registry(net::any_io_executor io, metrics& stats)
    : io_(std::move(io))
    , stats_(stats)
{}

std::string connection_registry::new_id(core::id_source& ids) const
{
    for (;;) {
        auto id = ids.next_id();
        if (!live_.contains(id))
            return id;
    }
}

void connection_registry::add(std::shared_ptr<connection> c)
{
    auto const& id = c->info().connection_id;
    live_.emplace(id, std::move(c));
    recipients_.clear();
    stats_.open_connections.store(std::int64_t(live_.size()), std::memory_order_relaxed);
}

void connection_registry::remove(std::string_view id)
{
    if (auto it = live_.find(id); it != live_.end()) {
        retired_.push_back(std::move(it->second));
        live_.erase(it);
        schedule_flush();
    }
    recipients_.clear();
    stats_.open_connections.store(std::int64_t(live_.size()), std::memory_order_relaxed);
}

connection* connection_registry::find(std::string_view id) const
{
    auto it = live_.find(id);
    return it == live_.end() ? nullptr : it->second.get();
}

void connection_registry::count(post_status st, std::uint64_t& posted)
{
    if (st == post_status::ok)
        ++posted;
    else if (st == post_status::limit)
        stats_.drops.add("client_write_queue");
}

post_status connection_registry::post(std::string_view id, std::shared_ptr<std::string const> data)
{
    auto* c = find(id);
    if (!c)
        return post_status::gone;
    auto st = c->deliver(std::move(data));
    std::uint64_t posted = 0;
    count(st, posted);
    stats_.posts_out.fetch_add(posted, std::memory_order_relaxed);
    return st;
}

void connection_registry::post_all(core::post_to_connection const& p, core::epoch_ms now)
{
    auto const& ids = *p.connection_ids;
    if (ids.empty())
        return;
    if (ids.size() == 1) {
        if (p.is_recipient(ids.front()))
            post(ids.front(), p.data);
        return;
    }
    // Built once for every recipient (longer messages are split per connection instead).
    std::shared_ptr<std::string const> frame;
    if (p.data->size() <= connection::max_frame_out)
        frame = std::make_shared<std::string const>(ws::text_frame(*p.data));
    // is_recipient(), compared by session rather than by id: the list yields sessions.
    connection const* except = p.except.empty() ? nullptr : find(p.except);
    std::uint64_t posted = 0;
    // (Delivering never ends a connection from inside the call, see connection::abort, so
    // the list and its connections stay as they are throughout the loop.)
    auto lookup = [this](std::string const& id) {
        return find(id);
    };
    for (auto* c : recipients_.sessions(p.connection_ids, lookup)) {
        if (!c || c == except)
            continue;
        count(frame ? c->deliver_frame(frame, now) : c->deliver(p.data), posted);
    }
    stats_.posts_out.fetch_add(posted, std::memory_order_relaxed);
}

std::optional<connection_registry::connection_view>
connection_registry::get(std::string_view id) const
{
    auto const* c = find(id);
    if (!c || !c->is_open())
        return std::nullopt;
    return connection_view{c->info().connected_at, c->info().identity, c->last_active()};
}

bool connection_registry::close(std::string_view id)
{
    auto* c = find(id);
    if (!c || !c->is_open())
        return false;
    // contract(delete): $disconnect sees 1000 "Connection Closed Normally".
    c->close(1000, "Connection Closed Normally");
    return true;
}

void connection_registry::close_all(int code, std::string const& reason, bool abort)
{
    // A copy: closing may end a connection, which changes live_.
    std::vector<std::shared_ptr<connection>> all;
    all.reserve(live_.size());
    for (auto const& [id, c] : live_)
        all.push_back(c);
    for (auto const& c : all) {
        if (abort)
            c->abort(code, reason);
        else
            c->close(code, reason);
    }
}

void connection_registry::cork(connection& c)
{
    corked_.push_back(&c);
    schedule_flush();
}

void connection_registry::schedule_flush()
{
    if (flush_posted_)
        return;
    flush_posted_ = true;
    net::post(io_, [this] {
        flush_posted_ = false;
        // Connections retired before this handler may be on the list being written: they
        // are let go after it. (One corked or retired from here on is for the next handler:
        // an ended connection never corks again.)
        flushing_.swap(corked_);
        releasing_.swap(retired_);
        for (auto* c : flushing_)
            c->uncork();
        flushing_.clear();
        releasing_.clear();
    });
}

} // namespace chatd::server
