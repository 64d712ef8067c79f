// The chat protocol's cases over the DynamoDB store against a real dynalite, plus what only a
// store shared by many Lambda instances must get right: gapless seq under racing senders and
// connections whose $disconnect never came.
#include <chatd/storage/dynamodb_store.hpp>

#include <atomic>
#include <set>
#include <thread>

#include "../support/chat_cases.hpp"
#include "../support/dynalite.hpp"

namespace {

using chatd::aws::dynamodb_client;
using chatd::storage::dynamodb_store;
using chatd::storage::dynamodb_tables;
using chatd::test::dynalite_process;

/// Fresh tables for every store a test makes.
dynamodb_tables fresh_tables(dynamodb_client& client)
{
    static std::atomic<int> n{0};
    auto p = "t" + std::to_string(::getpid()) + "-" + std::to_string(++n) + "-";
    dynamodb_tables t{p + "connections", p + "rooms", p + "members", p + "messages"};
    for (auto const& input : t.create_table_inputs())
        client.call("CreateTable", input.as_object());
    return t;
}

struct client_holder
{
    dynamodb_client client{dynalite_process::instance().endpoint()};
};

struct dynamodb_fresh : client_holder, dynamodb_store
{
    dynamodb_fresh()
        : dynamodb_store(client, {fresh_tables(client)})
    {}
};

} // namespace

TEST_CASE_TEMPLATE_INVOKE(chat_connect, dynamodb_fresh);
TEST_CASE_TEMPLATE_INVOKE(chat_broadcast, dynamodb_fresh);
TEST_CASE_TEMPLATE_INVOKE(chat_create, dynamodb_fresh);
TEST_CASE_TEMPLATE_INVOKE(chat_join, dynamodb_fresh);
TEST_CASE_TEMPLATE_INVOKE(chat_send, dynamodb_fresh);
TEST_CASE_TEMPLATE_INVOKE(chat_leave, dynamodb_fresh);
TEST_CASE_TEMPLATE_INVOKE(chat_history, dynamodb_fresh);
TEST_CASE_TEMPLATE_INVOKE(chat_default, dynamodb_fresh);
TEST_CASE_TEMPLATE_INVOKE(chat_disconnect, dynamodb_fresh);

TEST_CASE("dynamodb store: many senders on many instances get gapless seqs, each once")
{
    dynamodb_client setup{dynalite_process::instance().endpoint()};
    auto tables = fresh_tables(setup);
    dynamodb_store first(setup, {tables});
    REQUIRE(first.create_room("race", 1));

    // Each thread is one Lambda instance: its own connection and its own seq hint.
    constexpr int instances = 6;
    constexpr int per_instance = 25;
    std::vector<std::vector<std::int64_t>> got(instances);
    std::atomic<std::uint64_t> retries{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < instances; ++i)
        threads.emplace_back([&, i] {
            dynamodb_client client{dynalite_process::instance().endpoint()};
            dynamodb_store store(client, {tables});
            for (int k = 0; k < per_instance; ++k)
                got[i].push_back(store
                                     .append_message("race",
                                                     "CONN" + std::to_string(i),
                                                     "n",
                                                     std::to_string(i) + ":" + std::to_string(k),
                                                     1)
                                     .seq);
            retries += store.seq_retries();
        });
    for (auto& t : threads)
        t.join();

    std::set<std::int64_t> all;
    for (auto const& seqs : got) {
        CHECK(std::is_sorted(seqs.begin(), seqs.end())); // each sender's own order holds
        all.insert(seqs.begin(), seqs.end());
    }
    CHECK(all.size() == std::size_t(instances * per_instance));
    CHECK(*all.begin() == 1);
    CHECK(*all.rbegin() == instances * per_instance);
    // The stored history agrees: every seq once, with the text its sender got it for.
    auto stored = first.messages_before("race", std::nullopt, 1000);
    REQUIRE(stored.size() == std::size_t(instances * per_instance));
    for (std::size_t i = 0; i < stored.size(); ++i)
        CHECK(stored[i].seq == std::int64_t(i + 1));
    MESSAGE("lost races retried: " << retries.load());
    CHECK(retries.load() > 0); // the senders really did race
}

TEST_CASE("dynamodb store: a connection whose $disconnect was lost expires")
{
    dynamodb_client client{dynalite_process::instance().endpoint()};
    auto tables = fresh_tables(client);
    dynamodb_store::options short_lived{tables, std::chrono::seconds(1)};
    dynamodb_store stale(client, short_lived);
    dynamodb_store live(client, {tables});
    REQUIRE(live.create_room("r", 1));
    stale.put_connection({"STALE", "ghost", 1, "127.0.0.1", ""});
    live.put_connection({"LIVE", "alice", 1, "127.0.0.1", ""});
    REQUIRE(stale.add_member("r", "STALE", 1));
    REQUIRE(live.add_member("r", "LIVE", 1));
    CHECK(live.members("r").size() == 2);

    std::this_thread::sleep_for(std::chrono::milliseconds(2100));
    CHECK_FALSE(live.get_connection("STALE"));
    CHECK_FALSE(live.is_member("r", "STALE"));
    auto members = live.members("r");
    REQUIRE(members.size() == 1);
    CHECK(members[0].connection_id == "LIVE");
    CHECK(*live.connection_ids() == std::vector<std::string>{"LIVE"});
    CHECK(live.list_rooms().at(0).members == 1);
}

TEST_CASE("dynamodb store: a DynamoDB failure is a store_error, not a crash")
{
    dynamodb_client client{dynalite_process::instance().endpoint()};
    dynamodb_store store(client, {{"no-such-1", "no-such-2", "no-such-3", "no-such-4"}});
    CHECK_THROWS_AS(store.room_exists("x"), chatd::core::store_error);
    CHECK_THROWS_WITH_AS(store.put_connection({"A", "a", 1, "", ""}),
                         doctest::Contains("ResourceNotFoundException"),
                         chatd::core::store_error);
}
