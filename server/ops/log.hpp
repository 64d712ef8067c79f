#pragma once

#include <atomic>
#include <cstdint>
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

enum class format
{
    text, ///< "<ISO time> <LEVEL> <text>" / "<ISO time> INFO <EVENT> key=value ..."
    json  ///< one JSON object per line
};

/// Messages below this level are dropped. Set once at start-up, before threads exist.
void set_level(level l);
bool enabled(level l);

/// Set once at start-up, before threads exist.
void set_format(format f);

/// From now on lines are queued (bounded) and written to stderr by a thread of their own, so
/// a slow terminal or pipe never stalls the I/O thread. Dropped lines are counted in
/// `*dropped` when given. Before start() and after stop(), lines are written directly.
void start(std::atomic<std::uint64_t>* dropped = nullptr);

/// Write what is queued and stop the writer thread.
void stop();

/// Write one line. Safe from any thread.
void write(level l, std::string_view text);

/// One API event (CONNECT, MESSAGE, DISCONNECT) with its outcome, as one structured line.
struct event_fields
{
    std::string_view event;         ///< CONNECT, MESSAGE, DISCONNECT
    std::string_view connection_id; ///< may be empty for a refused handshake
    std::string_view route;         ///< the route key ("" when none matched)
    std::string_view outcome;       ///< ok, refused, function_error, timeout, no_route, ...
    double latency_ms = -1;         ///< integration time; < 0: not measured
    int code = -1;                  ///< HTTP status ($connect) or close code (DISCONNECT)
    std::string_view detail;        ///< free text (an error message), may be empty
};

void event(level l, event_fields const& f);

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
