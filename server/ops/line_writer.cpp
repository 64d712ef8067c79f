#include "ops/line_writer.hpp"

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include <pthread.h>

namespace chatd::server {
namespace {

/// Lines waiting to be written; past this, new lines are dropped (and counted).
constexpr std::size_t max_queued_lines = 100000;

} // namespace

line_writer::line_writer(std::string const& path)
{
    if (path == "-") {
        file_ = stderr;
    } else {
        file_ = std::fopen(path.c_str(), "a");
        if (!file_)
            throw std::runtime_error("cannot open '" + path + "': " + std::strerror(errno));
        owns_file_ = true;
    }
    thread_ = std::thread([this] { loop(); });
}

line_writer::~line_writer()
{
    close();
}

void line_writer::write(std::string line)
{
    std::lock_guard lock(mutex_);
    if (stopping_)
        return;
    if (queue_.size() >= max_queued_lines) {
        ++dropped_;
        if (drop_counter_)
            drop_counter_->fetch_add(1, std::memory_order_relaxed);
        return;
    }
    queue_.push_back(std::move(line));
    wake_.notify_one();
}

void line_writer::close()
{
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_one();
    if (thread_.joinable())
        thread_.join();
    if (owns_file_ && file_) {
        std::fclose(file_);
        file_ = nullptr;
    }
}

void line_writer::loop()
{
    pthread_setname_np(pthread_self(), "chatd-writer");
    for (;;) {
        std::deque<std::string> batch;
        std::size_t dropped = 0;
        bool stop = false;
        {
            std::unique_lock lock(mutex_);
            wake_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
            batch.swap(queue_);
            std::swap(dropped, dropped_);
            stop = stopping_;
        }
        for (auto& line : batch) {
            line.push_back('\n');
            std::fwrite(line.data(), 1, line.size(), file_);
        }
        if (dropped > 0)
            std::fprintf(
                file_,
                "{\"chatdEventLog\":\"%zu events were not logged: the log fell behind\"}\n",
                dropped);
        std::fflush(file_);
        if (stop && batch.empty())
            return;
    }
}

} // namespace chatd::server
