#include <chatd/storage/checkpointer.hpp>

#include "sqlite_handle.hpp"
#include <pthread.h>

namespace chatd::storage {

checkpointer::checkpointer(std::string const& path,
                           std::chrono::milliseconds period,
                           std::int64_t wal_limit,
                           reporter report)
    : wal_limit_(wal_limit)
    , report_(std::move(report))
{
    sqlite3* raw = nullptr;
    if (sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr) !=
        SQLITE_OK) {
        std::string why = raw ? sqlite3_errmsg(raw) : "out of memory";
        sqlite3_close_v2(raw);
        throw core::store_error("checkpointer: cannot open '" + path + "': " + why);
    }
    detail::db_ptr db(raw);
    detail::check(raw, sqlite3_busy_timeout(raw, 1000), "checkpointer: busy timeout");
    // A connection learns that the file is in WAL mode, and opens the log, only when it first
    // reads it. Until then a checkpoint on it does nothing and still reports success.
    detail::exec(raw, "SELECT count(*) FROM sqlite_schema");
    {
        detail::statement size(raw, "PRAGMA page_size");
        auto u = size.run();
        if (u.step())
            page_size_ = u.integer(0);
    }
    db_ = db.release();
    thread_ = std::thread([this, period] { loop(period); });
}

checkpointer::~checkpointer()
{
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_one();
    if (thread_.joinable())
        thread_.join();
    sqlite3_close_v2(static_cast<sqlite3*>(db_));
}

void checkpointer::checkpoint_once()
{
    auto* db = static_cast<sqlite3*>(db_);
    int log = 0; // frames in the log
    // PASSIVE: copy what it can without waiting for, or blocking, the writer.
    int rc = sqlite3_wal_checkpoint_v2(db, nullptr, SQLITE_CHECKPOINT_PASSIVE, &log, nullptr);
    if (rc == SQLITE_OK) {
        too_long_.store(std::int64_t(log) * page_size_ > wal_limit_, std::memory_order_relaxed);
        passes_.fetch_add(1, std::memory_order_relaxed);
    }
    // BUSY: the writer held on past the busy timeout; the next round tries again.
    bool failed = rc != SQLITE_OK && rc != SQLITE_BUSY;
    if (failed != failing_ && report_)
        report_(failed ? std::string(sqlite3_errmsg(db)) : std::string());
    failing_ = failed;
}

void checkpointer::loop(std::chrono::milliseconds period)
{
    pthread_setname_np(pthread_self(), "chatd-checkpnt");
    std::unique_lock lock(mutex_);
    while (!wake_.wait_for(lock, period, [this] { return stopping_; })) {
        lock.unlock();
        checkpoint_once();
        lock.lock();
    }
}

} // namespace chatd::storage
