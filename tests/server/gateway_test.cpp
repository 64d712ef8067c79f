// The gateway over fake connections and a fake integration: what each route's result does to
// the caller and to other connections, $disconnect, and the management verbs.
#include <chatd/core/event_json.hpp>

#include <boost/json/parse.hpp>
#include <doctest/doctest.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "gateway/gateway.hpp"
#include "ws_frames.hpp"

using namespace chatd::server;
namespace core = chatd::core;

namespace {

/// Answers every event with what `answer` says, at once, and keeps the events.
class fake_integration final : public integration
{
public:
    void invoke(core::event ev, completion done) override
    {
        events.push_back(ev);
        done(answer ? answer(ev) : invocation_result{});
    }

    std::function<invocation_result(core::event const&)> answer;
    std::vector<core::event> events;
};

/// A connection that keeps what it is sent.
class fake_connection final : public connection
{
public:
    explicit fake_connection(std::string id)
        : connection(info_for(std::move(id)))
    {}

    post_status deliver(std::shared_ptr<std::string const> payload) override
    {
        if (!open_)
            return post_status::gone;
        received.push_back(*payload);
        return post_status::ok;
    }

    post_status deliver_frame(std::shared_ptr<std::string const> const& frame,
                              core::epoch_ms) override
    {
        if (!open_)
            return post_status::gone;
        received.push_back(chatd::test::server_frames(*frame).at(0).payload);
        return post_status::ok;
    }

    void close(int code, std::string reason) override
    {
        if (open_)
            closed_with.emplace_back(code, std::move(reason));
        open_ = false;
    }

    void abort(int code, std::string reason) override { close(code, std::move(reason)); }

    void event_done() override { ++done; }

    void uncork() override {}

    bool is_open() const override { return open_; }

    std::vector<std::string> received;
    std::vector<std::pair<int, std::string>> closed_with;
    int done = 0;

private:
    static core::connection_info info_for(std::string id)
    {
        core::connection_info info;
        info.connection_id = std::move(id);
        info.connected_at = 1000;
        info.identity.source_ip = "127.0.0.1";
        info.stage = "dev";
        return info;
    }

    bool open_ = true;
};

invocation_result ok_with(core::outcome out)
{
    return invocation_result{invocation_result::status::ok, std::move(out), {}};
}

struct fixture
{
    net::io_context io;
    metrics stats;
    core::system_id_source ids;
    core::system_clock clk;
    fake_integration app;
    std::unique_ptr<gateway> gw;

    explicit fixture(core::field_list stage_variables = {})
    {
        route_table routes;
        for (auto key : {"$connect", "$disconnect", "echo", "tell"})
            routes[key] = route_target{&app, false, {}, nullptr, nullptr, {}};
        routes["echo"].two_way = true;
        std::set<std::string, std::less<>> keys;
        for (auto const& [key, r] : routes)
            keys.insert(key);
        ws_session::limits lim{1 << 20, 64, std::chrono::minutes(10), std::chrono::hours(2)};
        gw = std::make_unique<gateway>(
            io.get_executor(),
            gateway_options{"dev",
                            "chatdlocal",
                            lim,
                            nullptr,
                            "us-east-1",
                            "123456789012",
                            std::move(stage_variables)},
            core::route_selector(*core::selection_expression::parse("$request.body.action"),
                                 std::move(keys)),
            std::move(routes),
            ids,
            clk,
            stats);
    }

    std::shared_ptr<fake_connection> open(std::string id)
    {
        auto c = std::make_shared<fake_connection>(std::move(id));
        gw->on_open(c);
        return c;
    }

    void send(std::shared_ptr<fake_connection> const& c, std::string text)
    {
        gw->on_message(c, std::move(text));
        run();
    }

    void run()
    {
        io.restart();
        io.run_for(std::chrono::milliseconds(20));
    }
};

} // namespace

TEST_CASE("gateway: a two-way route's body goes back to the caller; a one-way route's does not")
{
    fixture f;
    auto a = f.open("AAAAAAAAAAAAAAA=");
    f.app.answer = [](core::event const& ev) {
        core::outcome out;
        out.body = "reply to " + ev.context.route_key;
        return ok_with(std::move(out));
    };
    f.send(a, R"({"action":"echo"})");
    f.send(a, R"({"action":"tell"})");
    CHECK(a->received == std::vector<std::string>{"reply to echo"});
    CHECK(a->done == 2);
    REQUIRE(f.app.events.size() == 2);
    CHECK(f.app.events[0].context.connection_id == "AAAAAAAAAAAAAAA=");
    CHECK(f.app.events[0].body == R"({"action":"echo"})");
    CHECK(f.stats.replies_out.load() == 1);
}

TEST_CASE("gateway: the stage's variables reach every event as stageVariables, none without any")
{
    fixture f({{"table", "chat_prod"}, {"mode", "live"}});
    auto a = f.open("AAAAAAAAAAAAAAA=");
    f.send(a, R"({"action":"echo"})");
    REQUIRE(f.app.events.size() == 1);
    CHECK(core::to_json(f.app.events[0]).at("stageVariables") ==
          boost::json::parse(R"({"table":"chat_prod","mode":"live"})"));

    fixture plain;
    auto b = plain.open("BBBBBBBBBBBBBBB=");
    plain.send(b, R"({"action":"echo"})");
    REQUIRE(plain.app.events.size() == 1);
    CHECK(!core::to_json(plain.app.events[0]).contains("stageVariables"));
}

TEST_CASE("gateway: error frames for a function error, a timeout and a frame with no route")
{
    fixture f;
    auto a = f.open("BBBBBBBBBBBBBBB=");
    f.app.answer = [](core::event const&) {
        return invocation_result{invocation_result::status::function_error, {}, "boom"};
    };
    f.send(a, R"({"action":"tell"})");
    f.app.answer = [](core::event const&) {
        return invocation_result{invocation_result::status::timeout, {}, "slow"};
    };
    f.send(a, R"({"action":"tell"})");
    f.send(a, R"({"action":"nothing-routes-this"})");
    REQUIRE(a->received.size() == 3);
    auto frame = [&](std::string const& message) {
        return R"({"message": ")" + message +
               R"(", "connectionId":"BBBBBBBBBBBBBBB=", "requestId":")";
    };
    CHECK(a->received[0].starts_with(frame("Internal server error")));
    CHECK(a->received[1].starts_with(frame("Endpoint request timed out")));
    CHECK(a->received[2].starts_with(frame("Forbidden")));
    CHECK(a->done == 3);             // each event, however it ended, let reading go on
    CHECK(f.app.events.size() == 2); // the unrouted frame reached no integration
    CHECK(f.stats.errors_out.load() == 3);
    CHECK(a->closed_with.empty()); // the connection stays open
}

TEST_CASE("gateway: posts from a result reach every recipient but the one excepted")
{
    fixture f;
    auto a = f.open("CCCCCCCCCCCCCCC=");
    auto b = f.open("DDDDDDDDDDDDDDD=");
    auto c = f.open("EEEEEEEEEEEEEEE=");
    f.app.answer = [](core::event const& ev) {
        core::outcome out;
        out.post({"CCCCCCCCCCCCCCC=", "DDDDDDDDDDDDDDD=", "EEEEEEEEEEEEEEE=", "gone-id"}, "news");
        auto all = std::make_shared<std::vector<std::string> const>(
            std::vector<std::string>{"CCCCCCCCCCCCCCC=", "DDDDDDDDDDDDDDD="});
        out.post(all, "not to the sender", ev.context.connection_id);
        return ok_with(std::move(out));
    };
    f.send(a, R"({"action":"tell"})");
    CHECK(a->received == std::vector<std::string>{"news"});
    CHECK(b->received == std::vector<std::string>{"news", "not to the sender"});
    CHECK(c->received == std::vector<std::string>{"news"});
    CHECK(f.stats.posts_out.load() == 4);
}

TEST_CASE("gateway: $disconnect runs once per connection, and its posts still happen")
{
    fixture f;
    auto a = f.open("FFFFFFFFFFFFFFF=");
    auto b = f.open("GGGGGGGGGGGGGGG=");
    f.app.answer = [](core::event const& ev) {
        core::outcome out;
        if (ev.context.kind == core::event_kind::disconnect)
            out.post({"GGGGGGGGGGGGGGG="}, "left: " + ev.context.connection_id);
        return ok_with(std::move(out));
    };
    f.gw->on_close(a->info(), 1001, "Going away");
    f.run();
    REQUIRE(f.app.events.size() == 1);
    auto const& ev = f.app.events[0];
    CHECK(ev.context.kind == core::event_kind::disconnect);
    CHECK(ev.context.route_key == "$disconnect");
    CHECK(ev.context.disconnect_status_code == 1001);
    CHECK(ev.context.disconnect_reason == "Going away");
    CHECK(b->received == std::vector<std::string>{"left: FFFFFFFFFFFFFFF="});
    CHECK(f.gw->open_count() == 1);
    CHECK(f.gw->pending_count() == 0);
    CHECK(f.stats.disconnects.get("1001") == 1);
}

TEST_CASE("gateway: management calls during a connection and after it")
{
    fixture f;
    auto a = f.open("HHHHHHHHHHHHHHH=");
    auto& reg = f.gw->connections();
    CHECK(reg.post("HHHHHHHHHHHHHHH=", std::make_shared<std::string const>("hi")) ==
          post_status::ok);
    CHECK(a->received == std::vector<std::string>{"hi"});
    auto view = reg.get("HHHHHHHHHHHHHHH=");
    REQUIRE(view);
    CHECK(view->connected_at == 1000);
    CHECK(view->identity.source_ip == "127.0.0.1");
    CHECK(reg.close("HHHHHHHHHHHHHHH="));
    CHECK(a->closed_with ==
          std::vector<std::pair<int, std::string>>{{1000, "Connection Closed Normally"}});
    // Closing, not yet closed: GetConnection and DeleteConnection already say gone.
    CHECK(!reg.get("HHHHHHHHHHHHHHH="));
    CHECK(!reg.close("HHHHHHHHHHHHHHH="));
    f.gw->on_close(a->info(), 1000, "Connection Closed Normally");
    f.run();
    CHECK(reg.post("HHHHHHHHHHHHHHH=", std::make_shared<std::string const>("late")) ==
          post_status::gone);
    CHECK(!reg.get("HHHHHHHHHHHHHHH="));
    CHECK(reg.post("never-was", std::make_shared<std::string const>("x")) == post_status::gone);
}

TEST_CASE("gateway: shutdown closes every connection with 1001, abort_all drops the rest")
{
    fixture f;
    auto a = f.open("IIIIIIIIIIIIIII=");
    auto b = f.open("JJJJJJJJJJJJJJJ=");
    f.gw->begin_shutdown();
    CHECK(a->closed_with == std::vector<std::pair<int, std::string>>{{1001, "Going away"}});
    CHECK(b->closed_with == std::vector<std::pair<int, std::string>>{{1001, "Going away"}});
}

TEST_CASE("gateway: $connect and $disconnect have no messages_in series; routed frames do")
{
    fixture f;
    auto a = f.open("KKKKKKKKKKKKKKK=");
    f.send(a, R"({"action":"tell"})");
    auto text = f.stats.render();
    CHECK(text.find("chatd_messages_in_total{route=\"tell\"} 1") != std::string::npos);
    CHECK(text.find("route=\"$connect\"") == std::string::npos);
    CHECK(text.find("route=\"$disconnect\"") == std::string::npos);
}
