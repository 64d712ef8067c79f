#include <chatd/core/string_hash.hpp>
#include <chatd/storage/sqlite_store.hpp>

#include <algorithm>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <unordered_set>

#include "queries.hpp"
#include "schema.hpp"
#include "sqlite_handle.hpp"

namespace chatd::storage {

using detail::statement;

struct sqlite_store::impl
{
    detail::db_ptr db;

    // Every SQL statement chatd runs, prepared once.
    statement begin, commit, rollback, savepoint, release, rollback_to;
    statement op_begin, op_release, op_rollback_to;
    statement put_connection, get_connection, rooms_of, delete_memberships_of, delete_connection;
    statement connection_ids;
    statement create_room, room_exists, list_rooms;
    statement add_member, remove_member, is_member, members;
    statement max_seq, insert_message, messages_newest, messages_before;

    // Read caches for the hot path: sendMessage must not query members per message. They are
    // filled from the database on first use, kept in step by every write, and dropped whole
    // whenever a transaction or savepoint rolls back (so they never show undone writes).
    // Keyed by std::string, searched with string_view: no allocation per lookup.
    template <class V>
    using string_map = std::unordered_map<std::string, V, core::string_hash, std::equal_to<>>;
    using string_set = std::unordered_set<std::string, core::string_hash, std::equal_to<>>;

    /// What is known of one room. A message asks about its room four times (exists, is the
    /// sender a member, next seq, recipients), so all of it lives in one entry, found once.
    struct room_cache
    {
        bool exists = false;                  // known to have a row in rooms
        bool members_loaded = false;          // members, ids and recipients are filled
        std::vector<core::member> members;    // join order
        string_set ids;                       // the same, for membership tests
        core::id_list recipients;             // the same ids in join order; made when asked
        std::optional<std::int64_t> last_seq; // newest stored seq, once read
    };

    string_map<core::connection_record> connections; // by id
    string_map<room_cache> rooms;                    // by room id

    // The entry found last, with its key (map nodes stay put until erased, and entries are
    // only ever erased all at once): the handler's repeated questions about one room cost a
    // short string compare instead of a hash and a walk through scattered memory.
    room_cache* last_room = nullptr;
    std::string const* last_room_id = nullptr;

    /// Make `it` the entry found last.
    room_cache* remember(string_map<room_cache>::iterator it)
    {
        last_room = &it->second;
        last_room_id = &it->first;
        return last_room;
    }

    /// The room's entry, or nullptr when nothing is cached for it.
    room_cache* room(std::string_view room_id)
    {
        if (last_room && *last_room_id == room_id)
            return last_room;
        auto it = rooms.find(room_id);
        return it == rooms.end() ? nullptr : remember(it);
    }

    /// The room's entry, made empty if there is none. Entries are made for rooms found to exist
    /// and for rooms whose members or seq are read; the chat core reads those only of rooms it
    /// has checked exist, so room ids from clients that name no room add nothing.
    room_cache& room_entry(std::string_view room_id)
    {
        if (auto* found = room(room_id))
            return *found;
        return *remember(rooms.try_emplace(std::string(room_id)).first);
    }

    /// The room's entry with its members loaded from the database.
    room_cache& loaded_room(std::string_view room_id)
    {
        auto& cache = room_entry(room_id);
        if (cache.members_loaded)
            return cache;
        // Read into locals first: a failed read leaves the entry as it was.
        std::vector<core::member> read;
        string_set ids;
        auto u = members.run();
        u.bind(1, room_id);
        while (u.step()) {
            read.push_back(core::member{u.text(0), u.text(1)});
            ids.insert(read.back().connection_id);
        }
        cache.members = std::move(read);
        cache.ids = std::move(ids);
        cache.recipients.reset();
        cache.members_loaded = true;
        return cache;
    }

    /// The room's entry when its members are loaded, else nullptr.
    room_cache* room_with_members(std::string_view room_id)
    {
        auto* cache = room(room_id);
        return cache && cache->members_loaded ? cache : nullptr;
    }

    static void forget_member(room_cache& cache, std::string_view connection_id)
    {
        auto found = cache.ids.find(connection_id);
        if (found == cache.ids.end())
            return;
        cache.ids.erase(found);
        cache.recipients.reset(); // posts still holding the old list keep it
        std::erase_if(cache.members,
                      [&](core::member const& m) { return m.connection_id == connection_id; });
    }

    // Every connection id, for the tutorial's broadcast (its "table scan"), kept in step. The
    // list handed out is a snapshot made when first asked after a change, so a broadcast to an
    // unchanged set of clients copies no ids.
    bool ids_loaded = false;
    std::vector<std::string> all_ids;
    string_map<std::size_t> id_slot; // id -> index in all_ids
    core::id_list all_ids_snapshot;

    void add_id(std::string const& id)
    {
        if (ids_loaded && id_slot.emplace(id, all_ids.size()).second) {
            all_ids.push_back(id);
            all_ids_snapshot.reset();
        }
    }

    void remove_id(std::string const& id)
    {
        auto it = ids_loaded ? id_slot.find(id) : id_slot.end();
        if (it == id_slot.end())
            return;
        all_ids_snapshot.reset();
        auto slot = it->second;
        id_slot.erase(it);
        if (slot + 1 != all_ids.size()) {
            all_ids[slot] = std::move(all_ids.back());
            id_slot[all_ids[slot]] = slot;
        }
        all_ids.pop_back();
    }

    void drop_caches()
    {
        ids_loaded = false;
        all_ids.clear();
        id_slot.clear();
        all_ids_snapshot.reset();
        connections.clear();
        last_room = nullptr;
        last_room_id = nullptr;
        rooms.clear();
    }

    explicit impl(sqlite3* raw)
        : db(raw)
        , begin(raw, "BEGIN IMMEDIATE")
        , commit(raw, "COMMIT")
        , rollback(raw, "ROLLBACK")
        , savepoint(raw, "SAVEPOINT unit")
        , release(raw, "RELEASE unit")
        , rollback_to(raw, "ROLLBACK TO unit")
        , op_begin(raw, "SAVEPOINT op")
        , op_release(raw, "RELEASE op")
        , op_rollback_to(raw, "ROLLBACK TO op")
        , put_connection(raw, sql::put_connection)
        , get_connection(raw, sql::get_connection)
        , rooms_of(raw, sql::rooms_of)
        , delete_memberships_of(raw, sql::delete_memberships_of)
        , delete_connection(raw, sql::delete_connection)
        , connection_ids(raw, sql::connection_ids)
        , create_room(raw, sql::create_room)
        , room_exists(raw, sql::room_exists)
        , list_rooms(raw, sql::list_rooms)
        , add_member(raw, sql::add_member)
        , remove_member(raw, sql::remove_member)
        , is_member(raw, sql::is_member)
        , members(raw, sql::members)
        , max_seq(raw, sql::max_seq)
        , insert_message(raw, sql::insert_message)
        , messages_newest(raw, sql::messages_newest)
        , messages_before(raw, sql::messages_before)
    {}

    void run(statement& s)
    {
        auto u = s.run();
        while (u.step()) {
        }
    }

    /// Run `f` atomically on its own (nested inside any batch or unit).
    template <class F>
    auto atomically(F&& f)
    {
        run(op_begin);
        try {
            auto result = f();
            run(op_release);
            return result;
        } catch (...) {
            // Best effort: if even the rollback fails, the caller's batch rolls back.
            drop_caches();
            try {
                run(op_rollback_to);
                run(op_release);
            } catch (core::store_error const&) {
            }
            throw;
        }
    }
};

namespace {

constexpr int busy_timeout_ms = 5000;

detail::db_ptr open_db(std::string const& path, durability d)
{
    // Debian's SQLite counts every allocation under a global mutex (memory statistics, which
    // chatd never reads). Turn that off, once, before the library initializes; if something
    // in the process initialized it already, the call is refused and nothing changes.
    static std::once_flag configured;
    std::call_once(configured, [] { sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0); });
    sqlite3* raw = nullptr;
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
    detail::db_ptr db(raw);
    if (rc != SQLITE_OK)
        throw core::store_error("cannot open database '" + path +
                                "': " + (raw ? sqlite3_errmsg(raw) : sqlite3_errstr(rc)));
    detail::check(raw, sqlite3_extended_result_codes(raw, 1), "sqlite: extended result codes");
    detail::check(raw, sqlite3_busy_timeout(raw, busy_timeout_ms), "sqlite: busy timeout");
    detail::exec(raw, "PRAGMA journal_mode = WAL");
    detail::exec(
        raw, d == durability::full ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL");
    detail::exec(raw, "PRAGMA foreign_keys = ON");
    return db;
}

} // namespace

sqlite_store::sqlite_store(std::string const& path, durability d)
{
    auto db = open_db(path, d);
    detail::migrate(db.get());
    // Sockets of an earlier run are gone: so are their connections and memberships.
    detail::exec(db.get(), "DELETE FROM memberships; DELETE FROM connections;");
    impl_ = std::make_unique<impl>(db.release());
}

sqlite_store::~sqlite_store() = default;

void sqlite_store::disable_auto_checkpoint(std::int64_t wal_limit)
{
    detail::check(impl_->db.get(),
                  sqlite3_wal_autocheckpoint(impl_->db.get(), 0),
                  "sqlite: turning automatic checkpoints off");
    auto pragma = "PRAGMA journal_size_limit = " + std::to_string(wal_limit);
    detail::exec(impl_->db.get(), pragma.c_str());
}

bool sqlite_store::restart_log()
{
    // Without waiting: if the checkpointer is busy copying, the caller tries again later
    // rather than holding up the transactions queued behind it.
    auto* db = impl_->db.get();
    detail::check(db, sqlite3_busy_timeout(db, 0), "sqlite: busy timeout");
    int rc = sqlite3_wal_checkpoint_v2(db, nullptr, SQLITE_CHECKPOINT_RESTART, nullptr, nullptr);
    detail::check(db, sqlite3_busy_timeout(db, busy_timeout_ms), "sqlite: busy timeout");
    // BUSY (any extended form): a checkpoint or a reader is in the way, which is expected.
    if ((rc & 0xff) == SQLITE_BUSY)
        return false;
    detail::check(db, rc, "sqlite: restarting the write-ahead log");
    return true;
}

int sqlite_store::schema_version()
{
    return detail::latest_schema_version();
}

void sqlite_store::begin_batch()
{
    impl_->run(impl_->begin);
}

void sqlite_store::commit_batch()
{
    impl_->run(impl_->commit);
}

void sqlite_store::rollback_batch()
{
    impl_->drop_caches();
    impl_->run(impl_->rollback);
}

void sqlite_store::begin_unit()
{
    impl_->run(impl_->savepoint);
}

void sqlite_store::commit_unit()
{
    impl_->run(impl_->release);
}

void sqlite_store::rollback_unit()
{
    impl_->drop_caches();
    impl_->run(impl_->rollback_to);
    impl_->run(impl_->release);
}

void sqlite_store::put_connection(core::connection_record const& c)
{
    auto u = impl_->put_connection.run();
    u.bind(1, c.connection_id)
        .bind(2, c.name)
        .bind(3, c.connected_at)
        .bind(4, c.source_ip)
        .bind(5, c.user_agent);
    u.step();
    impl_->connections[c.connection_id] = c;
    impl_->add_id(c.connection_id);
}

std::optional<core::connection_record> sqlite_store::get_connection(std::string_view id)
{
    if (auto it = impl_->connections.find(id); it != impl_->connections.end())
        return it->second;
    auto u = impl_->get_connection.run();
    u.bind(1, id);
    if (!u.step())
        return std::nullopt;
    core::connection_record rec{u.text(0), u.text(1), u.integer(2), u.text(3), u.text(4)};
    impl_->connections.emplace(std::string(id), rec);
    return rec;
}

std::vector<std::string> sqlite_store::remove_connection(std::string_view id)
{
    return impl_->atomically([&] {
        std::vector<std::string> rooms;
        {
            auto u = impl_->rooms_of.run();
            u.bind(1, id);
            while (u.step())
                rooms.push_back(u.text(0));
        }
        impl_->delete_memberships_of.run().bind(1, id).step();
        impl_->delete_connection.run().bind(1, id).step();
        std::string key(id);
        impl_->connections.erase(key);
        impl_->remove_id(key);
        for (auto const& room : rooms)
            if (auto* cache = impl_->room_with_members(room))
                impl_->forget_member(*cache, key);
        return rooms;
    });
}

core::id_list sqlite_store::connection_ids()
{
    if (!impl_->ids_loaded) {
        auto u = impl_->connection_ids.run();
        while (u.step()) {
            impl_->id_slot.emplace(u.text(0), impl_->all_ids.size());
            impl_->all_ids.push_back(u.text(0));
        }
        impl_->ids_loaded = true;
    }
    if (!impl_->all_ids_snapshot)
        impl_->all_ids_snapshot = std::make_shared<std::vector<std::string> const>(impl_->all_ids);
    return impl_->all_ids_snapshot;
}

bool sqlite_store::create_room(std::string_view room_id, core::epoch_ms created_at)
{
    auto u = impl_->create_room.run();
    u.bind(1, room_id).bind(2, created_at);
    u.step();
    bool created = u.changes() == 1;
    if (created)
        impl_->room_entry(room_id).exists = true;
    return created;
}

bool sqlite_store::room_exists(std::string_view room_id)
{
    if (auto const* cached = impl_->room(room_id); cached && cached->exists)
        return true;
    auto u = impl_->room_exists.run();
    u.bind(1, room_id);
    bool exists = u.step();
    if (exists)
        impl_->room_entry(room_id).exists = true;
    return exists;
}

std::vector<core::room_summary> sqlite_store::list_rooms()
{
    std::vector<core::room_summary> rooms;
    auto u = impl_->list_rooms.run();
    while (u.step())
        rooms.push_back(core::room_summary{u.text(0), u.integer(2), u.integer(1)});
    return rooms;
}

bool sqlite_store::add_member(std::string_view room_id,
                              std::string_view connection_id,
                              core::epoch_ms at)
{
    auto u = impl_->add_member.run();
    u.bind(1, room_id).bind(2, connection_id).bind(3, at);
    u.step();
    bool added = u.changes() == 1;
    if (added) {
        // Keep a cached member list in step (the foreign key guarantees the connection).
        if (auto* cache = impl_->room_with_members(room_id)) {
            auto rec = get_connection(connection_id);
            cache->members.push_back(
                core::member{std::string(connection_id), rec ? rec->name : ""});
            cache->ids.emplace(connection_id);
            cache->recipients.reset();
        }
    }
    return added;
}

bool sqlite_store::remove_member(std::string_view room_id, std::string_view connection_id)
{
    auto u = impl_->remove_member.run();
    u.bind(1, room_id).bind(2, connection_id);
    u.step();
    bool removed = u.changes() == 1;
    if (removed)
        if (auto* cache = impl_->room_with_members(room_id))
            impl_->forget_member(*cache, connection_id);
    return removed;
}

bool sqlite_store::is_member(std::string_view room_id, std::string_view connection_id)
{
    if (auto const* cached = impl_->room_with_members(room_id))
        return cached->ids.contains(connection_id);
    auto u = impl_->is_member.run();
    u.bind(1, room_id).bind(2, connection_id);
    return u.step();
}

std::vector<core::member> sqlite_store::members(std::string_view room_id)
{
    return impl_->loaded_room(room_id).members;
}

core::id_list sqlite_store::member_ids(std::string_view room_id)
{
    auto& cache = impl_->loaded_room(room_id);
    if (!cache.recipients) {
        std::vector<std::string> ids;
        ids.reserve(cache.members.size());
        for (auto const& m : cache.members)
            ids.push_back(m.connection_id);
        cache.recipients = std::make_shared<std::vector<std::string> const>(std::move(ids));
    }
    return cache.recipients;
}

core::message_record sqlite_store::append_message(std::string_view room_id,
                                                  std::string_view connection_id,
                                                  std::string_view name,
                                                  std::string_view text,
                                                  core::epoch_ms sent_at)
{
    // The room's newest seq is cached; on a miss it is read back from the messages' primary
    // key, so it is right after restarts and after rolled-back writes (caches are dropped then).
    auto* cache = impl_->room(room_id);
    if (!cache || !cache->last_seq) {
        if (!room_exists(room_id))
            throw core::store_error("append_message: room '" + std::string(room_id) +
                                    "' does not exist");
        auto u = impl_->max_seq.run();
        u.bind(1, room_id);
        u.step();
        cache = &impl_->room_entry(room_id);
        cache->last_seq = u.integer(0);
    }
    auto seq = *cache->last_seq + 1;
    auto u = impl_->insert_message.run();
    u.bind(1, room_id)
        .bind(2, seq)
        .bind(3, connection_id)
        .bind(4, name)
        .bind(5, text)
        .bind(6, sent_at);
    u.step();
    cache->last_seq = seq; // only once the row is in
    return core::message_record{std::string(room_id),
                                seq,
                                std::string(connection_id),
                                std::string(name),
                                std::string(text),
                                sent_at};
}

std::vector<core::message_record> sqlite_store::messages_before(std::string_view room_id,
                                                                std::optional<std::int64_t> before,
                                                                std::size_t limit)
{
    std::vector<core::message_record> page;
    auto& st = before ? impl_->messages_before : impl_->messages_newest;
    auto u = st.run();
    u.bind(1, room_id);
    if (before)
        u.bind(2, *before).bind(3, static_cast<std::int64_t>(limit));
    else
        u.bind(2, static_cast<std::int64_t>(limit));
    while (u.step())
        page.push_back(core::message_record{
            std::string(room_id), u.integer(0), u.text(1), u.text(2), u.text(3), u.integer(4)});
    // Fetched newest first (so LIMIT keeps the newest); clients read oldest first.
    std::reverse(page.begin(), page.end());
    return page;
}

} // namespace chatd::storage
