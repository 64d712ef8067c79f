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

/// Appends lines to a file (or stderr) from a thread of its own, so file I/O never runs on the
/// I/O thread. It carries chatd's log (see log.hpp) and the `--event-log` (one JSON line per
/// event handed to an integration). The queue is bounded; lines that do not fit are counted
/// and reported instead of growing memory.
class line_writer
{
public:
    /// Open `path` for appending ("-" is stderr). Throws std::runtime_error when it cannot.
    explicit line_writer(std::string const& path);
    ~line_writer();

    line_writer(line_writer const&) = delete;
    line_writer& operator=(line_writer const&) = delete;

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
