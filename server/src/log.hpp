#pragma once

#include <exception>
#include <string>
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

/// A completion for co_spawn: a coroutine that ended by throwing is logged as "what: why",
/// never lost silently.
inline auto if_thrown(char const* what)
{
    return [what](std::exception_ptr e) {
        if (!e)
            return;
        try {
            std::rethrow_exception(e);
        } catch (std::exception const& ex) {
            error(std::string(what) + ": " + ex.what());
        }
    };
}

} // namespace chatd::server::log
