#pragma once

// The chat protocol's behaviour (docs/protocol.md), written once and run against every store:
// core_tests instantiates it with the in-memory store, storage_tests with SQLite.
#include <doctest/doctest.h>

#include <string>

#include "chat_harness.hpp"

namespace chatd::test {

inline std::string const A = "AAAAAAAAAAAAAAA=";
inline std::string const B = "BBBBBBBBBBBBBBA=";
inline std::string const C = "CCCCCCCCCCCCCCA=";

template <class Store>
void connect_all(chat_harness<Store>& h)
{
    REQUIRE(h.connect(A, "name=alice").status_code == 200);
    REQUIRE(h.connect(B, "name=bob").status_code == 200);
    REQUIRE(h.connect(C, "name=carol").status_code == 200);
}

/// alice creates and joins "lobby"; bob joins too.
template <class Store>
void lobby_with_alice_and_bob(chat_harness<Store>& h)
{
    connect_all(h);
    h.frame(A, R"({"action":"createRoom","roomId":"lobby"})");
    h.frame(A, R"({"action":"joinRoom","roomId":"lobby"})");
    h.frame(B, R"({"action":"joinRoom","roomId":"lobby"})");
}

} // namespace chatd::test

using namespace chatd::test;

TEST_CASE_TEMPLATE_DEFINE("chat: $connect", Store, chat_connect)
{
    chat_harness<Store> h;
    SUBCASE("a valid name is stored")
    {
        CHECK(h.connect(A, "name=alice").status_code == 200);
        REQUIRE(h.db.get_connection(A));
        CHECK(h.db.get_connection(A)->name == "alice");
    }
    SUBCASE("percent-encoded UTF-8 names are decoded")
    {
        CHECK(h.connect(A, "name=Zo%C3%AB%20B").status_code == 200);
        CHECK(h.db.get_connection(A)->name == "Zo\xC3\xAB B");
    }
    SUBCASE("no name: a guest name derived from the connection id")
    {
        CHECK(h.connect(A).status_code == 200);
        CHECK(h.db.get_connection(A)->name == "guest-AAAAAA");
    }
    SUBCASE("invalid names refuse the handshake with 400 and store nothing")
    {
        for (auto q : {"name=",
                       "name=%01x",
                       "name=a%7Fb",
                       "name=%C2%85",
                       "name=%FF",
                       "name=123456789012345678901234567890123"}) {
            CAPTURE(q);
            auto out = h.connect(A, std::string(q));
            CHECK(out.status_code == 400);
            CHECK(out.body);
            CHECK(out.actions.empty());
            CHECK_FALSE(h.db.get_connection(A));
        }
    }
    SUBCASE("32 characters of UTF-8 are fine")
    {
        std::string q = "name=";
        for (int i = 0; i < 32; ++i)
            q += "%C3%A9";
        CHECK(h.connect(A, q).status_code == 200);
    }
}

TEST_CASE_TEMPLATE_DEFINE("chat: sendmessage (the AWS tutorial)", Store, chat_broadcast)
{
    chat_harness<Store> h;
    connect_all(h);
    SUBCASE("the message text goes unchanged to everyone, the sender included, as one payload")
    {
        auto out = h.frame(A, R"({"action":"sendmessage","message":"Hello, World!"})");
        REQUIRE(out.actions.size() == 1);
        auto posts = h.posts(out);
        CHECK(posts.size() == 3);
        for (auto const& p : posts)
            CHECK(p.raw == "Hello, World!");
    }
    SUBCASE("the SAM sample's data field works when message is absent")
    {
        auto out = h.frame(B, R"({"action":"sendmessage","data":"hi"})");
        CHECK(h.to(out, A).at(0).raw == "hi");
    }
    SUBCASE("errors")
    {
        CHECK(h.error_code(h.frame(A, R"({"action":"sendmessage"})"), A) == "BadRequest");
        CHECK(h.error_code(h.frame(A, R"({"action":"sendmessage","message":5})"), A) ==
              "BadRequest");
        CHECK(h.error_code(h.frame(A, R"({"action":"sendmessage","message":""})"), A) ==
              "BadRequest");
        auto big = std::string(8193, 'x');
        auto out = h.frame(A, R"({"action":"sendmessage","message":")" + big + "\"}");
        CHECK(h.error_code(out, A) == "MessageTooLarge");
        CHECK(h.to(out, B).empty());
    }
}

TEST_CASE_TEMPLATE_DEFINE("chat: createRoom", Store, chat_create)
{
    chat_harness<Store> h;
    connect_all(h);
    SUBCASE("creates the room, replies roomCreated with the ref, does not join")
    {
        auto f = h.only(h.frame(A, R"({"action":"createRoom","roomId":"lobby","ref":"r1"})"), A);
        CHECK(json::serialize(f) == R"({"type":"roomCreated","roomId":"lobby","ref":"r1"})");
        CHECK(h.db.room_exists("lobby"));
        CHECK_FALSE(h.db.is_member("lobby", A));
    }
    SUBCASE("without roomId the server makes a valid one")
    {
        auto f = h.only(h.frame(A, R"({"action":"createRoom"})"), A);
        std::string id(f.at("roomId").as_string());
        CHECK(id.rfind("room-", 0) == 0);
        CHECK(h.db.room_exists(id));
    }
    SUBCASE("RoomExists")
    {
        h.frame(A, R"({"action":"createRoom","roomId":"lobby"})");
        auto out = h.frame(B, R"({"action":"createRoom","roomId":"lobby","ref":"x"})");
        auto f = h.only(out, B);
        CHECK(f.at("code").as_string() == "RoomExists");
        CHECK(f.at("action").as_string() == "createRoom");
        CHECK(f.at("ref").as_string() == "x");
    }
    SUBCASE("invalid room ids are BadRequest and create nothing")
    {
        for (
            auto body :
            {R"({"action":"createRoom","roomId":""})",
             R"({"action":"createRoom","roomId":"has space"})",
             R"({"action":"createRoom","roomId":"a/b"})",
             R"({"action":"createRoom","roomId":7})",
             R"({"action":"createRoom","roomId":null})",
             R"({"action":"createRoom","roomId":"0123456789012345678901234567890123456789012345678901234567890123x"})"}) {
            CAPTURE(body);
            CHECK(h.error_code(h.frame(A, body), A) == "BadRequest");
        }
        CHECK(h.db.list_rooms().empty());
    }
    SUBCASE("64 characters of the allowed set are fine")
    {
        auto id = std::string(60, 'a') + "_.-9";
        auto f = h.only(h.frame(A, R"({"action":"createRoom","roomId":")" + id + "\"}"), A);
        CHECK(f.at("type").as_string() == "roomCreated");
    }
}

TEST_CASE_TEMPLATE_DEFINE("chat: joinRoom", Store, chat_join)
{
    chat_harness<Store> h;
    connect_all(h);
    h.frame(A, R"({"action":"createRoom","roomId":"lobby"})");
    SUBCASE("unknown room: RoomNotFound, nothing stored")
    {
        auto out = h.frame(A, R"({"action":"joinRoom","roomId":"nope"})");
        auto f = h.only(out, A);
        CHECK(f.at("code").as_string() == "RoomNotFound");
        CHECK(f.at("message").as_string() == "room 'nope' does not exist");
        CHECK_FALSE(h.db.is_member("nope", A));
    }
    SUBCASE("joined lists members and recent messages; the others get memberJoined")
    {
        h.frame(A, R"({"action":"joinRoom","roomId":"lobby"})");
        h.frame(A, R"({"action":"sendMessage","roomId":"lobby","message":"first"})");
        auto out = h.frame(B, R"({"action":"joinRoom","roomId":"lobby","ref":"j"})");
        auto joined = h.only(out, B);
        CHECK(joined.at("type").as_string() == "joined");
        CHECK(joined.at("ref").as_string() == "j");
        auto const& members = joined.at("members").as_array();
        REQUIRE(members.size() == 2);
        CHECK(members[0].at("name").as_string() == "alice");
        CHECK(members[1].at("connectionId").as_string() == B);
        auto const& recent = joined.at("recent").as_array();
        REQUIRE(recent.size() == 1);
        CHECK(recent[0].at("message").as_string() == "first");
        auto mj = h.only(out, A);
        CHECK(json::serialize(mj) == R"({"type":"memberJoined","roomId":"lobby","connectionId":")" +
                                         B + R"(","name":"bob"})");
        CHECK(h.to(out, C).empty());
    }
    SUBCASE("joining again: a fresh joined, no second memberJoined")
    {
        h.frame(A, R"({"action":"joinRoom","roomId":"lobby"})");
        h.frame(B, R"({"action":"joinRoom","roomId":"lobby"})");
        auto out = h.frame(B, R"({"action":"joinRoom","roomId":"lobby"})");
        CHECK(h.only(out, B).at("type").as_string() == "joined");
        CHECK(h.to(out, A).empty());
    }
    SUBCASE("recent holds the newest 20, oldest first")
    {
        h.frame(A, R"({"action":"joinRoom","roomId":"lobby"})");
        for (int i = 1; i <= 25; ++i)
            h.frame(A,
                    R"({"action":"sendMessage","roomId":"lobby","message":"m)" + std::to_string(i) +
                        "\"}");
        auto recent = h.only(h.frame(B, R"({"action":"joinRoom","roomId":"lobby"})"), B)
                          .at("recent")
                          .as_array();
        REQUIRE(recent.size() == 20);
        CHECK(recent.front().at("seq").as_int64() == 6);
        CHECK(recent.back().at("seq").as_int64() == 25);
    }
    SUBCASE("missing roomId is BadRequest")
    {
        CHECK(h.error_code(h.frame(A, R"({"action":"joinRoom"})"), A) == "BadRequest");
    }
}

TEST_CASE_TEMPLATE_DEFINE("chat: sendMessage", Store, chat_send)
{
    chat_harness<Store> h;
    lobby_with_alice_and_bob(h);
    SUBCASE("stored with the next seq; every member gets it; only the sender's copy has ref")
    {
        auto out =
            h.frame(A, R"({"action":"sendMessage","roomId":"lobby","message":"hi","ref":"m1"})");
        auto mine = h.only(out, A);
        auto theirs = h.only(out, B);
        CHECK(h.to(out, C).empty());
        CHECK(mine.at("ref").as_string() == "m1");
        CHECK_FALSE(theirs.contains("ref"));
        CHECK(json::serialize(theirs) ==
              R"({"type":"message","roomId":"lobby","seq":1,"connectionId":")" + A +
                  R"(","name":"alice","message":"hi","sentAt":"2025-11-21T10:00:00.000Z"})");
        auto out2 = h.frame(B, R"({"action":"sendMessage","roomId":"lobby","message":"yo"})");
        CHECK(h.only(out2, A).at("seq").as_int64() == 2);
        CHECK(h.db.messages_before("lobby", std::nullopt, 10).size() == 2);
    }
    SUBCASE("text JSON must escape arrives intact - written byte for byte as Boost.JSON would")
    {
        std::string text = "q\"b\\s/ \b\f\n\r\t \x01\x1f\x7f \xC3\xA9 \xF0\x9F\x8E\x89 end";
        json::object req{{"action", "sendMessage"}, {"roomId", "lobby"}, {"message", text}};
        req["ref"] = "r\"1\\";
        auto out = h.frame(A, json::serialize(req));
        for (auto const& id : {A, B}) {
            auto got = h.to(out, id);
            REQUIRE(got.size() == 1);
            auto parsed = json::parse(got[0].raw);
            CHECK(json::serialize(parsed) == got[0].raw);
            CHECK(parsed.at("message").as_string() == text);
            CHECK(parsed.at("seq").as_int64() == 1);
        }
        CHECK(h.only(out, A).at("ref").as_string() == "r\"1\\");
        CHECK(h.db.messages_before("lobby", std::nullopt, 1).at(0).text == text);
    }
    SUBCASE("without ref one payload serves every member")
    {
        auto out = h.frame(A, R"({"action":"sendMessage","roomId":"lobby","message":"hi"})");
        CHECK(out.actions.size() == 1);
    }
    SUBCASE("NotInRoom, RoomNotFound, BadRequest, MessageTooLarge; nothing is stored")
    {
        CHECK(h.error_code(h.frame(C, R"({"action":"sendMessage","roomId":"lobby","message":"x"})"),
                           C) == "NotInRoom");
        CHECK(h.error_code(h.frame(A, R"({"action":"sendMessage","roomId":"nope","message":"x"})"),
                           A) == "RoomNotFound");
        CHECK(h.error_code(h.frame(A, R"({"action":"sendMessage","roomId":"lobby","message":""})"),
                           A) == "BadRequest");
        CHECK(
            h.error_code(h.frame(A, R"({"action":"sendMessage","roomId":"lobby","message":["x"]})"),
                         A) == "BadRequest");
        CHECK(h.error_code(h.frame(A, R"({"action":"sendMessage","roomId":"lobby"})"), A) ==
              "BadRequest");
        auto big = std::string(8193, 'y');
        CHECK(
            h.error_code(
                h.frame(A, R"({"action":"sendMessage","roomId":"lobby","message":")" + big + "\"}"),
                A) == "MessageTooLarge");
        CHECK(h.db.messages_before("lobby", std::nullopt, 10).empty());
    }
    SUBCASE("exactly the limit is accepted (UTF-8 bytes)")
    {
        auto text = std::string(8190, 'z') + "\xC3\xA9"; // 8192 bytes
        auto out =
            h.frame(A, R"({"action":"sendMessage","roomId":"lobby","message":")" + text + "\"}");
        CHECK(h.only(out, A).at("type").as_string() == "message");
    }
}

TEST_CASE_TEMPLATE_DEFINE("chat: leaveRoom", Store, chat_leave)
{
    chat_harness<Store> h;
    lobby_with_alice_and_bob(h);
    SUBCASE("left to the caller, memberLeft to the others, membership gone")
    {
        auto out = h.frame(B, R"({"action":"leaveRoom","roomId":"lobby","ref":"l"})");
        CHECK(json::serialize(h.only(out, B)) == R"({"type":"left","roomId":"lobby","ref":"l"})");
        CHECK(h.only(out, A).at("type").as_string() == "memberLeft");
        CHECK_FALSE(h.db.is_member("lobby", B));
    }
    SUBCASE("NotInRoom and RoomNotFound")
    {
        CHECK(h.error_code(h.frame(C, R"({"action":"leaveRoom","roomId":"lobby"})"), C) ==
              "NotInRoom");
        CHECK(h.error_code(h.frame(C, R"({"action":"leaveRoom","roomId":"zzz"})"), C) ==
              "RoomNotFound");
    }
}

TEST_CASE_TEMPLATE_DEFINE("chat: listRooms and getMessages", Store, chat_history)
{
    chat_harness<Store> h;
    lobby_with_alice_and_bob(h);
    h.clk.advance(1000); // rooms list in creation order
    h.frame(A, R"({"action":"createRoom","roomId":"empty"})");
    for (int i = 1; i <= 7; ++i)
        h.frame(A,
                R"({"action":"sendMessage","roomId":"lobby","message":"m)" + std::to_string(i) +
                    "\"}");
    SUBCASE("rooms with member counts")
    {
        auto f = h.only(h.frame(C, R"({"action":"listRooms","ref":"l"})"), C);
        CHECK(f.at("ref").as_string() == "l");
        auto const& rooms = f.at("rooms").as_array();
        REQUIRE(rooms.size() == 2);
        CHECK(rooms[0].at("roomId").as_string() == "lobby");
        CHECK(rooms[0].at("members").as_int64() == 2);
        CHECK(rooms[0].at("createdAt").as_string() == "2025-11-21T10:00:00.000Z");
        CHECK(rooms[1].at("members").as_int64() == 0);
    }
    SUBCASE("pages walk back from the newest with before/limit and hasMore")
    {
        auto p1 = h.only(h.frame(A, R"({"action":"getMessages","roomId":"lobby","limit":3})"), A);
        auto const& m1 = p1.at("messages").as_array();
        REQUIRE(m1.size() == 3);
        CHECK(m1[0].at("seq").as_int64() == 5);
        CHECK(m1[2].at("seq").as_int64() == 7);
        CHECK(p1.at("hasMore").as_bool());
        auto p2 = h.only(
            h.frame(A, R"({"action":"getMessages","roomId":"lobby","limit":3,"before":5})"), A);
        CHECK(p2.at("messages").as_array()[0].at("seq").as_int64() == 2);
        CHECK(p2.at("hasMore").as_bool());
        auto p3 = h.only(
            h.frame(A, R"({"action":"getMessages","roomId":"lobby","limit":3,"before":2})"), A);
        CHECK(p3.at("messages").as_array().size() == 1);
        CHECK_FALSE(p3.at("hasMore").as_bool());
    }
    SUBCASE("default limit returns everything here, without hasMore")
    {
        auto f = h.only(h.frame(B, R"({"action":"getMessages","roomId":"lobby"})"), B);
        CHECK(f.at("messages").as_array().size() == 7);
        CHECK_FALSE(f.at("hasMore").as_bool());
    }
    SUBCASE("bad paging values are BadRequest; non-members get NotInRoom")
    {
        for (auto body : {R"({"action":"getMessages","roomId":"lobby","limit":0})",
                          R"({"action":"getMessages","roomId":"lobby","limit":101})",
                          R"({"action":"getMessages","roomId":"lobby","limit":"5"})",
                          R"({"action":"getMessages","roomId":"lobby","limit":2.5})",
                          R"({"action":"getMessages","roomId":"lobby","before":0})",
                          R"({"action":"getMessages","roomId":"lobby","before":-3})"}) {
            CAPTURE(body);
            CHECK(h.error_code(h.frame(A, body), A) == "BadRequest");
        }
        CHECK(h.error_code(h.frame(C, R"({"action":"getMessages","roomId":"lobby"})"), C) ==
              "NotInRoom");
        CHECK(h.error_code(h.frame(C, R"({"action":"getMessages","roomId":"nope"})"), C) ==
              "RoomNotFound");
    }
}

TEST_CASE_TEMPLATE_DEFINE("chat: $default and malformed frames", Store, chat_default)
{
    chat_harness<Store> h;
    connect_all(h);
    auto code_of = [&](std::string body) {
        return h.error_code(h.frame(A, std::move(body)), A);
    };
    CHECK(code_of("hello") == "BadRequest");
    CHECK(code_of("[1,2]") == "BadRequest");
    CHECK(code_of("\"str\"") == "BadRequest");
    CHECK(code_of("{") == "BadRequest");
    CHECK(code_of(std::string(100, '[') + std::string(100, ']')) == "BadRequest");
    CHECK(code_of(R"({"hello":"world"})") == "UnknownAction");
    CHECK(code_of(R"({"action":"SendMessage"})") == "UnknownAction");
    CHECK(code_of(R"({"action":"$connect"})") == "UnknownAction");
    CHECK(code_of(R"({"action":7})") == "BadRequest");
    SUBCASE("a frame that is not a request says where the JSON breaks or what it is instead")
    {
        auto message_of = [&](std::string body) {
            auto f = h.only(h.frame(A, std::move(body)), A);
            CHECK(f.at("code").as_string() == "BadRequest");
            return std::string(f.at("message").as_string());
        };
        CHECK(message_of("hello") == "the frame is not valid JSON: syntax error at byte 0");
        CHECK(message_of(R"({"action":"listRooms",})") ==
              "the frame is not valid JSON: syntax error at byte 22");
        CHECK(message_of(R"({"action":)") ==
              "the frame is not valid JSON: it ends before the JSON value does (byte 10)");
        CHECK(message_of(R"({"action":"listRooms"} {})") ==
              "the frame is not valid JSON: more text after the JSON value, at byte 23");
        CHECK(message_of(std::string(100, '[') + std::string(100, ']')) ==
              "the frame is not valid JSON: nested too deep");
        CHECK(message_of("[1,2]").starts_with("the frame is JSON but an array, not an object; "
                                              "a request is an object such as {"));
        CHECK(message_of("\"str\"").starts_with("the frame is JSON but a string, not an object"));
        CHECK(message_of("null").starts_with("the frame is JSON but null, not an object"));
        CHECK(message_of("").starts_with("the frame is empty; a request is a JSON object"));
    }
    SUBCASE("UnknownAction names the action and lists the known ones")
    {
        auto f = h.only(h.frame(A, R"({"action":"nope","ref":"q"})"), A);
        CHECK(f.at("action").as_string() == "nope");
        CHECK(f.at("ref").as_string() == "q");
        std::string msg(f.at("message").as_string());
        CHECK(msg.find("createRoom") != std::string::npos);
        CHECK(msg.find("getMessages") != std::string::npos);
    }
    SUBCASE("ref must be a string of at most 64 characters")
    {
        CHECK(code_of(R"({"action":"listRooms","ref":5})") == "BadRequest");
        CHECK(code_of(R"({"action":"listRooms","ref":")" + std::string(65, 'r') + "\"}") ==
              "BadRequest");
        auto f = h.only(
            h.frame(A, R"({"action":"listRooms","ref":")" + std::string(64, 'r') + "\"}"), A);
        CHECK(f.at("type").as_string() == "rooms");
    }
}

TEST_CASE_TEMPLATE_DEFINE("chat: $disconnect", Store, chat_disconnect)
{
    chat_harness<Store> h;
    lobby_with_alice_and_bob(h);
    h.frame(A, R"({"action":"createRoom","roomId":"second"})");
    h.frame(A, R"({"action":"joinRoom","roomId":"second"})");
    h.frame(C, R"({"action":"joinRoom","roomId":"second"})");
    auto out = h.disconnect(A);
    CHECK(out.status_code == 200);
    auto to_b = h.only(out, B);
    CHECK(json::serialize(to_b) ==
          R"({"type":"memberLeft","roomId":"lobby","connectionId":")" + A + R"(","name":"alice"})");
    CHECK(h.only(out, C).at("roomId").as_string() == "second");
    CHECK_FALSE(h.db.get_connection(A));
    CHECK_FALSE(h.db.is_member("lobby", A));
    CHECK_FALSE(h.db.is_member("second", A));
    CHECK(h.db.room_exists("lobby")); // rooms outlive their members
}
