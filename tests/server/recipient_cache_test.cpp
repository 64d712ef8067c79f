#include <doctest/doctest.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "gateway/recipient_cache.hpp"

using chatd::server::recipient_cache;

namespace {

struct session
{
    std::string id;
};

/// The open connections, and how often the cache asked for one.
struct registry
{
    std::map<std::string, session> open;
    int lookups = 0;

    auto finder()
    {
        return [this](std::string const& id) -> session* {
            ++lookups;
            auto it = open.find(id);
            return it == open.end() ? nullptr : &it->second;
        };
    }
};

chatd::core::id_list list(std::vector<std::string> ids)
{
    return std::make_shared<std::vector<std::string> const>(std::move(ids));
}

} // namespace

TEST_CASE("recipient cache: a list is looked up once until cleared")
{
    registry r;
    r.open = {{"a", {"a"}}, {"b", {"b"}}};
    recipient_cache<session> cache;
    auto room = list({"a", "gone", "b"});
    auto const& first = cache.sessions(room, r.finder());
    REQUIRE(first.size() == 3);
    CHECK(first[0] == &r.open["a"]);
    CHECK(first[1] == nullptr);
    CHECK(first[2] == &r.open["b"]);
    CHECK(r.lookups == 3);

    // The same list object again: answered from the cache.
    CHECK(cache.sessions(room, r.finder())[2] == &r.open["b"]);
    CHECK(r.lookups == 3);

    // An equal list that is another object is looked up on its own.
    cache.sessions(list({"a", "gone", "b"}), r.finder());
    CHECK(r.lookups == 6);

    // A connection closes and another opens: after clear() the list is looked up again and
    // sees the change.
    r.open.erase("a");
    r.open["gone"] = {"gone"};
    cache.clear();
    auto const& again = cache.sessions(room, r.finder());
    CHECK(r.lookups == 9);
    CHECK(again[0] == nullptr);
    CHECK(again[1] == &r.open["gone"]);
}

TEST_CASE("recipient cache: lists seen once do not pile up")
{
    registry r;
    r.open = {{"a", {"a"}}};
    recipient_cache<session> cache(4);
    auto kept = list({"a"});
    cache.sessions(kept, r.finder());
    for (int i = 0; i < 3; ++i)
        cache.sessions(list({"a"}), r.finder());
    CHECK(cache.size() == 4);
    // A known list is answered without starting over...
    cache.sessions(kept, r.finder());
    CHECK(cache.size() == 4);
    // ...a fifth one starts over.
    cache.sessions(list({"a"}), r.finder());
    CHECK(cache.size() == 1);
}

TEST_CASE("recipient cache: old lists of a big room do not pile up")
{
    // A room of 1,000 whose membership changes before every message: each message brings a
    // new list. The ids held stay under the bound (or twice one list, if that is more).
    registry r;
    std::vector<std::string> ids;
    for (int i = 0; i < 1000; ++i)
        ids.push_back("c" + std::to_string(i));
    recipient_cache<session> cache(1024, 4000);
    for (int round = 0; round < 50; ++round) {
        cache.sessions(list(ids), r.finder());
        CHECK(cache.ids_held() <= 4000);
    }
    // A list bigger than the bound is still cached, within twice its own size.
    std::vector<std::string> everyone(10000, "x");
    auto all = list(everyone);
    cache.sessions(all, r.finder());
    CHECK(cache.ids_held() <= 20000);
    cache.sessions(list(everyone), r.finder()); // another one that big: the cache starts over
    CHECK(cache.ids_held() <= 20000);
    all = list(everyone);
    cache.sessions(all, r.finder());
    auto before = r.lookups;
    cache.sessions(all, r.finder());
    CHECK(r.lookups == before);
}
