#include "chat_frames.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include "json_text.hpp"

namespace chatd::core::frames {
namespace {

namespace json = boost::json;

json::object typed(std::string_view type)
{
    json::object o;
    o["type"] = type;
    return o;
}

std::string finish(json::object& o, opt_ref ref)
{
    if (ref)
        o["ref"] = *ref;
    return json::serialize(o);
}

json::object member_json(member const& m)
{
    json::object o;
    o["connectionId"] = m.connection_id;
    o["name"] = m.name;
    return o;
}

json::object message_json(message_record const& m)
{
    json::object o;
    o["type"] = "message";
    o["roomId"] = m.room_id;
    o["seq"] = m.seq;
    o["connectionId"] = m.connection_id;
    o["name"] = m.name;
    o["message"] = m.text;
    o["sentAt"] = format_iso8601(m.sent_at);
    return o;
}

/// memberJoined / memberLeft: who, in which room.
std::string member_event(std::string_view type, std::string_view room_id, member const& m)
{
    auto o = typed(type);
    o["roomId"] = room_id;
    o["connectionId"] = m.connection_id;
    o["name"] = m.name;
    return json::serialize(o);
}

json::array message_list(std::vector<message_record> const& list)
{
    json::array a;
    a.reserve(list.size());
    for (auto const& m : list)
        a.emplace_back(message_json(m));
    return a;
}

} // namespace

std::string room_created(std::string_view room_id, opt_ref ref)
{
    auto o = typed("roomCreated");
    o["roomId"] = room_id;
    return finish(o, ref);
}

std::string joined(std::string_view room_id,
                   std::vector<member> const& members,
                   std::vector<message_record> const& recent,
                   opt_ref ref)
{
    auto o = typed("joined");
    o["roomId"] = room_id;
    json::array list;
    for (auto const& m : members)
        list.emplace_back(member_json(m));
    o["members"] = std::move(list);
    o["recent"] = message_list(recent);
    return finish(o, ref);
}

std::string member_joined(std::string_view room_id, member const& m)
{
    return member_event("memberJoined", room_id, m);
}

std::string message(message_record const& m, opt_ref ref)
{
    // The frame sent for every message: written directly, in message_json's key order.
    using namespace json_text;
    std::string out;
    out.reserve(128 + m.room_id.size() + m.connection_id.size() + m.name.size() + m.text.size() +
                (ref ? ref->size() : 0));
    out.append("{\"type\":\"message\"");
    append_field(out, "roomId", m.room_id);
    out.append(",\"seq\":");
    append_integer(out, m.seq);
    append_field(out, "connectionId", m.connection_id);
    append_field(out, "name", m.name);
    append_field(out, "message", m.text);
    out.append(",\"sentAt\":\"");
    append_iso8601(out, m.sent_at); // digits and punctuation only
    out.push_back('"');
    if (ref)
        append_field(out, "ref", *ref);
    out.push_back('}');
    return out;
}

std::string left(std::string_view room_id, opt_ref ref)
{
    auto o = typed("left");
    o["roomId"] = room_id;
    return finish(o, ref);
}

std::string member_left(std::string_view room_id, member const& m)
{
    return member_event("memberLeft", room_id, m);
}

std::string rooms(std::vector<room_summary> const& list, opt_ref ref)
{
    auto o = typed("rooms");
    json::array a;
    a.reserve(list.size());
    for (auto const& r : list) {
        json::object e;
        e["roomId"] = r.room_id;
        e["members"] = r.members;
        e["createdAt"] = format_iso8601(r.created_at);
        a.emplace_back(std::move(e));
    }
    o["rooms"] = std::move(a);
    return finish(o, ref);
}

std::string messages(std::string_view room_id,
                     std::vector<message_record> const& page,
                     bool has_more,
                     opt_ref ref)
{
    auto o = typed("messages");
    o["roomId"] = room_id;
    o["messages"] = message_list(page);
    o["hasMore"] = has_more;
    return finish(o, ref);
}

std::string error(std::string_view code,
                  std::string_view text,
                  std::optional<std::string> const& action,
                  opt_ref ref)
{
    auto o = typed("error");
    o["code"] = code;
    o["message"] = text;
    if (action)
        o["action"] = *action;
    return finish(o, ref);
}

} // namespace chatd::core::frames
