#pragma once

// Drives core::chat_app the way the gateway does (events in, outcome out) over any store.
#include <chatd/core/chat.hpp>
#include <chatd/core/event.hpp>
#include <chatd/core/route.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <doctest/doctest.h>

#include <set>
#include <string>
#include <vector>

#include "fixed_clock.hpp"

namespace chatd::test {

namespace json = boost::json;

/// A frame an outcome sends, with the recipient.
struct sent
{
    std::string to;
    std::string raw;

    json::object obj() const { return json::parse(raw).as_object(); }
};

template <class Store>
struct chat_harness
{
    fixed_clock clk{1763719200000}; // 2025-11-21T10:00:00.000Z
    core::random_id_source ids{7};
    core::chat_options options{};
    core::chat_app app{options, clk, ids};
    Store db{};
    core::route_selector selector{
        *core::selection_expression::parse("$request.body.action"),
        std::set<std::string, std::less<>>(core::chat_app::route_keys().begin(),
                                           core::chat_app::route_keys().end())};

    core::connection_info info(std::string const& id)
    {
        core::connection_info c;
        c.connection_id = id;
        c.connected_at = clk.now();
        c.identity.source_ip = "127.0.0.1";
        c.domain_name = "localhost:8080";
        c.stage = "dev";
        c.api_id = "chatdlocal";
        return c;
    }

    /// $connect with an optional raw query string ("name=alice").
    core::outcome connect(std::string const& id, std::optional<std::string> query = std::nullopt)
    {
        auto ev =
            core::make_connect_event(info(id),
                                     ids.next_id(),
                                     clk.now(),
                                     {{"Host", "localhost:8080"}},
                                     query ? std::optional<std::string_view>(*query) : std::nullopt,
                                     "Root=1-0-0",
                                     "8080",
                                     "http");
        return app.handle(ev, db);
    }

    /// A client frame, routed as the gateway would route it.
    core::outcome frame(std::string const& id, std::string body)
    {
        auto key = selector.select(body).value_or("$default");
        auto ev = core::make_message_event(
            info(id), key, ids.next_id(), ids.next_id(), clk.now(), std::move(body));
        return app.handle(ev, db);
    }

    core::outcome disconnect(std::string const& id)
    {
        auto ev = core::make_disconnect_event(
            info(id), ids.next_id(), clk.now(), 1005, "Client-side close frame status not set");
        return app.handle(ev, db);
    }

    /// Every (recipient, frame) pair of an outcome, in order.
    static std::vector<sent> posts(core::outcome const& out)
    {
        std::vector<sent> all;
        for (auto const& a : out.actions)
            if (auto const* p = std::get_if<core::post_to_connection>(&a))
                p->for_each_recipient([&](std::string const& to) {
                    all.push_back(sent{to, *p->data});
                });
        return all;
    }

    /// The frames an outcome sends to `id`.
    static std::vector<sent> to(core::outcome const& out, std::string const& id)
    {
        std::vector<sent> mine;
        for (auto& s : posts(out))
            if (s.to == id)
                mine.push_back(s);
        return mine;
    }

    /// The single frame sent to `id` (fails the test when there is not exactly one).
    static json::object only(core::outcome const& out, std::string const& id)
    {
        auto mine = to(out, id);
        REQUIRE_MESSAGE(mine.size() == 1, "frames to " << id << ": " << mine.size());
        return mine.front().obj();
    }

    /// The error code of the single frame sent to `id`.
    static std::string error_code(core::outcome const& out, std::string const& id)
    {
        auto f = only(out, id);
        REQUIRE(f.at("type").as_string() == "error");
        return std::string(f.at("code").as_string());
    }
};

} // namespace chatd::test
