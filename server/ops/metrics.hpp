#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace chatd::server {

/// A Prometheus histogram with fixed upper bounds. observe() is lock-free and may be called
/// from any thread; the buckets are cumulative only when rendered.
class histogram
{
public:
    explicit histogram(std::vector<double> bounds);

    void observe(double value);

    /// Append the _bucket/_sum/_count lines for `name` with `labels` ("" or `a="b"`).
    void render(std::string& out, std::string_view name, std::string_view labels) const;

private:
    std::vector<double> bounds_;
    std::unique_ptr<std::atomic<std::uint64_t>[]> counts_; // bounds_.size() + 1 (the +Inf bucket)
    std::atomic<std::uint64_t> count_{0};
    std::atomic<std::uint64_t> sum_micro_{0}; // sum of values, in millionths
};

/// A family of counters keyed by a small set of label values (routes, status codes), created
/// on first use. Safe from any thread. A hot path looks its counter up once with at() and then
/// only increments it; the reference stays valid for the family's lifetime.
class counter_family
{
public:
    std::atomic<std::uint64_t>& at(std::string_view label_value);

    void add(std::string_view label_value, std::uint64_t n = 1)
    {
        at(label_value).fetch_add(n, std::memory_order_relaxed);
    }

    std::uint64_t get(std::string_view label_value) const;
    void render(std::string& out, std::string_view name, std::string_view label) const;

private:
    mutable std::mutex mutex_;
    std::map<std::string, std::atomic<std::uint64_t>, std::less<>> values_; // node-based: stable
};

/// Everything /metrics reports. One instance per server; the I/O thread, the storage thread and
/// the log writer update it.
struct metrics
{
    metrics();

    std::atomic<std::int64_t> open_connections{0};
    std::atomic<std::uint64_t> connects{0}; // handshakes completed
    counter_family connects_refused;        // by HTTP status of the refusal
    counter_family disconnects;             // by close code
    counter_family messages_in;             // by route key ("" = no route matched)
    // Frames queued to clients, by kind (plain counters: one per delivery on the hot path).
    std::atomic<std::uint64_t> posts_out{0};   // management API and the app's posts
    std::atomic<std::uint64_t> replies_out{0}; // two-way route responses
    std::atomic<std::uint64_t> errors_out{0};  // API Gateway's error frames
    histogram integration_seconds;             // every integration call, any route
    counter_family integration_outcomes;       // ok, function_error, timeout
    counter_family management_calls;           // "METHOD STATUS"
    histogram sqlite_commit_seconds;           // one storage transaction, BEGIN to COMMIT
    histogram sqlite_batch_events;             // events per storage transaction
    counter_family drops;                      // what was dropped and why
    counter_family accept_errors;              // accept() failures, by error (descriptors out)
    std::atomic<std::uint64_t> log_lines_dropped{0};
    std::atomic<std::uint64_t> heap_returned_bytes{0}; // given back by heap_trimmer

    /// Prometheus text exposition format 0.0.4.
    std::string render() const;

private:
    void render_connections(std::string& out) const; ///< connections and frames
    void render_work(std::string& out) const;        ///< integrations, management API, storage
    void render_process(std::string& out) const;     ///< queues, log, heap, descriptors
};

} // namespace chatd::server
