#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <mutex>
#include <string>
#include <thread>

namespace chatd::server {

/// `--event-log`: one JSON line per event handed to an integration, written by its own thread
/// so file I/O never runs on the I/O thread. The queue is bounded; lines that do not fit are
/// counted and reported instead of growing memory.
class event_log
{
public:
    /// Open `path` for appending ("-" is stderr). Throws std::runtime_error when it cannot.
    explicit event_log(std::string const& path);
    ~event_log();

    event_log(event_log const&) = delete;
    event_log& operator=(event_log const&) = delete;

    /// Queue one line (without the newline). Any thread; never blocks on I/O.
    void write(std::string line);

    /// Write what is queued and stop the thread. Idempotent.
    void close();

    /// Also count dropped lines here (for /metrics). Set before the first write.
    void count_drops_in(std::atomic<std::uint64_t>* counter) { drop_counter_ = counter; }

private:
    void loop();

    std::FILE* file_ = nullptr;
    bool owns_file_ = false;
    std::mutex mutex_;
    std::condition_variable wake_;
    std::deque<std::string> queue_;
    std::size_t dropped_ = 0;
    std::atomic<std::uint64_t>* drop_counter_ = nullptr;
    bool stopping_ = false;
    std::thread thread_;
};

} // namespace chatd::server
