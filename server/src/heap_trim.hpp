#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <memory>

#include "metrics.hpp"
#include "net.hpp"

namespace chatd::server {

/// What one look at the heap found and did.
struct heap_trim_result
{
    std::size_t idle_bytes = 0;     ///< resident but not handed out by the allocator, before
    std::size_t returned_bytes = 0; ///< resident memory given back (0: nothing was trimmed)
    std::size_t idle_after = 0;     ///< resident but not handed out, after
    bool trimmed = false;           ///< the threshold was reached and malloc_trim ran
};

/// Compare the process's resident memory with what the allocator has handed out; when the
/// difference reaches `threshold`, ask the allocator to give its free pages back to the
/// system. Blocks for as long as that takes (milliseconds after a large burst): never call it
/// on an I/O thread. Does nothing where the C library is not glibc, or under AddressSanitizer
/// (whose allocator is its own).
heap_trim_result trim_heap(std::size_t threshold);

/// Gives back memory that a burst left in the heap.
///
/// glibc keeps freed memory that sits between chunks still in use. After 1000 clients fill one
/// room (about 500,000 frames), chatd's resident memory stays near 100 MB with a third of it in
/// use. Every `period`, a timer on the I/O thread hands one trim_heap() to `work`, an executor
/// whose thread may block; the I/O thread itself only runs the timer. What a trim could not
/// give back (memory that is not the heap's, say) raises the bar for the next one, so a
/// process that simply has that much never trims in vain every period.
class heap_trimmer
{
public:
    heap_trimmer(net::any_io_executor io,
                 net::any_io_executor work,
                 std::chrono::milliseconds period,
                 std::size_t threshold,
                 metrics& stats);

    void start();
    void stop();

private:
    void arm();

    net::steady_timer timer_;
    net::any_io_executor work_;
    std::chrono::milliseconds period_;
    std::size_t threshold_;
    metrics& stats_;

    /// A trim is running (one at a time), and the idle memory the last one left.
    struct state
    {
        std::atomic<bool> busy{false};
        std::atomic<std::size_t> left_idle{0};
    };

    std::shared_ptr<state> state_ = std::make_shared<state>();
};

} // namespace chatd::server
