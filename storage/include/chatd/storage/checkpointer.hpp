#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

namespace chatd::storage {

/// Moves SQLite's WAL checkpoints off the storage thread. With automatic checkpoints, every
/// ~1000 pages one commit also copies the log into the database file and waits for the disk,
/// and every acknowledgement queued behind it waits too. This thread owns a second connection
/// to the same file and runs PASSIVE checkpoints (which never block the writer) on a short
/// period; the storage thread's connection has automatic checkpoints turned off.
class checkpointer
{
public:
    /// Start checkpointing `path` every `period`. Throws core::store_error when it cannot open.
    checkpointer(std::string const& path, std::chrono::milliseconds period);
    ~checkpointer();

    checkpointer(checkpointer const&) = delete;
    checkpointer& operator=(checkpointer const&) = delete;

private:
    void loop(std::chrono::milliseconds period);

    void* db_ = nullptr; // sqlite3*, kept out of this header
    std::mutex mutex_;
    std::condition_variable wake_;
    bool stopping_ = false;
    std::thread thread_;
};

} // namespace chatd::storage
