#pragma once

#include <cstdint>
#include <string>

namespace chatd::core {

/// Milliseconds since the Unix epoch, UTC.
using epoch_ms = std::int64_t;

/// Where handlers and event builders read the time. Tests inject a fixed clock.
class clock
{
public:
    virtual ~clock() = default;

    /// The current time. Must be safe to call from any thread.
    virtual epoch_ms now() const = 0;
};

/// The wall clock (std::chrono::system_clock).
class system_clock final : public clock
{
public:
    epoch_ms now() const override;
};

/// API Gateway's requestTime: "20/Jan/2024:11:55:00 +0000" (CLF, always UTC, English month).
std::string format_request_time(epoch_ms t);

/// ISO-8601 UTC with milliseconds: "2026-11-21T10:00:00.123Z".
std::string format_iso8601(epoch_ms t);

/// format_iso8601(t), appended to `out`.
void append_iso8601(std::string& out, epoch_ms t);

} // namespace chatd::core
