#pragma once

#include <chatd/core/clock.hpp>
#include <chatd/core/event.hpp>
#include <chatd/core/ids.hpp>
#include <chatd/core/outcome.hpp>
#include <chatd/core/store.hpp>

#include <cstddef>
#include <string>
#include <vector>

namespace chatd::core {

/// Limits of the built-in chat app, each with the reason for its default.
struct chat_options
{
    /// Largest `message` in bytes of UTF-8: long enough for any chat line, small enough that
    /// a frame with metadata stays well under API Gateway's 32 KB frame limit.
    std::size_t max_text_bytes = 8192;

    /// Messages sent with `joined`: enough to fill a screen; older ones come via getMessages.
    std::size_t recent_on_join = 20;

    /// getMessages page size when `limit` is absent, and the largest one allowed.
    std::size_t default_page = 50;
    std::size_t max_page = 100;
};

/// The built-in chat app, written the way a Lambda function behind API Gateway is: it sees one
/// event and a store, and answers with an outcome whose management API posts carry every frame
/// it sends. It holds no state of its own between calls.
class chat_app
{
public:
    chat_app(chat_options options, clock const& clk, id_source& ids);

    /// The route keys the app serves ($connect, $disconnect, $default and its actions).
    static std::vector<std::string> const& route_keys();

    /// Handle one event. Validation failures become `error` frames to the caller; a
    /// store_error propagates (the gateway turns it into "Internal server error").
    /// Call on the storage thread: it uses `db` synchronously.
    outcome handle(event const& ev, store& db) const;

    chat_options const& options() const { return options_; }

private:
    chat_options options_;
    clock const& clock_;
    id_source& ids_;
};

} // namespace chatd::core
