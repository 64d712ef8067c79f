#pragma once

#include <string_view>

namespace chatd::server::log {

enum class level
{
    debug,
    info,
    warn,
    error
};

/// Messages below this level are dropped. Set once at start-up, before threads exist.
void set_level(level l);

/// Write one line to stderr: "<ISO time> <LEVEL> <text>". Safe from any thread.
void write(level l, std::string_view text);

inline void info(std::string_view t)
{
    write(level::info, t);
}

inline void warn(std::string_view t)
{
    write(level::warn, t);
}

inline void error(std::string_view t)
{
    write(level::error, t);
}

inline void debug(std::string_view t)
{
    write(level::debug, t);
}

} // namespace chatd::server::log
