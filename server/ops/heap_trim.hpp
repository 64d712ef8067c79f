#pragma once

#include <atomic>
#include <cstddef>

#include "ops/metrics.hpp"

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
/// glibc keeps freed memory that sits between chunks still in use, so after a burst (1000
/// clients filling one room) the process can stay several times larger than what it uses.
/// The owner calls begin() every period from any thread; when it returns true it hands run()
/// to a thread that may block, which trims when the idle memory has reached the threshold.
/// What a trim could not give back (memory that is not the heap's, say) raises the bar for
/// the next one, so a process that simply has that much never trims in vain every period.
class heap_trimmer
{
public:
    heap_trimmer(std::size_t threshold, metrics& stats);

    /// Claims the next look at the heap: false while one is still running (never two at once).
    bool begin();

    /// The look claimed by begin(): trim_heap(), then a log line and the counter when memory
    /// went back. Blocks: never call it on an I/O thread.
    void run();

private:
    std::size_t threshold_;
    metrics& stats_;
    std::atomic<bool> busy_{false};
    std::atomic<std::size_t> left_idle_{0}; ///< idle memory the last trim left behind
};

} // namespace chatd::server
