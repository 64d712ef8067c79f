#include "ops/heap_trim.hpp"

#include <chrono>
#include <cstdio>
#include <string>

#include "ops/log.hpp"
#include <unistd.h>

#if defined(__GLIBC__) && !defined(__SANITIZE_ADDRESS__)
#define CHATD_TRIM_HEAP 1
#include <malloc.h>
#endif

namespace chatd::server {
namespace {

#if defined(CHATD_TRIM_HEAP)
/// Resident memory of this process in bytes, from /proc/self/statm (0 when unreadable).
std::size_t resident_bytes()
{
    std::FILE* f = std::fopen("/proc/self/statm", "r");
    if (!f)
        return 0;
    unsigned long size = 0, resident = 0;
    int n = std::fscanf(f, "%lu %lu", &size, &resident);
    std::fclose(f);
    return n == 2 ? std::size_t(resident) * std::size_t(sysconf(_SC_PAGESIZE)) : 0;
}
#endif

std::string megabytes(std::size_t bytes)
{
    char text[32];
    std::snprintf(text, sizeof text, "%.1f MB", double(bytes) / (1 << 20));
    return text;
}

} // namespace

heap_trim_result trim_heap(std::size_t threshold)
{
    heap_trim_result r;
#if defined(CHATD_TRIM_HEAP)
    auto in_use = [] {
        struct mallinfo2 mi = mallinfo2();
        return mi.uordblks + mi.hblkhd; // chunks handed out, in the heaps and mapped alone
    };
    std::size_t before = resident_bytes();
    std::size_t used = in_use();
    r.idle_bytes = before > used ? before - used : 0;
    r.idle_after = r.idle_bytes;
    if (before == 0 || r.idle_bytes < threshold)
        return r;
    malloc_trim(0);
    r.trimmed = true;
    std::size_t after = resident_bytes();
    r.returned_bytes = before > after ? before - after : 0;
    used = in_use();
    r.idle_after = after > used ? after - used : 0;
#else
    (void)threshold;
#endif
    return r;
}

heap_trimmer::heap_trimmer(std::size_t threshold, metrics& stats)
    : threshold_(threshold)
    , stats_(stats)
{}

bool heap_trimmer::begin()
{
    return !busy_.exchange(true);
}

void heap_trimmer::run()
{
    auto started = std::chrono::steady_clock::now();
    auto r = trim_heap(left_idle_.load() + threshold_);
    if (r.trimmed)
        left_idle_.store(r.idle_after);
    busy_.store(false);
    // Less than a megabyte is the resident set moving, not a trim worth a line.
    if (r.returned_bytes < (std::size_t(1) << 20))
        return;
    stats_.heap_returned_bytes += r.returned_bytes;
    char took[32];
    std::snprintf(
        took,
        sizeof took,
        "%.1f ms",
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started)
            .count());
    log::info("heap: gave " + megabytes(r.returned_bytes) +
              " of freed memory back to the system (" + megabytes(r.idle_bytes) +
              " was resident but unused; took " + took + ")");
}

} // namespace chatd::server
