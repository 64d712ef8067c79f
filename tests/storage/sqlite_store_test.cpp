#include <chatd/storage/checkpointer.hpp>
#include <chatd/storage/sqlite_store.hpp>

#include <doctest/doctest.h>
#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "queries.hpp"

using chatd::storage::sqlite_store;
namespace core = chatd::core;
namespace fs = std::filesystem;

namespace {

/// A database file in a fresh temporary directory, removed afterwards.
struct temp_db
{
    fs::path dir;
    std::string path;

    temp_db()
    {
        std::random_device rd;
        dir = fs::temp_directory_path() / ("chatd-storage-" + std::to_string(rd()));
        fs::create_directories(dir);
        path = (dir / "chat.db").string();
    }

    ~temp_db() { fs::remove_all(dir); }
};

/// Run one scalar query with the raw sqlite3 API (independent of the store under test).
std::string scalar(std::string const& path, std::string const& sql)
{
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
    sqlite3_stmt* st = nullptr;
    REQUIRE(sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) == SQLITE_OK);
    std::string out;
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
        out = reinterpret_cast<char const*>(sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    sqlite3_close(db);
    return out;
}

core::connection_record conn(std::string id, std::string name)
{
    return core::connection_record{std::move(id), std::move(name), 1, "127.0.0.1", "ua"};
}

} // namespace

TEST_CASE("storage: migrations set user_version - use WAL - and refuse newer files")
{
    temp_db t;
    {
        sqlite_store s(t.path);
    }
    CHECK(scalar(t.path, "PRAGMA user_version") == std::to_string(sqlite_store::schema_version()));
    CHECK(scalar(t.path, "PRAGMA journal_mode") == "wal");
    CHECK(scalar(t.path, "SELECT count(*) FROM sqlite_master WHERE type='table'") == "4");
    {
        sqlite_store again(t.path); // re-opening runs no migration twice
    }
    CHECK(scalar(t.path, "PRAGMA user_version") == std::to_string(sqlite_store::schema_version()));
    scalar(t.path, "PRAGMA user_version = 99");
    CHECK_THROWS_AS(sqlite_store(t.path), core::store_error);
}

TEST_CASE("storage: a version 2 file (messages clustered by room) migrates with its history")
{
    temp_db t;
    {
        // The schema at version 2 (before migration 3), written with the raw API.
        sqlite3* db = nullptr;
        REQUIRE(sqlite3_open(t.path.c_str(), &db) == SQLITE_OK);
        char const* v2 = R"sql(
PRAGMA journal_mode = WAL;
CREATE TABLE connections (connection_id TEXT PRIMARY KEY, name TEXT NOT NULL,
    connected_at INTEGER NOT NULL, source_ip TEXT NOT NULL, user_agent TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE rooms (room_id TEXT PRIMARY KEY, created_at INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE memberships (room_id TEXT NOT NULL REFERENCES rooms(room_id),
    connection_id TEXT NOT NULL REFERENCES connections(connection_id) ON DELETE CASCADE,
    joined_at INTEGER NOT NULL, UNIQUE (room_id, connection_id));
CREATE INDEX memberships_by_connection ON memberships(connection_id);
CREATE TABLE messages (room_id TEXT NOT NULL REFERENCES rooms(room_id), seq INTEGER NOT NULL,
    connection_id TEXT NOT NULL, name TEXT NOT NULL, body TEXT NOT NULL, sent_at INTEGER NOT NULL,
    PRIMARY KEY (room_id, seq)) WITHOUT ROWID;
CREATE INDEX rooms_by_creation ON rooms(created_at, room_id);
INSERT INTO rooms VALUES ('lobby', 1), ('side', 2);
INSERT INTO messages VALUES ('lobby', 1, 'AAAAAAAAAAAAAAA=', 'alice', 'first', 10),
                            ('side', 1, 'AAAAAAAAAAAAAAA=', 'alice', 'elsewhere', 11),
                            ('lobby', 2, 'BBBBBBBBBBBBBBA=', 'bob', 'second', 12);
PRAGMA user_version = 2;
)sql";
        REQUIRE(sqlite3_exec(db, v2, nullptr, nullptr, nullptr) == SQLITE_OK);
        sqlite3_close(db);
    }
    {
        sqlite_store s(t.path);
        auto lobby = s.messages_before("lobby", std::nullopt, 10);
        REQUIRE(lobby.size() == 2);
        CHECK(lobby[0].seq == 1);
        CHECK(lobby[0].text == "first");
        CHECK(lobby[1].text == "second");
        CHECK(lobby[1].name == "bob");
        CHECK(s.messages_before("side", std::nullopt, 10).size() == 1);
        s.put_connection(conn("AAAAAAAAAAAAAAA=", "alice"));
        CHECK(s.append_message("lobby", "AAAAAAAAAAAAAAA=", "alice", "third", 13).seq == 3);
    }
    CHECK(scalar(t.path, "PRAGMA user_version") == std::to_string(sqlite_store::schema_version()));
    // Stored in arrival order now, with (room_id, seq) still unique.
    CHECK(scalar(t.path,
                 "SELECT sql LIKE '%WITHOUT ROWID%' FROM sqlite_master WHERE name='messages'") ==
          "0");
    CHECK(scalar(t.path, "SELECT count(*) FROM sqlite_master WHERE name='messages_by_room'") ==
          "1");
    CHECK(scalar(t.path, "SELECT count(*) FROM messages") == "4");
    CHECK(scalar(
              t.path,
              "INSERT INTO messages VALUES ('lobby', 3, 'x', 'x', 'duplicate seq', 14) RETURNING 1")
              .empty());
}

TEST_CASE("storage: an unusable path fails at open with a store_error")
{
    CHECK_THROWS_AS(sqlite_store("/nonexistent-dir/x/chat.db"), core::store_error);
}

TEST_CASE("storage: restart keeps rooms and messages - clears connections and memberships")
{
    temp_db t;
    {
        sqlite_store s(t.path);
        s.put_connection(conn("AAAAAAAAAAAAAAA=", "alice"));
        REQUIRE(s.create_room("lobby", 10));
        REQUIRE(s.add_member("lobby", "AAAAAAAAAAAAAAA=", 11));
        for (int i = 0; i < 3; ++i)
            s.append_message("lobby", "AAAAAAAAAAAAAAA=", "alice", "m" + std::to_string(i), 12);
    }
    sqlite_store s(t.path);
    CHECK(s.room_exists("lobby"));
    CHECK_FALSE(s.get_connection("AAAAAAAAAAAAAAA="));
    CHECK(s.members("lobby").empty());
    auto msgs = s.messages_before("lobby", std::nullopt, 10);
    REQUIRE(msgs.size() == 3);
    CHECK(msgs[2].text == "m2");
    CHECK(msgs[2].name == "alice");
    // seq continues after a restart, without a gap.
    s.put_connection(conn("BBBBBBBBBBBBBBA=", "bob"));
    CHECK(s.append_message("lobby", "BBBBBBBBBBBBBBA=", "bob", "after", 13).seq == 4);
}

TEST_CASE("storage: seq is per room - from 1 - and a rolled-back unit leaves no gap")
{
    sqlite_store s(":memory:");
    s.create_room("a", 1);
    s.create_room("b", 1);
    s.begin_batch();
    CHECK(s.append_message("a", "x", "n", "1", 1).seq == 1);
    CHECK(s.append_message("b", "x", "n", "1", 1).seq == 1);
    s.begin_unit();
    CHECK(s.append_message("a", "x", "n", "doomed", 1).seq == 2);
    s.rollback_unit();
    s.begin_unit();
    CHECK(s.append_message("a", "x", "n", "2", 1).seq == 2);
    s.commit_unit();
    s.commit_batch();
    auto all = s.messages_before("a", std::nullopt, 100);
    REQUIRE(all.size() == 2);
    CHECK(all[1].text == "2");
    CHECK_THROWS_AS(s.append_message("missing", "x", "n", "t", 1), core::store_error);
}

TEST_CASE("storage: memberships - idempotent adds - removal returns the rooms")
{
    sqlite_store s(":memory:");
    s.put_connection(conn("AAAAAAAAAAAAAAA=", "alice"));
    s.put_connection(conn("BBBBBBBBBBBBBBA=", "bob"));
    s.create_room("r1", 1);
    s.create_room("r2", 2);
    CHECK_FALSE(s.create_room("r1", 3));
    CHECK(s.add_member("r1", "AAAAAAAAAAAAAAA=", 1));
    CHECK_FALSE(s.add_member("r1", "AAAAAAAAAAAAAAA=", 1));
    CHECK(s.add_member("r1", "BBBBBBBBBBBBBBA=", 2));
    CHECK(s.add_member("r2", "AAAAAAAAAAAAAAA=", 3));
    auto m = s.members("r1");
    REQUIRE(m.size() == 2);
    CHECK(m[0].name == "alice"); // join order
    auto rooms = s.list_rooms();
    REQUIRE(rooms.size() == 2);
    CHECK(rooms[0].members == 2);
    auto left = s.remove_connection("AAAAAAAAAAAAAAA=");
    CHECK(left == std::vector<std::string>{"r1", "r2"});
    CHECK(s.members("r1").size() == 1);
    CHECK(*s.connection_ids() == std::vector<std::string>{"BBBBBBBBBBBBBBA="});
    CHECK(s.remove_member("r1", "BBBBBBBBBBBBBBA="));
    CHECK_FALSE(s.remove_member("r1", "BBBBBBBBBBBBBBA="));
}

TEST_CASE("storage: the room cache agrees with the database - across rooms and a rollback")
{
    temp_db t;
    sqlite_store s(t.path);
    std::string const x = "XXXXXXXXXXXXXXA=", y = "YYYYYYYYYYYYYYA=";
    s.put_connection(conn(x, "xena"));
    s.put_connection(conn(y, "yuri"));
    s.create_room("a", 1);
    s.create_room("b", 1);

    // Asking about members of a room that does not exist must not make it exist.
    CHECK(s.members("later").empty());
    CHECK_FALSE(s.room_exists("later"));
    CHECK_THROWS_AS(s.append_message("later", x, "xena", "t", 1), core::store_error);

    // Questions alternating between rooms get each room's own answers.
    CHECK_FALSE(s.is_member("a", x));
    CHECK(s.member_ids("a")->empty());
    CHECK(s.add_member("a", x, 2));
    CHECK(s.add_member("b", y, 2));
    CHECK(s.is_member("a", x));
    CHECK_FALSE(s.is_member("b", x));
    CHECK(s.is_member("b", y));
    CHECK(*s.member_ids("a") == std::vector<std::string>{x});
    CHECK(*s.member_ids("b") == std::vector<std::string>{y});
    CHECK(s.append_message("a", x, "xena", "1", 3).seq == 1);
    CHECK(s.append_message("b", y, "yuri", "1", 3).seq == 1);
    CHECK(s.append_message("a", x, "xena", "2", 3).seq == 2);

    // A room created after its members were asked for starts empty and fills.
    CHECK(s.create_room("later", 4));
    CHECK(s.room_exists("later"));
    CHECK(s.add_member("later", y, 4));
    CHECK(*s.member_ids("later") == std::vector<std::string>{y});

    // Everything done in a rolled-back batch is forgotten, cached or not.
    s.begin_batch();
    CHECK(s.create_room("c", 5));
    CHECK(s.add_member("c", x, 5));
    CHECK(s.add_member("a", y, 5));
    CHECK(s.append_message("c", x, "xena", "gone", 5).seq == 1);
    CHECK(s.append_message("a", x, "xena", "gone", 5).seq == 3);
    CHECK(s.member_ids("a")->size() == 2);
    s.rollback_batch();
    CHECK_FALSE(s.room_exists("c"));
    CHECK_FALSE(s.is_member("a", y));
    CHECK(*s.member_ids("a") == std::vector<std::string>{x});
    CHECK(s.append_message("a", x, "xena", "3", 6).seq == 3);

    // And the file says the same.
    CHECK(scalar(t.path, "SELECT count(*) FROM rooms") == "3");
    CHECK(scalar(t.path, "SELECT group_concat(seq) FROM messages WHERE room_id = 'a'") == "1,2,3");
    CHECK(scalar(t.path, "SELECT count(*) FROM memberships") == "3");
}

TEST_CASE("storage: every chat query uses an index (no full scan of a growing table)")
{
    temp_db t;
    {
        sqlite_store s(t.path);
    }
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(t.path.c_str(), &db) == SQLITE_OK);
    for (char const* q : chatd::storage::sql::all) {
        std::string sql(q);
        // Listing all rooms or all connections reads them all by definition.
        bool lists_everything = sql.rfind("SELECT connection_id FROM connections", 0) == 0 ||
                                sql.find("FROM rooms r ORDER BY") != std::string::npos;
        sqlite3_stmt* st = nullptr;
        REQUIRE(sqlite3_prepare_v2(db, ("EXPLAIN QUERY PLAN " + sql).c_str(), -1, &st, nullptr) ==
                SQLITE_OK);
        while (sqlite3_step(st) == SQLITE_ROW) {
            std::string detail = reinterpret_cast<char const*>(sqlite3_column_text(st, 3));
            CAPTURE(sql);
            CAPTURE(detail);
            bool scan = detail.rfind("SCAN ", 0) == 0;
            if (scan && lists_everything)
                CHECK((detail.find("rooms") != std::string::npos ||
                       detail.find("connections") != std::string::npos));
            else
                CHECK_FALSE(scan);
        }
        sqlite3_finalize(st);
    }
    sqlite3_close(db);
}

TEST_CASE("storage: the checkpointer copies the log into the database file - and the log "
          "starts over past its limit")
{
    temp_db t;
    constexpr std::int64_t limit = 1 << 20;
    chatd::storage::sqlite_store s(t.path);
    s.disable_auto_checkpoint(limit);
    chatd::storage::checkpointer cp(t.path, std::chrono::milliseconds(5), limit);
    std::vector<std::string> rooms;
    for (int r = 0; r < 100; ++r) {
        rooms.push_back("room-" + std::to_string(r));
        s.create_room(rooms.back(), 1);
    }
    std::string text(200, 'x');
    std::uintmax_t largest_log = 0;
    int restarts = 0;
    auto wal = t.path + "-wal";
    for (int batch = 0; batch < 300; ++batch) {
        s.begin_batch();
        for (int i = 0; i < 100; ++i)
            s.append_message(rooms[std::size_t(i)], "AAAAAAAAAAAAAAA=", "t", text, 1);
        s.commit_batch();
        // What the storage thread does between batches.
        if (cp.log_too_long() && s.restart_log()) {
            cp.log_restarted();
            ++restarts;
        }
        largest_log = std::max(largest_log, fs::file_size(wal));
        if (batch % 30 == 0) // give the checkpointer's thread some turns
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    // 30,000 messages of 200 bytes: far more than the limit went through the log.
    CHECK(restarts > 0);
    CHECK(largest_log < std::uintmax_t(8 * limit));
    auto before = cp.passes();
    for (int i = 0; i < 500 && cp.passes() < before + 2; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    CHECK(cp.passes() >= before + 2);
    // The messages are in the database file itself, not only in the log.
    CHECK(fs::file_size(t.path) > std::uintmax_t(4 << 20));
}
