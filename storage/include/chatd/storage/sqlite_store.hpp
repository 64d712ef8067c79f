#pragma once

#include <chatd/core/store.hpp>

#include <cstdint>
#include <memory>
#include <string>

namespace chatd::storage {

/// core::store on one SQLite database file (or ":memory:").
///
/// Threading: one thread owns an instance for its whole life (the connection is opened with
/// SQLITE_OPEN_NOMUTEX). In chatd that is the storage thread; nothing else touches it.
///
/// Durability: WAL journal. With durability::full (synchronous=FULL) a change is on disk when
/// the transaction that holds it commits; with durability::normal (synchronous=NORMAL) it is
/// in the WAL file when the transaction commits, so it survives a crash or kill of chatd but
/// not a crash of the operating system or a power cut (the WAL is synced at checkpoints). The
/// storage thread groups the work it finds queued into one transaction (begin_batch / commit_batch)
/// and isolates each event in a savepoint (begin_unit / ...), so a failing event rolls back alone.
/// How hard a commit waits for the disk (see the class comment).
enum class durability
{
    full,
    normal
};

class sqlite_store : public core::store
{
public:
    /// Open (creating if needed) and migrate the database; throws core::store_error.
    /// Connections and memberships left by an earlier run are cleared: their sockets are gone.
    explicit sqlite_store(std::string const& path, durability d = durability::full);
    ~sqlite_store() override;

    sqlite_store(sqlite_store const&) = delete;
    sqlite_store& operator=(sqlite_store const&) = delete;

    /// Turn SQLite's automatic WAL checkpoints off (a checkpointer thread does them instead)
    /// and cut the log file back to `wal_limit` bytes whenever it starts over.
    void disable_auto_checkpoint(std::int64_t wal_limit);

    /// Between transactions: copy the rest of the WAL into the database file and have the next
    /// transaction start the log from the beginning (a RESTART checkpoint). Does not wait:
    /// false when a checkpoint or a reader is in the way (try again after the next batch);
    /// throws store_error on any other failure (an I/O error is not "busy").
    bool restart_log();

    /// The schema version this build writes (PRAGMA user_version after migration).
    static int schema_version();

    void begin_batch();
    void commit_batch();
    void rollback_batch();
    void begin_unit();
    void commit_unit();
    void rollback_unit();

    // core::store
    void put_connection(core::connection_record const& c) override;
    std::optional<core::connection_record> get_connection(std::string_view id) override;
    std::vector<std::string> remove_connection(std::string_view id) override;
    core::id_list connection_ids() override;
    bool create_room(std::string_view room_id, core::epoch_ms created_at) override;
    bool room_exists(std::string_view room_id) override;
    std::vector<core::room_summary> list_rooms() override;
    bool add_member(std::string_view room_id,
                    std::string_view connection_id,
                    core::epoch_ms at) override;
    bool remove_member(std::string_view room_id, std::string_view connection_id) override;
    bool is_member(std::string_view room_id, std::string_view connection_id) override;
    std::vector<core::member> members(std::string_view room_id) override;
    core::id_list member_ids(std::string_view room_id) override;
    core::message_record append_message(std::string_view room_id,
                                        std::string_view connection_id,
                                        std::string_view name,
                                        std::string_view text,
                                        core::epoch_ms sent_at) override;
    std::vector<core::message_record> messages_before(std::string_view room_id,
                                                      std::optional<std::int64_t> before,
                                                      std::size_t limit) override;

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

} // namespace chatd::storage
