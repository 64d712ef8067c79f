#pragma once

#include <chatd/storage/checkpointer.hpp>
#include <chatd/storage/sqlite_store.hpp>

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "metrics.hpp"
#include "net.hpp"

namespace chatd::server {

/// One unit of work for the storage thread.
class storage_task
{
public:
    virtual ~storage_task() = default;

    /// Do the work against the store. Runs on the storage thread inside its own savepoint;
    /// throwing rolls back this task's changes alone.
    virtual void run(core::store& db) = 0;

    /// The transaction holding run()'s changes committed. Runs on the completion executor.
    virtual void done() = 0;

    /// run() threw or the batch failed to commit (on the completion executor), or the queue
    /// was full (on the submitting thread).
    virtual void failed(std::string const& why) = 0;
};

/// The thread that owns the SQLite connection. It takes everything queued, runs it in one
/// transaction (each task in a savepoint) and commits once: group commit without a timer.
/// Completions (done/failed) happen only after the commit, so nothing is acknowledged
/// before it is on disk; a whole batch's completions are handed to `completions` (the I/O
/// thread) in one go, one wake-up per transaction rather than one per event.
class storage_worker
{
public:
    /// Opens the store on the calling thread (so start-up errors surface there), then starts
    /// the storage thread. Throws core::store_error.
    storage_worker(std::string const& db_path,
                   storage::durability durability,
                   std::size_t max_queue,
                   net::any_io_executor completions,
                   metrics& stats);
    ~storage_worker();

    storage_worker(storage_worker const&) = delete;
    storage_worker& operator=(storage_worker const&) = delete;

    /// Queue a task. Any thread. When the queue is full the task fails at once (bounded queue).
    void submit(std::unique_ptr<storage_task> task);

    /// Finish everything queued, commit, and join the thread. Idempotent.
    void stop();

private:
    void loop();
    void run_batch(std::deque<std::unique_ptr<storage_task>>& batch);

    storage::sqlite_store store_;
    std::unique_ptr<storage::checkpointer> checkpointer_; ///< none for ":memory:"
    metrics& stats_;
    net::any_io_executor completions_;
    std::size_t max_queue_;
    std::mutex mutex_;
    std::condition_variable wake_;
    std::deque<std::unique_ptr<storage_task>> queue_;
    bool stopping_ = false;
    std::thread thread_;
};

} // namespace chatd::server
