#include <chatd/storage/dynamodb_store.hpp>

#include <boost/json/serialize.hpp>

#include <algorithm>
#include <cstdlib>
#include <functional>
#include <random>

namespace chatd::storage {
namespace {

namespace json = boost::json;

json::object S(std::string_view s)
{
    return {{"S", s}};
}

json::object N(std::int64_t n)
{
    return {{"N", std::to_string(n)}};
}

std::string str(json::object const& item, std::string_view name)
{
    auto const* v = item.if_contains(name);
    if (!v || !v->is_object())
        return {};
    auto const* s = v->get_object().if_contains("S");
    return s && s->is_string() ? std::string(s->get_string()) : std::string();
}

std::int64_t num(json::object const& item, std::string_view name)
{
    auto const* v = item.if_contains(name);
    if (!v || !v->is_object())
        return 0;
    auto const* n = v->get_object().if_contains("N");
    return n && n->is_string() ? std::strtoll(n->get_string().c_str(), nullptr, 10) : 0;
}

std::int64_t now_seconds()
{
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

bool expired(json::object const& item)
{
    auto at = num(item, "expiresAt");
    return at != 0 && at <= now_seconds();
}

/// The filter that hides expired items (DynamoDB deletes them some time after expiry).
void not_expired(json::object& req)
{
    req["FilterExpression"] = "attribute_not_exists(expiresAt) OR expiresAt > :now";
    auto& values = req["ExpressionAttributeValues"];
    if (!values.is_object())
        values = json::object();
    values.as_object()[":now"] = N(now_seconds());
}

bool is_condition_failure(aws::dynamodb_error const& e)
{
    return e.type == "ConditionalCheckFailedException";
}

std::string random_write_id()
{
    static thread_local std::mt19937_64 rng{std::random_device{}()};
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(rng()));
    return buf;
}

std::string required_env(char const* name)
{
    char const* v = std::getenv(name);
    if (!v || !*v)
        throw std::invalid_argument(std::string("environment variable ") + name +
                                    " (a DynamoDB table name) is not set");
    return v;
}

json::object key_schema(std::string_view hash, std::string_view range = {})
{
    json::array keys = {json::object{{"AttributeName", hash}, {"KeyType", "HASH"}}};
    if (!range.empty())
        keys.push_back(json::object{{"AttributeName", range}, {"KeyType", "RANGE"}});
    return {{"KeySchema", keys}};
}

} // namespace

dynamodb_tables dynamodb_tables::from_environment()
{
    return dynamodb_tables{required_env("CONNECTIONS_TABLE"),
                           required_env("ROOMS_TABLE"),
                           required_env("MEMBERS_TABLE"),
                           required_env("MESSAGES_TABLE")};
}

json::array dynamodb_tables::create_table_inputs() const
{
    auto table = [](std::string const& name,
                    json::array attributes,
                    std::string_view hash,
                    std::string_view range) {
        json::object t = key_schema(hash, range);
        t["TableName"] = name;
        t["AttributeDefinitions"] = std::move(attributes);
        t["BillingMode"] = "PAY_PER_REQUEST";
        return t;
    };
    auto attr = [](std::string_view name, std::string_view type) {
        return json::object{{"AttributeName", name}, {"AttributeType", type}};
    };
    return {
        table(connections, {attr("connectionId", "S")}, "connectionId", {}),
        table(rooms, {attr("roomId", "S")}, "roomId", {}),
        table(members, {attr("roomId", "S"), attr("connectionId", "S")}, "roomId", "connectionId"),
        table(messages, {attr("roomId", "S"), attr("seq", "N")}, "roomId", "seq"),
    };
}

dynamodb_store::dynamodb_store(aws::dynamodb_client& client, options opts)
    : db_(client)
    , opts_(std::move(opts))
{}

json::object dynamodb_store::call(std::string_view op, json::object const& body)
{
    // Anything the database refuses or cannot be reached for is the store failing: to the
    // chat app, a function error. Condition failures are caught by the callers that expect
    // them, before they get here.
    try {
        return db_.call(op, body);
    } catch (aws::dynamodb_error const& e) {
        if (is_condition_failure(e))
            throw;
        throw core::store_error("DynamoDB " + std::string(op) + ": " + e.what());
    } catch (boost::system::system_error const& e) {
        throw core::store_error("DynamoDB " + std::string(op) + ": " + e.what());
    }
}

void dynamodb_store::each_page(std::string_view op,
                               json::object req,
                               std::function<bool(json::object&)> const& page)
{
    for (;;) {
        auto res = call(op, req);
        if (!page(res))
            return;
        auto const* last = res.if_contains("LastEvaluatedKey");
        if (!last)
            return;
        req["ExclusiveStartKey"] = *last;
    }
}

void dynamodb_store::put_connection(core::connection_record const& c)
{
    json::object item = {{"connectionId", S(c.connection_id)},
                         {"name", S(c.name)},
                         {"connectedAt", N(c.connected_at)},
                         {"sourceIp", S(c.source_ip)},
                         {"expiresAt", N(now_seconds() + opts_.connection_lifetime.count())}};
    if (!c.user_agent.empty())
        item["userAgent"] = S(c.user_agent);
    call("PutItem", {{"TableName", opts_.tables.connections}, {"Item", item}});
}

std::optional<core::connection_record> dynamodb_store::get_connection(std::string_view id)
{
    auto res = call("GetItem",
                    {{"TableName", opts_.tables.connections},
                     {"Key", {{"connectionId", S(id)}}},
                     {"ConsistentRead", true}});
    auto const* item = res.if_contains("Item");
    if (!item || !item->is_object() || expired(item->get_object()))
        return std::nullopt;
    auto const& o = item->get_object();
    return core::connection_record{str(o, "connectionId"),
                                   str(o, "name"),
                                   num(o, "connectedAt"),
                                   str(o, "sourceIp"),
                                   str(o, "userAgent")};
}

std::vector<std::string> dynamodb_store::remove_connection(std::string_view id)
{
    auto res = call("DeleteItem",
                    {{"TableName", opts_.tables.connections},
                     {"Key", {{"connectionId", S(id)}}},
                     {"ReturnValues", "ALL_OLD"}});
    std::vector<std::string> rooms;
    auto const* old = res.if_contains("Attributes");
    if (!old || !old->is_object())
        return rooms;
    auto const* set = old->get_object().if_contains("rooms");
    if (!set || !set->is_object() || !set->get_object().contains("SS"))
        return rooms;
    for (auto const& r : set->get_object().at("SS").as_array()) {
        std::string room(r.as_string());
        auto gone = call("DeleteItem",
                         {{"TableName", opts_.tables.members},
                          {"Key", {{"roomId", S(room)}, {"connectionId", S(id)}}},
                          {"ReturnValues", "ALL_OLD"}});
        if (gone.contains("Attributes"))
            rooms.push_back(std::move(room));
    }
    std::sort(rooms.begin(), rooms.end());
    return rooms;
}

core::id_list dynamodb_store::connection_ids()
{
    std::vector<std::string> ids;
    json::object req = {{"TableName", opts_.tables.connections},
                        {"ProjectionExpression", "connectionId"},
                        {"ConsistentRead", true}};
    not_expired(req);
    each_page("Scan", std::move(req), [&](json::object& res) {
        for (auto const& item : res["Items"].as_array())
            ids.push_back(str(item.as_object(), "connectionId"));
        return true;
    });
    return std::make_shared<std::vector<std::string> const>(std::move(ids));
}

bool dynamodb_store::create_room(std::string_view room_id, core::epoch_ms created_at)
{
    try {
        call("PutItem",
             {{"TableName", opts_.tables.rooms},
              {"Item", {{"roomId", S(room_id)}, {"createdAt", N(created_at)}, {"joins", N(0)}}},
              {"ConditionExpression", "attribute_not_exists(roomId)"}});
        return true;
    } catch (aws::dynamodb_error const&) {
        return false; // only a condition failure reaches here
    }
}

bool dynamodb_store::room_exists(std::string_view room_id)
{
    auto res = call("GetItem",
                    {{"TableName", opts_.tables.rooms},
                     {"Key", {{"roomId", S(room_id)}}},
                     {"ProjectionExpression", "roomId"},
                     {"ConsistentRead", true}});
    return res.contains("Item");
}

std::vector<core::room_summary> dynamodb_store::list_rooms()
{
    std::vector<core::room_summary> out;
    each_page("Scan",
              {{"TableName", opts_.tables.rooms}, {"ConsistentRead", true}},
              [&](json::object& res) {
                  for (auto const& item : res["Items"].as_array())
                      out.push_back(core::room_summary{
                          str(item.as_object(), "roomId"), 0, num(item.as_object(), "createdAt")});
                  return true;
              });
    for (auto& room : out) {
        json::object q = {{"TableName", opts_.tables.members},
                          {"KeyConditionExpression", "roomId = :r"},
                          {"ExpressionAttributeValues", {{":r", S(room.room_id)}}},
                          {"Select", "COUNT"},
                          {"ConsistentRead", true}};
        not_expired(q);
        each_page("Query", std::move(q), [&](json::object& res) {
            room.members += res["Count"].to_number<std::int64_t>();
            return true;
        });
    }
    std::sort(out.begin(), out.end(), [](auto const& a, auto const& b) {
        return std::tie(a.created_at, a.room_id) < std::tie(b.created_at, b.room_id);
    });
    return out;
}

bool dynamodb_store::add_member(std::string_view room_id,
                                std::string_view connection_id,
                                core::epoch_ms at)
{
    // The join's place in the room's order: the room's counter, counted up.
    std::int64_t order = 0;
    try {
        auto res = call("UpdateItem",
                        {{"TableName", opts_.tables.rooms},
                         {"Key", {{"roomId", S(room_id)}}},
                         {"UpdateExpression", "ADD #joins :one"},
                         {"ConditionExpression", "attribute_exists(roomId)"},
                         {"ExpressionAttributeNames", {{"#joins", "joins"}}},
                         {"ExpressionAttributeValues", {{":one", N(1)}}},
                         {"ReturnValues", "UPDATED_NEW"}});
        order = num(res["Attributes"].as_object(), "joins");
    } catch (aws::dynamodb_error const&) {
        throw core::store_error("room '" + std::string(room_id) + "' does not exist");
    }
    // The connection lists the room first, so $disconnect finds the membership even if this
    // function dies before writing it.
    std::string name;
    auto expires = now_seconds() + opts_.connection_lifetime.count();
    try {
        auto res = call("UpdateItem",
                        {{"TableName", opts_.tables.connections},
                         {"Key", {{"connectionId", S(connection_id)}}},
                         {"UpdateExpression", "ADD rooms :r"},
                         {"ConditionExpression", "attribute_exists(connectionId)"},
                         {"ExpressionAttributeValues", {{":r", {{"SS", {room_id}}}}}},
                         {"ReturnValues", "ALL_NEW"}});
        auto const& c = res["Attributes"].as_object();
        name = str(c, "name");
        if (auto e = num(c, "expiresAt"))
            expires = e;
    } catch (aws::dynamodb_error const&) {
        // No stored connection: the membership is still recorded, as the SQLite store does.
    }
    json::object item = {{"roomId", S(room_id)},
                         {"connectionId", S(connection_id)},
                         {"name", S(name)},
                         {"joinOrder", N(order)},
                         {"joinedAt", N(at)},
                         {"expiresAt", N(expires)}};
    try {
        call("PutItem",
             {{"TableName", opts_.tables.members},
              {"Item", item},
              {"ConditionExpression", "attribute_not_exists(connectionId)"}});
        return true;
    } catch (aws::dynamodb_error const&) {
        return false;
    }
}

bool dynamodb_store::remove_member(std::string_view room_id, std::string_view connection_id)
{
    auto res = call("DeleteItem",
                    {{"TableName", opts_.tables.members},
                     {"Key", {{"roomId", S(room_id)}, {"connectionId", S(connection_id)}}},
                     {"ReturnValues", "ALL_OLD"}});
    try {
        call("UpdateItem",
             {{"TableName", opts_.tables.connections},
              {"Key", {{"connectionId", S(connection_id)}}},
              {"UpdateExpression", "DELETE rooms :r"},
              {"ConditionExpression", "attribute_exists(connectionId)"},
              {"ExpressionAttributeValues", {{":r", {{"SS", {room_id}}}}}}});
    } catch (aws::dynamodb_error const&) {
    }
    auto const* old = res.if_contains("Attributes");
    return old && !expired(old->as_object());
}

bool dynamodb_store::is_member(std::string_view room_id, std::string_view connection_id)
{
    auto res = call("GetItem",
                    {{"TableName", opts_.tables.members},
                     {"Key", {{"roomId", S(room_id)}, {"connectionId", S(connection_id)}}},
                     {"ConsistentRead", true}});
    auto const* item = res.if_contains("Item");
    return item && !expired(item->as_object());
}

std::vector<core::member> dynamodb_store::members(std::string_view room_id)
{
    std::vector<std::pair<std::int64_t, core::member>> found;
    json::object q = {{"TableName", opts_.tables.members},
                      {"KeyConditionExpression", "roomId = :r"},
                      {"ExpressionAttributeValues", {{":r", S(room_id)}}},
                      {"ConsistentRead", true}};
    not_expired(q);
    each_page("Query", std::move(q), [&](json::object& res) {
        for (auto const& v : res["Items"].as_array()) {
            auto const& item = v.as_object();
            found.emplace_back(num(item, "joinOrder"),
                               core::member{str(item, "connectionId"), str(item, "name")});
        }
        return true;
    });
    std::stable_sort(
        found.begin(), found.end(), [](auto const& a, auto const& b) { return a.first < b.first; });
    std::vector<core::member> out;
    out.reserve(found.size());
    for (auto& [order, m] : found)
        out.push_back(std::move(m));
    return out;
}

core::id_list dynamodb_store::member_ids(std::string_view room_id)
{
    std::vector<std::string> ids;
    for (auto& m : members(room_id))
        ids.push_back(std::move(m.connection_id));
    return std::make_shared<std::vector<std::string> const>(std::move(ids));
}

std::int64_t dynamodb_store::newest_seq(std::string_view room_id)
{
    auto res = call("Query",
                    {{"TableName", opts_.tables.messages},
                     {"KeyConditionExpression", "roomId = :r"},
                     {"ExpressionAttributeValues", {{":r", S(room_id)}}},
                     {"ProjectionExpression", "#seq"},
                     {"ExpressionAttributeNames", {{"#seq", "seq"}}},
                     {"ScanIndexForward", false},
                     {"Limit", 1},
                     {"ConsistentRead", true}});
    auto const& items = res["Items"].as_array();
    return items.empty() ? 0 : num(items.front().as_object(), "seq");
}

core::message_record dynamodb_store::append_message(std::string_view room_id,
                                                    std::string_view connection_id,
                                                    std::string_view name,
                                                    std::string_view text,
                                                    core::epoch_ms sent_at)
{
    std::string room(room_id);
    auto hint = last_seq_.find(room);
    std::int64_t seq = (hint != last_seq_.end() ? hint->second : newest_seq(room_id)) + 1;
    auto write_id = random_write_id();
    auto stored = [&](std::int64_t at) {
        last_seq_[room] = at;
        return core::message_record{std::string(room_id),
                                    at,
                                    std::string(connection_id),
                                    std::string(name),
                                    std::string(text),
                                    sent_at};
    };
    // Bounded: each lost race means another sender stored a message meanwhile.
    for (int attempt = 0; attempt < 200; ++attempt) {
        json::object item = {{"roomId", S(room_id)},
                             {"seq", N(seq)},
                             {"connectionId", S(connection_id)},
                             {"name", S(name)},
                             {"text", S(text)},
                             {"sentAt", N(sent_at)},
                             {"writeId", S(write_id)}};
        try {
            call("PutItem",
                 {{"TableName", opts_.tables.messages},
                  {"Item", item},
                  {"ConditionExpression", "attribute_not_exists(#seq)"},
                  {"ExpressionAttributeNames", {{"#seq", "seq"}}}});
            return stored(seq);
        } catch (aws::dynamodb_error const&) {
        }
        // Taken. If by this very write (a retried request whose first answer was lost), it
        // is stored; otherwise someone else got there first.
        auto got = call("GetItem",
                        {{"TableName", opts_.tables.messages},
                         {"Key", {{"roomId", S(room_id)}, {"seq", N(seq)}}},
                         {"ProjectionExpression", "writeId"},
                         {"ConsistentRead", true}});
        if (auto const* it = got.if_contains("Item");
            it && str(it->as_object(), "writeId") == write_id) {
            return stored(seq);
        }
        ++seq_retries_;
        seq = std::max(seq, newest_seq(room_id)) + 1;
    }
    throw core::store_error("room '" + room + "': no free seq after 200 attempts");
}

std::vector<core::message_record> dynamodb_store::messages_before(
    std::string_view room_id, std::optional<std::int64_t> before, std::size_t limit)
{
    std::vector<core::message_record> out;
    if (limit == 0)
        return out;
    json::object values = {{":r", S(room_id)}};
    std::string condition = "roomId = :r";
    if (before) {
        condition += " AND #seq < :b";
        values[":b"] = N(*before);
    }
    json::object q = {{"TableName", opts_.tables.messages},
                      {"KeyConditionExpression", condition},
                      {"ExpressionAttributeValues", values},
                      {"ScanIndexForward", false},
                      {"ConsistentRead", true}};
    if (before)
        q["ExpressionAttributeNames"] = {{"#seq", "seq"}};
    q["Limit"] = limit;
    each_page("Query", std::move(q), [&](json::object& res) {
        for (auto const& v : res["Items"].as_array()) {
            if (out.size() == limit)
                break;
            auto const& item = v.as_object();
            out.push_back(core::message_record{str(item, "roomId"),
                                               num(item, "seq"),
                                               str(item, "connectionId"),
                                               str(item, "name"),
                                               str(item, "text"),
                                               num(item, "sentAt")});
        }
        return out.size() < limit;
    });
    std::reverse(out.begin(), out.end());
    return out;
}

} // namespace chatd::storage
