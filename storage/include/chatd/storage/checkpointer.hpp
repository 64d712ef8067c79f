#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace chatd::storage {

/// Moves SQLite's WAL checkpoints off the storage thread. With automatic checkpoints, every
/// ~1000 pages one commit also copies the log into the database file and waits for the disk,
/// and every acknowledgement queued behind it waits too. This thread owns a second connection
/// to the same file and runs PASSIVE checkpoints (which never block the writer) on a short
/// period; the storage thread's connection has automatic checkpoints turned off.
///
/// The writer starts the log over only when it finds it completely copied, which a writer
/// that never pauses may never do. So once the log holds more than `wal_limit` bytes,
/// log_too_long() says so, and the writer should run sqlite_store::restart_log() between two
/// transactions: it copies what is left (little, after the passive checkpoints) and makes the
/// next transaction start the log from the beginning.
class checkpointer
{
public:
    /// Called, from the checkpointer's thread, when checkpoints start failing (with SQLite's
    /// message) and when they succeed again (with an empty string).
    using reporter = std::function<void(std::string const&)>;

    /// Start checkpointing `path` every `period`. Throws core::store_error when it cannot open.
    checkpointer(std::string const& path,
                 std::chrono::milliseconds period,
                 std::int64_t wal_limit = 64 << 20,
                 reporter report = {});
    ~checkpointer();

    checkpointer(checkpointer const&) = delete;
    checkpointer& operator=(checkpointer const&) = delete;

    /// Checkpoints run so far without an error.
    std::uint64_t passes() const { return passes_.load(std::memory_order_relaxed); }

    /// The last checkpoint found the log longer than `wal_limit`. Any thread.
    bool log_too_long() const { return too_long_.load(std::memory_order_relaxed); }

    /// The writer has started the log over: log_too_long() is false until a checkpoint finds
    /// it long again.
    void log_restarted() { too_long_.store(false, std::memory_order_relaxed); }

private:
    void loop(std::chrono::milliseconds period);
    void checkpoint_once();

    void* db_ = nullptr; // sqlite3*, kept out of this header
    std::int64_t wal_limit_;
    std::int64_t page_size_ = 4096;
    reporter report_;
    bool failing_ = false;
    std::atomic<std::uint64_t> passes_{0};
    std::atomic<bool> too_long_{false};
    std::mutex mutex_;
    std::condition_variable wake_;
    bool stopping_ = false;
    std::thread thread_;
};

} // namespace chatd::storage
