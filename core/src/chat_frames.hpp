#pragma once

#include <chatd/core/store.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

// Builders for the JSON frames the chat app sends. Key order follows docs/protocol.md, so a
// frame reads the same in every client log.
namespace chatd::core::frames {

using opt_ref = std::optional<std::string> const&;

std::string room_created(std::string_view room_id, opt_ref ref);
std::string joined(std::string_view room_id,
                   std::vector<member> const& members,
                   std::vector<message_record> const& recent,
                   opt_ref ref);
std::string member_joined(std::string_view room_id, member const& m);
std::string message(message_record const& m, opt_ref ref);
std::string left(std::string_view room_id, opt_ref ref);
std::string member_left(std::string_view room_id, member const& m);
std::string rooms(std::vector<room_summary> const& rooms, opt_ref ref);
std::string messages(std::string_view room_id,
                     std::vector<message_record> const& page,
                     bool has_more,
                     opt_ref ref);
std::string error(std::string_view code,
                  std::string_view text,
                  std::optional<std::string> const& action,
                  opt_ref ref);

} // namespace chatd::core::frames
