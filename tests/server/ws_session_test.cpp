// basic_ws_session over a fake stream: what it writes, when it reads, and how each way a
// connection can end is reported, without a socket.
#include <doctest/doctest.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "fake_stream.hpp"
#include "transport/ws_session.ipp"
#include "ws_frames.hpp"

using namespace chatd::server;
using namespace chatd::test;
namespace core = chatd::core;

template class chatd::server::basic_ws_session<fake_stream>;

namespace {

using session = basic_ws_session<fake_stream>;
using clock_type = std::chrono::steady_clock;

/// What the session told the layer above.
struct recorder final : session_events
{
    explicit recorder(net::io_context& io)
        : io_(io)
    {}

    void on_open(std::shared_ptr<connection> const&) override { ++opens; }

    void on_message(std::shared_ptr<connection> const&, std::string text) override
    {
        messages.push_back(std::move(text));
    }

    void on_close(core::connection_info const&, int code, std::string reason) override
    {
        closes.emplace_back(code, std::move(reason));
    }

    void cork(connection& c) override
    {
        ++corks;
        net::post(io_, [&c] { c.uncork(); });
    }

    core::clock const& clock() const override { return clk; }

    net::io_context& io_;
    core::system_clock clk;
    int opens = 0;
    int corks = 0;
    std::vector<std::string> messages;
    std::vector<std::pair<int, std::string>> closes;
};

constexpr char const* accept_value = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

struct fixture
{
    net::io_context io;
    recorder events{io};
    std::shared_ptr<fake_wire> wire = std::make_shared<fake_wire>();
    std::shared_ptr<session> s;

    explicit fixture(session::limits lim = default_limits())
    {
        core::connection_info info;
        info.connection_id = "AAAAAAAAAAAAAAA=";
        info.connected_at = events.clk.now();
        s = std::make_shared<session>(
            fake_stream(wire, io.get_executor()), events, std::move(info), lim);
    }

    ~fixture()
    {
        // A pending read or write holds its session, as an operation on a real socket does
        // until its io_context goes; let go of them so the session ends with the fixture.
        wire->reader = nullptr;
        wire->writer = nullptr;
    }

    fixture(fixture const&) = delete;
    fixture& operator=(fixture const&) = delete;

    static session::limits default_limits()
    {
        return {1 << 20,
                64,
                std::chrono::minutes(10),
                std::chrono::hours(2),
                std::chrono::milliseconds(200)};
    }

    /// Run handlers until `done()` or `limit` passes; returns done().
    template <class Pred>
    bool run_until(Pred done, std::chrono::milliseconds limit = std::chrono::seconds(2))
    {
        auto until = clock_type::now() + limit;
        while (!done() && clock_type::now() < until) {
            io.restart();
            io.run_for(std::chrono::milliseconds(5));
        }
        return done();
    }

    void settle()
    {
        run_until([] { return false; }, std::chrono::milliseconds(20));
    }

    /// Start the session and complete its handshake; the 101 is taken off `written`.
    void open()
    {
        s->start(accept_value, std::nullopt);
        REQUIRE(run_until([&] { return events.opens == 1; }));
        REQUIRE(wire->written.find("\r\n\r\n") != std::string::npos);
        wire->written.erase(0, wire->written.find("\r\n\r\n") + 4);
    }

    /// The client sends `bytes`; the session's pending read completes with them.
    void feed(std::vector<unsigned char> const& bytes)
    {
        REQUIRE(run_until([&] { return bool(wire->reader); }));
        wire->delivered.assign(bytes.begin(), bytes.end());
        auto h = std::exchange(wire->reader, nullptr);
        net::post(io, [h, w = wire] {
            h({}, reinterpret_cast<unsigned char const*>(w->delivered.data()), w->delivered.size());
        });
    }

    /// The client's connection drops.
    void hang_up()
    {
        REQUIRE(run_until([&] { return bool(wire->reader); }));
        net::post(io, [h = std::exchange(wire->reader, nullptr)] {
            h(net::error::connection_reset, nullptr, 0);
        });
    }

    std::vector<server_frame> frames() const { return server_frames(wire->written); }
};

std::vector<unsigned char> text(std::string const& s)
{
    return client_frame(0x81, s);
}

std::vector<unsigned char> close_frame(unsigned code, std::string const& reason)
{
    std::string payload{char(code >> 8), char(code & 0xff)};
    return client_frame(0x88, payload + reason);
}

std::vector<unsigned char> cat(std::vector<std::vector<unsigned char>> const& parts)
{
    std::vector<unsigned char> out;
    for (auto const& p : parts)
        out.insert(out.end(), p.begin(), p.end());
    return out;
}

} // namespace

TEST_CASE("ws_session: the 101 carries the accept key and the subprotocol, then reading starts")
{
    fixture f;
    f.s->start(accept_value, "chat.v1");
    REQUIRE(f.run_until([&] { return f.events.opens == 1; }));
    CHECK(f.wire->written.starts_with("HTTP/1.1 101 Switching Protocols\r\n"));
    // The accept value computed by the gateway (ws::accept_key), unchanged.
    CHECK(f.wire->written.find("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n") !=
          std::string::npos);
    CHECK(f.wire->written.find("Sec-WebSocket-Protocol: chat.v1\r\n") != std::string::npos);
    CHECK(f.wire->reading_started);
    CHECK(f.run_until([&] { return bool(f.wire->reader); }));
}

TEST_CASE("ws_session: a 101 that cannot be written is reported as a close, once")
{
    fixture f;
    f.wire->room = 10; // the 101 waits for room that never comes
    f.s->start(accept_value, std::nullopt);
    // The handshake timer (200 ms here) closes the stream; the write fails.
    REQUIRE(f.run_until([&] { return !f.events.closes.empty(); }));
    CHECK(f.events.opens == 0);
    CHECK(f.events.closes == std::vector<std::pair<int, std::string>>{{1006, ""}});
    CHECK(f.wire->closed);
}

TEST_CASE("ws_session: messages go up, pings are answered, and posts are framed")
{
    fixture f;
    f.open();
    f.feed(cat({text("hello"), client_frame(0x89, "p1")}));
    REQUIRE(f.run_until([&] { return f.events.messages.size() == 1; }));
    CHECK(f.events.messages[0] == "hello");
    CHECK(f.s->deliver(std::make_shared<std::string const>("world")) == post_status::ok);
    REQUIRE(f.run_until([&] { return f.frames().size() == 2; }));
    auto out = f.frames();
    CHECK(out[0].opcode == 0xA); // the pong, with the ping's payload
    CHECK(out[0].payload == "p1");
    CHECK(out[1].opcode == 0x1);
    CHECK(out[1].payload == "world");
}

TEST_CASE("ws_session: a post longer than 32 KB goes out as a first frame and continuations")
{
    fixture f;
    f.open();
    std::string big(70000, 'x');
    big[40000] = 'y';
    REQUIRE(f.s->deliver(std::make_shared<std::string const>(big)) == post_status::ok);
    REQUIRE(f.run_until([&] { return f.wire->written.size() >= big.size(); }));
    auto out = f.frames();
    REQUIRE(out.size() == 3);
    CHECK((out[0].opcode == 0x1 && !out[0].fin && out[0].payload.size() == 32768));
    CHECK((out[1].opcode == 0x0 && !out[1].fin && out[1].payload.size() == 32768));
    CHECK((out[2].opcode == 0x0 && out[2].fin && out[2].payload.size() == 70000 - 65536));
    CHECK(out[0].payload + out[1].payload + out[2].payload == big);
}

TEST_CASE("ws_session: frames queued during one handler go out in one write, after the cork")
{
    fixture f;
    f.open();
    auto frame = std::make_shared<std::string const>(ws::text_frame("shared"));
    for (int i = 0; i < 3; ++i)
        REQUIRE(f.s->deliver_frame(frame, f.events.clk.now()) == post_status::ok);
    CHECK(f.wire->written.empty()); // nothing before the cork is drained
    CHECK(f.events.corks == 1);
    REQUIRE(f.run_until([&] { return f.frames().size() == 3; }));
    for (auto const& fr : f.frames())
        CHECK(fr.payload == "shared");
}

TEST_CASE("ws_session: backpressure: reading pauses while too many events are in flight")
{
    auto lim = fixture::default_limits();
    lim.in_flight = 2;
    fixture f(lim);
    f.open();
    f.feed(cat({text("1"), text("2"), text("3")}));
    REQUIRE(f.run_until([&] { return f.events.messages.size() == 2; }));
    f.settle();
    CHECK(f.events.messages.size() == 2); // the third waits, and no read is asked for
    CHECK(!f.wire->reader);
    f.s->event_done();
    REQUIRE(f.run_until([&] { return f.events.messages.size() == 3; }));
    CHECK(f.events.messages[2] == "3");
    f.settle();
    CHECK(!f.wire->reader); // two in flight again
    f.s->event_done();
    f.s->event_done();
    CHECK(f.run_until([&] { return bool(f.wire->reader); })); // reading again
}

TEST_CASE("ws_session: a client that does not read is dropped when its queue is full")
{
    auto lim = fixture::default_limits();
    lim.queue_bytes = 1000;
    fixture f(lim);
    f.open();
    f.wire->room = 0; // the kernel takes nothing
    auto writes = f.wire->async_writes;
    auto chunk = std::make_shared<std::string const>(std::string(600, 'a'));
    CHECK(f.s->deliver(chunk) == post_status::ok);
    f.settle(); // the write now waits for room
    CHECK(f.wire->async_writes == writes + 1);
    CHECK(f.s->deliver(chunk) == post_status::limit);
    CHECK(f.wire->closed);
    CHECK(!f.s->is_open());
    CHECK(f.s->deliver(chunk) == post_status::gone);
    REQUIRE(f.run_until([&] { return !f.events.closes.empty(); }));
    f.settle();
    CHECK(f.events.closes == std::vector<std::pair<int, std::string>>{
                                 {1006, "Client is not reading: write queue full"}});
}

TEST_CASE("ws_session: a write that waited for room completes when the client reads")
{
    fixture f;
    f.open();
    f.wire->room = 3;
    REQUIRE(f.s->deliver(std::make_shared<std::string const>("abcdefgh")) == post_status::ok);
    REQUIRE(f.run_until([&] { return bool(f.wire->writer); }));
    CHECK(f.wire->written.size() == 3);
    fake_stream::complete_write(*f.wire, f.io.get_executor());
    REQUIRE(f.run_until([&] { return f.wire->written.size() == 10; }));
    CHECK(f.frames().at(0).payload == "abcdefgh");
    CHECK(f.s->is_open());
}

TEST_CASE(
    "ws_session: our close: the close frame follows what is queued; the client's answer ends it")
{
    fixture f;
    f.open();
    REQUIRE(f.s->deliver(std::make_shared<std::string const>("last")) == post_status::ok);
    f.s->close(1000, "bye");
    CHECK(!f.s->is_open());
    CHECK(f.s->deliver(std::make_shared<std::string const>("late")) == post_status::gone);
    REQUIRE(f.run_until([&] { return f.frames().size() == 2; }));
    auto out = f.frames();
    CHECK(out[0].payload == "last");
    CHECK(out[1].opcode == 0x8);
    CHECK(out[1].close_code() == 1000);
    CHECK(out[1].payload.substr(2) == "bye");
    f.feed(close_frame(1000, ""));
    REQUIRE(f.run_until([&] { return !f.events.closes.empty(); }));
    CHECK(f.wire->shut_down);
    CHECK(f.events.closes == std::vector<std::pair<int, std::string>>{{1000, "bye"}});
}

TEST_CASE("ws_session: our close unanswered: the close timer ends the connection")
{
    fixture f; // handshake_timeout 200 ms
    f.open();
    auto started = clock_type::now();
    f.s->close(1001, "Going away");
    REQUIRE(f.run_until([&] { return !f.events.closes.empty(); }));
    CHECK(clock_type::now() - started >= std::chrono::milliseconds(150));
    CHECK(f.wire->closed);
    CHECK(!f.wire->shut_down);
    CHECK(f.events.closes == std::vector<std::pair<int, std::string>>{{1001, "Going away"}});
}

TEST_CASE("ws_session: the client closes first: its code is echoed and reported")
{
    fixture f;
    f.open();
    f.feed(close_frame(4000, "done here"));
    REQUIRE(f.run_until([&] { return !f.events.closes.empty(); }));
    auto out = f.frames();
    REQUIRE(out.size() == 1);
    CHECK(out[0].close_code() == 4000);
    CHECK(out[0].payload.substr(2) == "done here");
    CHECK(f.wire->shut_down);
    CHECK(f.events.closes == std::vector<std::pair<int, std::string>>{{4000, "done here"}});
}

TEST_CASE("ws_session: a close frame without a code is answered without one and reported as 1005")
{
    fixture f;
    f.open();
    f.feed(client_frame(0x88, ""));
    REQUIRE(f.run_until([&] { return !f.events.closes.empty(); }));
    CHECK(f.frames().at(0).payload.empty());
    CHECK(f.events.closes == std::vector<std::pair<int, std::string>>{
                                 {1005, "Client-side close frame status not set"}});
}

TEST_CASE("ws_session: a vanished client is reported as 1006")
{
    fixture f;
    f.open();
    f.hang_up();
    REQUIRE(f.run_until([&] { return !f.events.closes.empty(); }));
    CHECK(f.events.closes == std::vector<std::pair<int, std::string>>{{1006, ""}});
}

TEST_CASE("ws_session: a message over 128 KB, in frames under 32 KB each, is refused with 1009")
{
    fixture f;
    f.open();
    std::string piece(30000, 'x');
    // 5 x 30,000 bytes: each frame is within the frame limit, the message is not.
    f.feed(cat({client_frame(0x01, piece),
                client_frame(0x00, piece),
                client_frame(0x00, piece),
                client_frame(0x00, piece),
                client_frame(0x80, piece)}));
    REQUIRE(f.run_until([&] { return !f.frames().empty(); }));
    CHECK(f.frames().at(0).close_code() == 1009);
    CHECK(f.events.messages.empty());
}

TEST_CASE("ws_session: idle past the limit: close 1001 Going away")
{
    auto lim = fixture::default_limits();
    lim.idle_timeout = std::chrono::milliseconds(100);
    fixture f(lim);
    f.open();
    REQUIRE(f.run_until([&] { return !f.frames().empty(); }));
    CHECK(f.frames().at(0).close_code() == 1001);
    CHECK(f.frames().at(0).payload.substr(2) == "Going away");
}

TEST_CASE("ws_session: every way of ending reports the close exactly once")
{
    fixture f;
    f.open();
    f.s->close(1000, "first");
    f.s->abort(1006, "second");
    f.s->close(1001, "third"); // (the stream's pending read fails as well)
    REQUIRE(f.run_until([&] { return !f.events.closes.empty(); }));
    f.settle();
    f.run_until([] { return false; }, std::chrono::milliseconds(300)); // past the close timer
    CHECK(f.events.closes == std::vector<std::pair<int, std::string>>{{1000, "first"}});
}

TEST_CASE("ws_session: abort never reports from inside the call")
{
    fixture f;
    f.open();
    REQUIRE(f.run_until([&] { return bool(f.wire->reader); }));
    f.s->abort(1006, "dropped");
    CHECK(f.events.closes.empty()); // (the caller may be iterating over its connections)
    REQUIRE(f.run_until([&] { return !f.events.closes.empty(); }));
    CHECK(f.events.closes == std::vector<std::pair<int, std::string>>{{1006, "dropped"}});
}
