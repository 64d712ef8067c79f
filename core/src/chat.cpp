#include <chatd/core/chat.hpp>

#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/stream_parser.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <cmath>
#include <limits>

#include "chat_frames.hpp"
#include "validate.hpp"

namespace chatd::core {
namespace {

namespace json = boost::json;

/// A request the app refuses: becomes one `error` frame to the caller. Thrown only before a
/// handler changes anything, so an error never changes stored state.
struct request_error
{
    std::string code;
    std::string message;
};

[[noreturn]] void bad_request(std::string message)
{
    throw request_error{"BadRequest", std::move(message)};
}

/// Why a frame is not a request, in words that point at the mistake: where the JSON breaks,
/// or what kind of value it is instead of an object. Only on the error path: the frame is
/// parsed a second time to find the offset.
std::string not_a_request(std::string_view text, json::value const* parsed)
{
    constexpr char const* example = R"({"action":"listRooms"})";
    if (text.empty())
        return std::string("the frame is empty; a request is a JSON object such as ") + example;
    if (parsed) {
        char const* kind = parsed->is_array()    ? "an array"
                           : parsed->is_string() ? "a string"
                           : parsed->is_bool()   ? "a boolean"
                           : parsed->is_null()   ? "null"
                                                 : "a number";
        return std::string("the frame is JSON but ") + kind +
               ", not an object; a request is an object such as " + example;
    }
    json::stream_parser p;
    boost::system::error_code ec;
    auto at = p.write_some(text.data(), text.size(), ec);
    std::string why;
    if (ec == json::error::too_deep)
        why = "nested too deep";
    else if (ec)
        why = ec.message() + " at byte " + std::to_string(at);
    else if (at < text.size())
        why = "more text after the JSON value, at byte " + std::to_string(at);
    else
        why = "it ends before the JSON value does (byte " + std::to_string(text.size()) + ")";
    return "the frame is not valid JSON: " + why;
}

/// One decoded client frame, handed to the action's handler.
struct request
{
    event const& ev;
    json::object const& body;
    std::optional<std::string> const& ref;
    store& db;
    outcome& out;

    std::string const& caller() const { return ev.context.connection_id; }
};

std::optional<std::string> optional_string(json::object const& o, std::string_view field)
{
    auto const* v = o.if_contains(field);
    if (!v)
        return std::nullopt;
    if (!v->is_string())
        bad_request("field '" + std::string(field) + "' must be a string");
    return std::string(v->get_string());
}

std::string required_string(json::object const& o, std::string_view field)
{
    auto s = optional_string(o, field);
    if (!s)
        bad_request("missing required field '" + std::string(field) + "'");
    return *s;
}

std::string room_id_field(json::object const& o)
{
    auto id = required_string(o, "roomId");
    if (!is_valid_room_id(id))
        bad_request("field 'roomId' must be 1-64 characters of A-Z a-z 0-9 _ . -");
    return id;
}

/// An optional whole-number field in [lo, hi].
std::optional<std::int64_t>
optional_integer(json::object const& o, std::string_view field, std::int64_t lo, std::int64_t hi)
{
    auto const* v = o.if_contains(field);
    if (!v)
        return std::nullopt;
    std::optional<std::int64_t> n;
    if (v->is_int64())
        n = v->get_int64();
    else if (v->is_uint64() && v->get_uint64() <= std::uint64_t(hi))
        n = static_cast<std::int64_t>(v->get_uint64());
    else if (v->is_double() && std::trunc(v->get_double()) == v->get_double() &&
             std::abs(v->get_double()) < 9e15)
        n = static_cast<std::int64_t>(v->get_double());
    if (!n || *n < lo || *n > hi)
        bad_request("field '" + std::string(field) + "' must be an integer from " +
                    std::to_string(lo) + " to " + std::to_string(hi));
    return n;
}

/// The text a message-carrying request sends: validated against the app's size limit.
std::string message_text(std::string text, std::size_t max_bytes)
{
    if (text.empty())
        bad_request("field 'message' must not be empty");
    if (text.size() > max_bytes)
        throw request_error{"MessageTooLarge",
                            "message is " + std::to_string(text.size()) + " bytes; the limit is " +
                                std::to_string(max_bytes) + " bytes"};
    return text;
}

std::string guest_name(std::string_view connection_id)
{
    return "guest-" + std::string(connection_id.substr(0, 6));
}

member caller_member(request const& r)
{
    auto rec = r.db.get_connection(r.caller());
    return member{r.caller(), rec ? rec->name : guest_name(r.caller())};
}

std::vector<std::string> others(std::vector<member> const& members, std::string_view self)
{
    std::vector<std::string> ids;
    ids.reserve(members.size());
    for (auto const& m : members)
        if (m.connection_id != self)
            ids.push_back(m.connection_id);
    return ids;
}

void require_room(request const& r, std::string const& room_id)
{
    if (!r.db.room_exists(room_id))
        throw request_error{"RoomNotFound", "room '" + room_id + "' does not exist"};
}

void require_member(request const& r, std::string const& room_id)
{
    require_room(r, room_id);
    if (!r.db.is_member(room_id, r.caller()))
        throw request_error{"NotInRoom", "you are not a member of room '" + room_id + "'"};
}

} // namespace

chat_app::chat_app(chat_options options, clock const& clk, id_source& ids)
    : options_(options)
    , clock_(clk)
    , ids_(ids)
{}

namespace {

std::string known_actions()
{
    std::string list;
    for (auto const& k : chat_app::route_keys()) {
        if (k.front() == '$')
            continue;
        list += list.empty() ? "" : ", ";
        list += k;
    }
    return list;
}

/// $connect: store the connection. An invalid ?name= refuses the handshake with 400.
outcome on_connect(event const& ev, store& db)
{
    outcome out;
    auto name = ev.query_value("name");
    if (name && !is_valid_name(*name)) {
        out.status_code = 400;
        out.body = "name must be 1-32 characters of UTF-8 without control characters";
        return out;
    }
    auto const& c = ev.context;
    db.put_connection(connection_record{c.connection_id,
                                        name ? *name : guest_name(c.connection_id),
                                        c.connected_at,
                                        c.identity.source_ip,
                                        c.identity.user_agent.value_or("")});
    return out;
}

/// $disconnect: forget the connection; every room it was in hears memberLeft.
outcome on_disconnect(event const& ev, store& db)
{
    outcome out;
    auto const& id = ev.context.connection_id;
    auto rec = db.get_connection(id);
    member gone{id, rec ? rec->name : guest_name(id)};
    for (auto const& room : db.remove_connection(id))
        out.post(others(db.members(room), id), frames::member_left(room, gone));
    return out;
}

/// sendmessage (the AWS tutorial): the text goes, unchanged, to every connected client.
void on_broadcast(request const& r, chat_options const& opt)
{
    auto text = optional_string(r.body, "message");
    if (!text)
        text = optional_string(r.body, "data");
    if (!text)
        bad_request("missing required field 'message' (or 'data')");
    auto payload = message_text(std::move(*text), opt.max_text_bytes);
    if (auto ids = r.db.connection_ids(); !ids->empty())
        r.out.post(std::move(ids), std::move(payload));
}

void on_create_room(request const& r, id_source& ids, epoch_ms now)
{
    std::string room_id;
    if (r.body.contains("roomId")) {
        room_id = room_id_field(r.body);
        if (!r.db.create_room(room_id, now))
            throw request_error{"RoomExists", "room '" + room_id + "' already exists"};
    } else {
        do {
            room_id = "room-" + ids.next_id().substr(0, 10);
        } while (!r.db.create_room(room_id, now));
    }
    r.out.post({r.caller()}, frames::room_created(room_id, r.ref));
}

void on_join_room(request const& r, chat_options const& opt, epoch_ms now)
{
    auto room_id = room_id_field(r.body);
    require_room(r, room_id);
    auto self = caller_member(r);
    bool is_new = r.db.add_member(room_id, r.caller(), now);
    auto members = r.db.members(room_id);
    auto recent = r.db.messages_before(room_id, std::nullopt, opt.recent_on_join);
    r.out.post({r.caller()}, frames::joined(room_id, members, recent, r.ref));
    if (is_new)
        r.out.post(others(members, r.caller()), frames::member_joined(room_id, self));
}

void on_send_message(request const& r, chat_options const& opt, epoch_ms now)
{
    auto room_id = room_id_field(r.body);
    auto text = message_text(required_string(r.body, "message"), opt.max_text_bytes);
    require_member(r, room_id);
    auto self = caller_member(r);
    auto stored = r.db.append_message(room_id, r.caller(), self.name, text, now);
    auto recipients = r.db.member_ids(room_id);
    if (!r.ref) {
        r.out.post(std::move(recipients), frames::message(stored, std::nullopt));
        return;
    }
    // The sender's copy carries its ref: the acknowledgement that the message is stored.
    r.out.post({r.caller()}, frames::message(stored, r.ref));
    if (recipients->size() > 1)
        r.out.post(std::move(recipients), frames::message(stored, std::nullopt), r.caller());
}

void on_leave_room(request const& r)
{
    auto room_id = room_id_field(r.body);
    require_member(r, room_id);
    auto self = caller_member(r);
    r.db.remove_member(room_id, r.caller());
    r.out.post({r.caller()}, frames::left(room_id, r.ref));
    r.out.post(others(r.db.members(room_id), r.caller()), frames::member_left(room_id, self));
}

void on_list_rooms(request const& r)
{
    r.out.post({r.caller()}, frames::rooms(r.db.list_rooms(), r.ref));
}

void on_get_messages(request const& r, chat_options const& opt)
{
    auto room_id = room_id_field(r.body);
    auto before =
        optional_integer(r.body, "before", 1, std::numeric_limits<std::int64_t>::max() / 2);
    auto limit = optional_integer(r.body, "limit", 1, std::int64_t(opt.max_page))
                     .value_or(std::int64_t(opt.default_page));
    require_member(r, room_id);
    auto page = r.db.messages_before(room_id, before, std::size_t(limit) + 1);
    bool has_more = page.size() > std::size_t(limit);
    if (has_more)
        page.erase(page.begin());
    r.out.post({r.caller()}, frames::messages(room_id, page, has_more, r.ref));
}

/// $default: explain what was wrong with a frame no action claimed.
void on_default(request const& r)
{
    auto const* action = r.body.if_contains("action");
    if (!action)
        throw request_error{"UnknownAction", "missing 'action'; known actions: " + known_actions()};
    if (!action->is_string())
        bad_request("field 'action' must be a string");
    throw request_error{"UnknownAction",
                        "unknown action '" + std::string(action->get_string()) +
                            "'; known actions: " + known_actions()};
}

/// What a chat action's handler may use besides its request.
struct action_env
{
    chat_options const& options;
    id_source& ids;
    epoch_ms now;
};

/// The chat actions: the one list both route_keys() and handle() read.
struct chat_action
{
    std::string_view key;
    void (*run)(request const&, action_env const&);
};

constexpr chat_action actions[] = {
    {"sendmessage",
     [](request const& r, action_env const& e) {
         on_broadcast(r, e.options);
     }},
    {"createRoom",
     [](request const& r, action_env const& e) {
         on_create_room(r, e.ids, e.now);
     }},
    {"joinRoom",
     [](request const& r, action_env const& e) {
         on_join_room(r, e.options, e.now);
     }},
    {"sendMessage",
     [](request const& r, action_env const& e) {
         on_send_message(r, e.options, e.now);
     }},
    {"leaveRoom",
     [](request const& r, action_env const&) {
         on_leave_room(r);
     }},
    {"listRooms",
     [](request const& r, action_env const&) {
         on_list_rooms(r);
     }},
    {"getMessages",
     [](request const& r, action_env const& e) {
         on_get_messages(r, e.options);
     }},
};

} // namespace

std::vector<std::string> const& chat_app::route_keys()
{
    static std::vector<std::string> const keys = [] {
        std::vector<std::string> k = {"$connect", "$disconnect", "$default"};
        for (auto const& a : actions)
            k.emplace_back(a.key);
        return k;
    }();
    return keys;
}

outcome chat_app::handle(event const& ev, store& db) const
{
    auto const& route = ev.context.route_key;
    if (ev.context.kind == event_kind::connect)
        return on_connect(ev, db);
    if (ev.context.kind == event_kind::disconnect)
        return on_disconnect(ev, db);

    outcome out;
    std::optional<std::string> ref;
    std::optional<std::string> action_name;
    auto reply_error = [&](std::string const& code, std::string const& text) {
        out.actions.clear();
        out.post({ev.context.connection_id}, frames::error(code, text, action_name, ref));
    };

    // A frame of ordinary size parses into this buffer: no heap allocation per value.
    unsigned char scratch[4096];
    json::monotonic_resource arena(scratch, sizeof scratch);
    boost::system::error_code ec;
    auto const text = ev.body ? std::string_view(*ev.body) : std::string_view();
    auto parsed = json::parse(text, ec, &arena);
    if (ec || !parsed.is_object()) {
        reply_error("BadRequest", not_a_request(text, ec ? nullptr : &parsed));
        return out;
    }
    auto const& body = parsed.get_object();
    if (auto const* a = body.if_contains("action"); a && a->is_string())
        action_name = std::string(a->get_string());

    try {
        if (auto const* rv = body.if_contains("ref")) {
            if (!rv->is_string() || code_points(rv->get_string()) > 64)
                bad_request("field 'ref' must be a string of at most 64 characters");
            ref = std::string(rv->get_string());
        }
        request r{ev, body, ref, db, out};
        auto const* found = std::find_if(std::begin(actions),
                                         std::end(actions),
                                         [&](chat_action const& a) { return a.key == route; });
        if (found == std::end(actions))
            on_default(r);
        else
            found->run(r, action_env{options_, ids_, clock_.now()});
    } catch (request_error const& e) {
        reply_error(e.code, e.message);
    }
    return out;
}

} // namespace chatd::core
