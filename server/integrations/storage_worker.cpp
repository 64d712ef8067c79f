#include "integrations/storage_worker.hpp"

#include <algorithm>
#include <chrono>
#include <vector>

#include "ops/log.hpp"
#include <pthread.h>

namespace chatd::server {
namespace {

/// Largest number of tasks in one transaction: keeps a batch's latency bounded under load.
constexpr std::size_t max_batch = 1024;

/// A checkpointer for a database file (none for ":memory:"), with the store's own automatic
/// checkpoints turned off. Runs before the storage thread exists.
std::unique_ptr<storage::checkpointer> start_checkpointer(storage::sqlite_store& store,
                                                          std::string const& path)
{
    if (path == ":memory:")
        return nullptr;
    // The log is copied into the database file every 100 ms, and started over by the storage
    // thread once it holds more than 4 MB (see checkpointer and run_batch). A log that starts
    // over is overwritten in place; one that grows makes every commit's fdatasync write the
    // file's inode as well (its size and block map change), a second synchronous disk write.
    // So the limit is small enough that the log stays in place under steady load (the
    // measurement is in docs/bench/changes.md). The file itself is cut back to 64 MB if a
    // restart that could not run at once (a checkpoint in progress) let it grow past that.
    constexpr std::int64_t restart_at = 4 << 20;
    constexpr std::int64_t file_limit = 64 << 20;
    auto cp = std::make_unique<storage::checkpointer>(
        path, std::chrono::milliseconds(100), restart_at, [](std::string const& why) {
            if (why.empty())
                log::info("storage: WAL checkpoints work again");
            else
                log::error("storage: WAL checkpoint failed (the log file keeps growing until one "
                           "succeeds): " +
                           why);
        });
    store.disable_auto_checkpoint(file_limit);
    return cp;
}

} // namespace

storage_worker::storage_worker(std::string const& db_path,
                               storage::durability durability,
                               std::size_t max_queue,
                               net::any_io_executor completions,
                               metrics& stats)
    : store_(db_path, durability)
    , checkpointer_(start_checkpointer(store_, db_path))
    , stats_(stats)
    , completions_(std::move(completions))
    , max_queue_(max_queue)
    , thread_([this] { loop(); })
{}

storage_worker::~storage_worker()
{
    stop();
}

void storage_worker::submit(std::unique_ptr<storage_task> task)
{
    bool stopping = false;
    {
        std::unique_lock lock(mutex_);
        stopping = stopping_;
        if (!stopping && queue_.size() < max_queue_) {
            queue_.push_back(std::move(task));
            // Wake the storage thread after letting go of the lock: woken while this thread
            // still held it, it would run (it shares the core), find the lock taken, sleep
            // again and need a second wake-up once this thread resumed and unlocked.
            lock.unlock();
            wake_.notify_one();
            return;
        }
    }
    if (!stopping)
        stats_.drops.add("storage");
    task->failed(stopping ? "storage is shutting down" : "storage queue is full");
}

void storage_worker::stop()
{
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_one();
    if (thread_.joinable())
        thread_.join();
}

void storage_worker::loop()
{
    pthread_setname_np(pthread_self(), "chatd-storage");
    for (;;) {
        std::vector<std::unique_ptr<storage_task>> batch;
        {
            std::unique_lock lock(mutex_);
            wake_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
            if (queue_.empty())
                return; // stopping, and everything queued has been run
            batch.reserve(std::min(queue_.size(), max_batch));
            while (!queue_.empty() && batch.size() < max_batch) {
                batch.push_back(std::move(queue_.front()));
                queue_.pop_front();
            }
        }
        run_batch(std::move(batch));
    }
}

void storage_worker::run_batch(std::vector<std::unique_ptr<storage_task>> tasks)
{
    // The batch and each task's outcome (empty when it succeeded, else why it failed) travel
    // together to the I/O thread, which calls done or failed on each.
    struct finished_batch
    {
        std::vector<std::unique_ptr<storage_task>> tasks;
        std::vector<std::string> errors;
    };

    auto result = std::make_shared<finished_batch>();
    result->errors.resize(tasks.size());
    result->tasks = std::move(tasks);
    auto& batch = result->tasks;
    auto& errors = result->errors;
    auto finish = [&] {
        net::post(completions_, [result] {
            for (std::size_t i = 0; i < result->tasks.size(); ++i) {
                if (result->errors[i].empty())
                    result->tasks[i]->done();
                else
                    result->tasks[i]->failed(result->errors[i]);
            }
        });
    };
    auto fail_all = [&](std::string const& why) {
        for (auto& e : errors)
            e = why.empty() ? "storage error" : why;
        finish();
    };
    auto started = std::chrono::steady_clock::now();
    try {
        // Tasks rarely fail (a full disk, a damaged file), so the first attempt runs them all
        // straight into the transaction. If one throws, that attempt is rolled back and the
        // batch runs again with each task in its own savepoint, so only the failing task's
        // changes are undone. Nothing was acknowledged in between: completions come after.
        if (!attempt(batch, errors, false))
            attempt(batch, errors, true);
    } catch (std::exception const& e) {
        return fail_all(e.what());
    }
    stats_.sqlite_commit_seconds.observe(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    stats_.sqlite_batch_events.observe(double(batch.size()));
    finish();
    // Under steady load the log may never find a moment to start over (see checkpointer):
    // past its limit, start it over here, after this batch's results are on their way.
    restart_log_if_long();
}

void storage_worker::restart_log_if_long()
{
    if (!checkpointer_ || !checkpointer_->log_too_long())
        return;
    try {
        if (store_.restart_log()) {
            checkpointer_->log_restarted();
            restart_error_.clear();
        }
    } catch (std::exception const& e) {
        if (restart_error_ != e.what()) {
            restart_error_ = e.what();
            log::error("storage: cannot start the write-ahead log over: " + restart_error_);
        }
    }
}

bool storage_worker::attempt(std::vector<std::unique_ptr<storage_task>>& batch,
                             std::vector<std::string>& errors,
                             bool isolate)
{
    try {
        store_.begin_batch();
    } catch (std::exception const& e) {
        log::error(std::string("storage: cannot begin a transaction: ") + e.what());
        throw;
    }
    auto roll_back = [&] {
        try {
            store_.rollback_batch();
        } catch (std::exception const&) {
        }
    };
    for (std::size_t i = 0; i < batch.size(); ++i) {
        if (!isolate) {
            try {
                batch[i]->run(store_);
            } catch (std::exception const& e) {
                log::warn(std::string("storage: a task failed, running its batch again with each "
                                      "task on its own: ") +
                          e.what());
                roll_back();
                return false;
            }
            continue;
        }
        errors[i].clear();
        try {
            store_.begin_unit();
            try {
                batch[i]->run(store_);
                store_.commit_unit();
            } catch (...) {
                store_.rollback_unit();
                throw;
            }
        } catch (std::exception const& e) {
            errors[i] = *e.what() ? e.what() : "unknown storage error";
            log::error(std::string("storage: a task failed and was rolled back: ") + e.what());
        }
    }
    try {
        store_.commit_batch();
    } catch (std::exception const& e) {
        log::error(std::string("storage: commit failed, batch rolled back: ") + e.what());
        roll_back();
        throw;
    }
    return true;
}

} // namespace chatd::server
