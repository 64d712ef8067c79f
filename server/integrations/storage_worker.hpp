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
#include <vector>

#include "ops/metrics.hpp"
#include "transport/net.hpp"

namespace chatd::server {

/// One unit of work for the storage thread.
class storage_task
{
public:
    virtual ~storage_task() = default;

    /// Do the work against the store, on the storage thread. Throwing undoes this task's
    /// changes alone. run() may be called again after an attempt that was rolled back (another
    /// task in its batch threw), so it must touch nothing but the store and its own result,
    /// which each call replaces.
    virtual void run(core::store& db) = 0;

    /// The transaction holding run()'s changes committed. Runs on the completion executor.
    virtual void done() = 0;

    /// run() threw or the batch failed to commit (on the completion executor), or the queue
    /// was full (on the submitting thread).
    virtual void failed(std::string const& why) = 0;
};

/// The thread that owns the SQLite connection. It takes everything queued, runs it in one
/// transaction and commits once: group commit without a timer.
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
    void run_batch(std::vector<std::unique_ptr<storage_task>> batch);

    /// Run `batch` in one transaction and commit it. With `isolate`, each task runs in its own
    /// savepoint and a throwing task's error goes to `errors` while the rest commit. Without,
    /// the first throwing task rolls the attempt back and false is returned. Throws when the
    /// transaction cannot begin or commit (it is rolled back).
    bool attempt(std::vector<std::unique_ptr<storage_task>>& batch,
                 std::vector<std::string>& errors,
                 bool isolate);

    /// Past the checkpointer's limit, start the write-ahead log over; a failure that is not
    /// "busy" is logged (once until it changes) and tried again after the next batch.
    void restart_log_if_long();

    storage::sqlite_store store_;
    std::unique_ptr<storage::checkpointer> checkpointer_; ///< none for ":memory:"
    std::string restart_error_; ///< the last restart_log failure logged, until one succeeds
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
