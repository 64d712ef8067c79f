#include "log.hpp"

#include <chatd/core/clock.hpp>

#include <cstdio>
#include <mutex>
#include <string>

namespace chatd::server::log {
namespace {

level threshold = level::info;
std::mutex write_mutex;

char const* name(level l)
{
    switch (l) {
    case level::debug:
        return "DEBUG";
    case level::info:
        return "INFO";
    case level::warn:
        return "WARN";
    case level::error:
        return "ERROR";
    }
    return "INFO";
}

} // namespace

void set_level(level l)
{
    threshold = l;
}

void write(level l, std::string_view text)
{
    if (l < threshold)
        return;
    auto line = core::format_iso8601(core::system_clock{}.now()) + " " + name(l) + " " +
                std::string(text) + "\n";
    std::lock_guard lock(write_mutex);
    std::fwrite(line.data(), 1, line.size(), stderr);
}

} // namespace chatd::server::log
