#include <chatd/storage/checkpointer.hpp>

#include "sqlite_handle.hpp"
#include <pthread.h>

namespace chatd::storage {

checkpointer::checkpointer(std::string const& path, std::chrono::milliseconds period)
{
    sqlite3* raw = nullptr;
    if (sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr) !=
        SQLITE_OK) {
        std::string why = raw ? sqlite3_errmsg(raw) : "out of memory";
        sqlite3_close_v2(raw);
        throw core::store_error("checkpointer: cannot open '" + path + "': " + why);
    }
    sqlite3_busy_timeout(raw, 1000);
    db_ = raw;
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

void checkpointer::loop(std::chrono::milliseconds period)
{
    pthread_setname_np(pthread_self(), "chatd-checkpnt");
    auto* db = static_cast<sqlite3*>(db_);
    std::unique_lock lock(mutex_);
    while (!wake_.wait_for(lock, period, [this] { return stopping_; })) {
        lock.unlock();
        // PASSIVE: copy what it can without waiting for, or blocking, the writer.
        sqlite3_wal_checkpoint_v2(db, nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
        lock.lock();
    }
}

} // namespace chatd::storage
