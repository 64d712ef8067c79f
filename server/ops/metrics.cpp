#include "ops/metrics.hpp"

#include <cstdio>

#include <sys/resource.h>

namespace chatd::server {

namespace {

std::string number(double v)
{
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.9g", v);
    return buf;
}

/// Label values are route keys and codes; escape what the format requires anyway.
std::string escape(std::string_view v)
{
    std::string out;
    out.reserve(v.size());
    for (char c : v) {
        if (c == '\\' || c == '"')
            out += '\\';
        if (c == '\n') {
            out += "\\n";
            continue;
        }
        out += c;
    }
    return out;
}

void head(std::string& out, std::string_view name, std::string_view type, std::string_view help)
{
    out.append("# HELP ").append(name).append(" ").append(help).append("\n");
    out.append("# TYPE ").append(name).append(" ").append(type).append("\n");
}

} // namespace

histogram::histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds))
    , counts_(new std::atomic<std::uint64_t>[bounds_.size() + 1])
{
    for (std::size_t i = 0; i <= bounds_.size(); ++i)
        counts_[i].store(0, std::memory_order_relaxed);
}

void histogram::observe(double value)
{
    std::size_t i = 0;
    while (i < bounds_.size() && value > bounds_[i])
        ++i;
    counts_[i].fetch_add(1, std::memory_order_relaxed);
    count_.fetch_add(1, std::memory_order_relaxed);
    sum_micro_.fetch_add(static_cast<std::uint64_t>(value * 1e6), std::memory_order_relaxed);
}

void histogram::render(std::string& out, std::string_view name, std::string_view labels) const
{
    std::string sep = labels.empty() ? "" : std::string(labels) + ",";
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i <= bounds_.size(); ++i) {
        cumulative += counts_[i].load(std::memory_order_relaxed);
        auto le = i < bounds_.size() ? number(bounds_[i]) : std::string("+Inf");
        out.append(name)
            .append("_bucket{")
            .append(sep)
            .append("le=\"")
            .append(le)
            .append("\"} ")
            .append(std::to_string(cumulative))
            .append("\n");
    }
    std::string braces; // built by appending: GCC 12's -Wrestrict misfires on "{" + s + "}"
    if (!labels.empty())
        braces.append("{").append(labels).append("}");
    out.append(name)
        .append("_sum")
        .append(braces)
        .append(" ")
        .append(number(double(sum_micro_.load(std::memory_order_relaxed)) / 1e6))
        .append("\n");
    out.append(name)
        .append("_count")
        .append(braces)
        .append(" ")
        .append(std::to_string(count_.load(std::memory_order_relaxed)))
        .append("\n");
}

std::atomic<std::uint64_t>& counter_family::at(std::string_view label_value)
{
    std::lock_guard lock(mutex_);
    auto it = values_.find(label_value);
    if (it == values_.end())
        it = values_.try_emplace(std::string(label_value), 0).first;
    return it->second;
}

std::uint64_t counter_family::get(std::string_view label_value) const
{
    std::lock_guard lock(mutex_);
    auto it = values_.find(label_value);
    return it == values_.end() ? 0 : it->second.load(std::memory_order_relaxed);
}

void counter_family::render(std::string& out, std::string_view name, std::string_view label) const
{
    std::lock_guard lock(mutex_);
    for (auto const& [value, n] : values_)
        out.append(name)
            .append("{")
            .append(label)
            .append("=\"")
            .append(escape(value))
            .append("\"} ")
            .append(std::to_string(n.load(std::memory_order_relaxed)))
            .append("\n");
}

metrics::metrics()
    : integration_seconds(
          {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 29})
    , sqlite_commit_seconds(
          {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1})
    , sqlite_batch_events({1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 5000})
{}

namespace {

/// A metric with no labels: its HELP and TYPE lines, then its one sample.
template <class Number>
void single(std::string& out,
            std::string_view name,
            std::string_view type,
            std::string_view help,
            Number value)
{
    head(out, name, type, help);
    out.append(name).append(" ").append(std::to_string(value)).append("\n");
}

} // namespace

void metrics::render_connections(std::string& out) const
{
    single(out,
           "chatd_open_connections",
           "gauge",
           "WebSocket connections open now.",
           open_connections.load());
    single(out,
           "chatd_connects_total",
           "counter",
           "Handshakes completed ($connect succeeded).",
           connects.load());
    head(out,
         "chatd_connects_refused_total",
         "counter",
         "Upgrade requests refused, by the HTTP status sent.");
    connects_refused.render(out, "chatd_connects_refused_total", "status");
    head(out, "chatd_disconnects_total", "counter", "Connections ended, by close code.");
    disconnects.render(out, "chatd_disconnects_total", "code");
    head(out,
         "chatd_messages_in_total",
         "counter",
         "Frames received from clients, by selected route (\"\" when none matched).");
    messages_in.render(out, "chatd_messages_in_total", "route");
    head(out,
         "chatd_messages_out_total",
         "counter",
         "Frames queued to clients: post (management API and the app), reply (route "
         "responses), error (API Gateway's error frames).");
    for (auto [kind, n] : {std::pair{"post", posts_out.load()},
                           std::pair{"reply", replies_out.load()},
                           std::pair{"error", errors_out.load()}})
        out.append("chatd_messages_out_total{kind=\"")
            .append(kind)
            .append("\"} ")
            .append(std::to_string(n))
            .append("\n");
}

void metrics::render_work(std::string& out) const
{
    head(out,
         "chatd_integration_duration_seconds",
         "histogram",
         "Time from invoking an integration to its result, every route.");
    integration_seconds.render(out, "chatd_integration_duration_seconds", "");
    head(out, "chatd_integration_results_total", "counter", "Integration results by outcome.");
    integration_outcomes.render(out, "chatd_integration_results_total", "outcome");
    head(out,
         "chatd_management_requests_total",
         "counter",
         "@connections API requests, by method and status.");
    management_calls.render(out, "chatd_management_requests_total", "call");
    head(out,
         "chatd_sqlite_commit_seconds",
         "histogram",
         "One storage transaction (group commit), from BEGIN to the end of COMMIT.");
    sqlite_commit_seconds.render(out, "chatd_sqlite_commit_seconds", "");
    head(out, "chatd_sqlite_batch_events", "histogram", "Events written per storage transaction.");
    sqlite_batch_events.render(out, "chatd_sqlite_batch_events", "");
}

void metrics::render_process(std::string& out) const
{
    head(out,
         "chatd_dropped_total",
         "counter",
         "Work refused because a bounded queue was full, by queue.");
    drops.render(out, "chatd_dropped_total", "queue");
    single(out,
           "chatd_log_lines_dropped_total",
           "counter",
           "Log lines dropped (log queue full).",
           log_lines_dropped.load());
    single(out,
           "chatd_heap_returned_bytes_total",
           "counter",
           "Freed heap memory given back to the system after bursts (bytes of RSS).",
           heap_returned_bytes.load());
    head(out,
         "chatd_accept_errors_total",
         "counter",
         "Connections the listener could not accept, by error (\"Too many open files\": the "
         "open-file limit is reached and new clients wait in the listen backlog).");
    accept_errors.render(out, "chatd_accept_errors_total", "error");
    rlimit files{};
    if (getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur != RLIM_INFINITY)
        single(out,
               "process_max_fds",
               "gauge",
               "The open-file limit: at most this many descriptors.",
               files.rlim_cur);
}

std::string metrics::render() const
{
    std::string out;
    render_connections(out);
    render_work(out);
    render_process(out);
    return out;
}

} // namespace chatd::server
