#pragma once
// The process's open-file limit and descriptor table, set up once at start-up.

#include <cstddef>

namespace chatd::server {

/// Raises the soft open-file limit to the hard one (each connection is a descriptor), then
/// grows the kernel's descriptor table to min(limit, `presize`) slots at once.
///
/// Why the table: Linux doubles a process's descriptor table when a new descriptor does not
/// fit (at 64, 128, ... 4096 ...), and in a process with more than one thread it waits for an
/// RCU grace period while doing so. Measured here, each doubling stalled the I/O thread for
/// 10-35 ms, so every handshake in flight at 256, 512, 1024, 2048 and 4096 connections took
/// that long. Growing the table while the process still has one thread costs nothing of the
/// sort (8 bytes of kernel memory per slot, no user memory). Call before any thread starts.
/// Returns the soft limit chatd runs with.
std::size_t prepare_descriptors(std::size_t presize = 32768);

} // namespace chatd::server
