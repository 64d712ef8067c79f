#include <chatd/core/clock.hpp>

#include <array>
#include <chrono>
#include <cstdio>
#include <ctime>

namespace chatd::core {
namespace {

std::tm utc_parts(epoch_ms t, int& millis)
{
    auto secs = t / 1000;
    millis = static_cast<int>(t % 1000);
    if (millis < 0) {
        millis += 1000;
        --secs;
    }
    std::time_t tt = static_cast<std::time_t>(secs);
    std::tm parts{};
    gmtime_r(&tt, &parts);
    return parts;
}

} // namespace

epoch_ms system_clock::now() const
{
    using namespace std::chrono;
    return duration_cast<milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string format_request_time(epoch_ms t)
{
    static constexpr std::array<char const*, 12> months = {
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    int millis = 0;
    auto p = utc_parts(t, millis);
    char buf[64];
    std::snprintf(buf,
                  sizeof buf,
                  "%02d/%s/%04d:%02d:%02d:%02d +0000",
                  p.tm_mday,
                  months[static_cast<std::size_t>(p.tm_mon)],
                  p.tm_year + 1900,
                  p.tm_hour,
                  p.tm_min,
                  p.tm_sec);
    return buf;
}

std::string format_iso8601(epoch_ms t)
{
    int millis = 0;
    auto p = utc_parts(t, millis);
    char buf[64];
    std::snprintf(buf,
                  sizeof buf,
                  "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
                  p.tm_year + 1900,
                  p.tm_mon + 1,
                  p.tm_mday,
                  p.tm_hour,
                  p.tm_min,
                  p.tm_sec,
                  millis);
    return buf;
}

} // namespace chatd::core
