#include <chatd/core/event.hpp>
#include <chatd/core/event_json.hpp>
#include <chatd/core/ids.hpp>

#include <boost/json/serialize.hpp>
#include <doctest/doctest.h>

#include <ctime>
#include <regex>
#include <set>
#include <vector>

using namespace chatd::core;
namespace json = boost::json;

namespace {

connection_info conn(bool with_agent = true)
{
    connection_info c;
    c.connection_id = "L0SM9cOFvHcCIhw=";
    c.connected_at = 1705751697419;
    c.identity.source_ip = "127.0.0.1";
    if (with_agent)
        c.identity.user_agent = "Mozilla/5.0";
    c.domain_name = "localhost:8080";
    c.stage = "dev";
    c.api_id = "chatdlocal";
    return c;
}

} // namespace

TEST_CASE("event JSON: CONNECT")
{
    field_list headers = {{"Host", "localhost:8080"},
                          {"Connection", "Upgrade"},
                          {"Upgrade", "websocket"},
                          {"Sec-WebSocket-Key", "abc=="},
                          {"user-agent", "Mozilla/5.0"},
                          {"X-Forwarded-For", "6.6.6.6"}};
    auto ev = make_connect_event(conn(),
                                 "TXzPWFkkjoEF92g=",
                                 1705751697420,
                                 headers,
                                 "name=a&x=1&x=2&e=%3D",
                                 "Root=1-x-y",
                                 "8080",
                                 "http");
    auto o = to_json(ev);
    auto const& h = o.at("headers").as_object();
    CHECK_FALSE(h.contains("Connection"));
    CHECK_FALSE(h.contains("Upgrade"));
    CHECK(h.at("Sec-WebSocket-Key").as_string() == "abc==");
    CHECK(h.at("user-agent").as_string() == "Mozilla/5.0");    // client casing kept
    CHECK(h.at("X-Forwarded-For").as_string() == "127.0.0.1"); // ours, not the client's
    CHECK(h.at("X-Forwarded-Port").as_string() == "8080");
    CHECK(h.at("X-Forwarded-Proto").as_string() == "http");
    CHECK(h.at("X-Amzn-Trace-Id").as_string() == "Root=1-x-y");
    CHECK(o.at("multiValueHeaders").at("Host").as_array().size() == 1);
    CHECK(o.at("queryStringParameters").at("x").as_string() == "2"); // last value wins
    CHECK(o.at("multiValueQueryStringParameters").at("x").as_array().size() == 2);
    CHECK(o.at("queryStringParameters").at("e").as_string() == "=");
    CHECK_FALSE(o.contains("body"));
    CHECK(o.at("isBase64Encoded").as_bool() == false);
    auto const& rc = o.at("requestContext").as_object();
    CHECK(rc.at("routeKey").as_string() == "$connect");
    CHECK(rc.at("eventType").as_string() == "CONNECT");
    CHECK_FALSE(rc.contains("messageId"));
    CHECK(rc.at("requestId") == rc.at("extendedRequestId"));
    CHECK(rc.at("messageDirection").as_string() == "IN");
    CHECK(rc.at("connectedAt").as_int64() == 1705751697419);
    CHECK(rc.at("requestTimeEpoch").as_int64() == 1705751697420);
    CHECK(rc.at("requestTime").as_string() == "20/Jan/2024:11:54:57 +0000");
    CHECK(rc.at("identity").at("userAgent").as_string() == "Mozilla/5.0");
    CHECK(rc.at("apiId").as_string() == "chatdlocal");
    CHECK(rc.at("domainName").as_string() == "localhost:8080");
    CHECK(rc.at("stage").as_string() == "dev");
}

TEST_CASE("event JSON: no query string means no query maps - no User-Agent means no userAgent")
{
    auto ev =
        make_connect_event(conn(false), "TXzPWFkkjoEF92g=", 1, {}, std::nullopt, "t", "1", "http");
    auto o = to_json(ev);
    CHECK_FALSE(o.contains("queryStringParameters"));
    CHECK_FALSE(o.contains("multiValueQueryStringParameters"));
    auto const& id = o.at("requestContext").at("identity").as_object();
    CHECK_FALSE(id.contains("userAgent"));
    CHECK(id.at("sourceIp").as_string() == "127.0.0.1");
}

TEST_CASE("event JSON: MESSAGE")
{
    auto ev = make_message_event(conn(),
                                 "sendmessage",
                                 "R1knPH17NjMFftw=",
                                 "R1knPc2ntjMCFIA=",
                                 1705751700453,
                                 R"({"action":"sendmessage","data":"hello"})");
    auto o = to_json(ev);
    CHECK_FALSE(o.contains("headers"));
    CHECK_FALSE(o.contains("multiValueHeaders"));
    CHECK_FALSE(o.contains("queryStringParameters"));
    CHECK(o.at("body").as_string() == R"({"action":"sendmessage","data":"hello"})");
    auto const& rc = o.at("requestContext").as_object();
    CHECK(rc.at("eventType").as_string() == "MESSAGE");
    CHECK(rc.at("messageId").as_string() == "R1knPc2ntjMCFIA=");
    CHECK(rc.at("requestTime").as_string() == "20/Jan/2024:11:55:00 +0000");
    CHECK_FALSE(rc.contains("disconnectStatusCode"));
    // Key order follows captured events: routeKey first, apiId last.
    CHECK(rc.begin()->key() == "routeKey");
    CHECK((rc.end() - 1)->key() == "apiId");
}

TEST_CASE("event JSON: DISCONNECT has exactly the four fixed headers")
{
    auto ev = make_disconnect_event(conn(), "R1koeHsUtjMFbRw=", 1705751708326, 1001, "");
    auto o = to_json(ev);
    CHECK(json::serialize(o.at("headers")) ==
          R"({"Host":"localhost:8080","x-api-key":"","X-Forwarded-For":"","x-restapi":""})");
    CHECK(o.at("multiValueHeaders").at("x-restapi").as_array().at(0).as_string() == "");
    auto const& rc = o.at("requestContext").as_object();
    CHECK(rc.at("eventType").as_string() == "DISCONNECT");
    CHECK(rc.at("routeKey").as_string() == "$disconnect");
    CHECK(rc.at("disconnectStatusCode").as_int64() == 1001);
    CHECK(rc.at("disconnectReason").as_string() == "");
    CHECK_FALSE(o.contains("body"));
}

TEST_CASE("ids from the OS's CSPRNG have API Gateway's shape, do not repeat, use every bit")
{
    system_id_source ids;
    std::regex shape("^[A-Za-z0-9_-]{15}=$");
    std::set<std::string> seen;
    for (int i = 0; i < 20000; ++i) {
        auto id = ids.next_id();
        REQUIRE(std::regex_match(id, shape));
        REQUIRE(is_valid_id(id));
        REQUIRE(seen.insert(id).second);
    }
    // Each of the 15 characters takes all 64 values over 20,000 ids (the last only the 16 its
    // 4 bits allow): no byte of the 11 is constant or biased to a few values.
    std::vector<std::set<char>> used(15);
    for (auto const& id : seen)
        for (std::size_t k = 0; k < 15; ++k)
            used[k].insert(id[k]);
    for (std::size_t k = 0; k < 14; ++k)
        CHECK(used[k].size() == 64);
    CHECK(used[14].size() == 16);
    auto hex = ids.hex(32);
    CHECK(hex.size() == 32);
    CHECK(hex.find_first_not_of("0123456789abcdef") == std::string::npos);
    CHECK(ids.hex(32) != hex);

    CHECK(encode_id(id_bytes{}) == "AAAAAAAAAAAAAAA=");
    id_bytes ff;
    ff.fill(0xff);
    CHECK(encode_id(ff) == "______________8=");
    CHECK_FALSE(is_valid_id("L0SM9cOFvHcCIhw"));
    CHECK_FALSE(is_valid_id("L0SM9cOFvHcCIh+="));
    CHECK_FALSE(is_valid_id("L0SM9cOFvHcCIhwA"));
    CHECK(is_valid_id("Mg_ugfpqPHcCIVA="));
}

TEST_CASE("time formats")
{
    CHECK(format_request_time(1708326702790) == "19/Feb/2024:07:11:42 +0000");
    CHECK(format_iso8601(1708326702790) == "2024-02-19T07:11:42.790Z");
    CHECK(format_iso8601(0) == "1970-01-01T00:00:00.000Z");
    CHECK(format_iso8601(951782400999) == "2000-02-29T00:00:00.999Z"); // leap day
    CHECK(format_iso8601(-1) == "1969-12-31T23:59:59.999Z");
    CHECK(format_iso8601(253402300799999) == "9999-12-31T23:59:59.999Z");
    CHECK(format_request_time(951868799000) == "29/Feb/2000:23:59:59 +0000");
    // Every day of a few leap cycles, against the C library's calendar.
    for (std::int64_t s = -86400LL * 365 * 2; s < 86400LL * 365 * 9; s += 86400 + 3661) {
        std::time_t tt = s;
        std::tm tm{};
        gmtime_r(&tt, &tm);
        char want[32];
        std::strftime(want, sizeof want, "%Y-%m-%dT%H:%M:%S.042Z", &tm);
        REQUIRE(format_iso8601(s * 1000 + 42) == want);
    }
}

TEST_CASE("query strings and percent-decoding")
{
    auto q = parse_query_string("a=1&&b=%41%42&c&d=x%2");
    REQUIRE(q.size() == 4);
    CHECK(q[1].second == "AB");
    CHECK(q[2].first == "c");
    CHECK(q[2].second == "");
    CHECK(q[3].second == "x%2"); // malformed escape kept as written
    CHECK_FALSE(percent_decode("%G0"));
    CHECK(percent_decode("%40connections") == "@connections");
}

TEST_CASE("event_from_json reads back what to_json writes")
{
    connection_info c;
    c.connection_id = "AAAAAAAAAAAAAAA=";
    c.connected_at = 1700000000000;
    c.identity = {"10.0.0.1", std::string("curl/8")};
    c.domain_name = "localhost:8080";
    c.stage = "dev";
    c.api_id = "abc";
    c.authorizer = authorizer_context{"user-1", {{"role", "admin"}}, 7};
    auto connect = make_connect_event(c,
                                      "REQ",
                                      1700000000001,
                                      {{"Host", "x"}, {"X-A", "1"}, {"X-A", "2"}},
                                      "name=al%20ice&n=1&n=2",
                                      "Root=1",
                                      "8080",
                                      "http");
    std::string error;
    auto back = event_from_json(serialize(connect), error);
    REQUIRE_MESSAGE(back, error);
    CHECK(serialize(*back) == serialize(connect));
    CHECK(back->query_value("name") == "al ice");

    auto msg = make_message_event(c, "sendMessage", "R2", "M2", 5, R"({"a":1})");
    back = event_from_json(serialize(msg), error);
    REQUIRE(back);
    CHECK(serialize(*back) == serialize(msg));

    auto bye = make_disconnect_event(c, "R3", 6, 1001, "Going away");
    back = event_from_json(serialize(bye), error);
    REQUIRE(back);
    CHECK(serialize(*back) == serialize(bye));
}

TEST_CASE("event_from_json says what is wrong with a non-event")
{
    std::string error;
    CHECK_FALSE(event_from_json("[]", error));
    CHECK(error == "the event is not a JSON object");
    CHECK_FALSE(event_from_json(R"({"body":"x"})", error));
    CHECK(error.find("no requestContext") != std::string::npos);
    CHECK_FALSE(event_from_json(
        R"({"requestContext":{"routeKey":"a","connectionId":"b","eventType":"X"}})", error));
    CHECK(error.find("'X'") != std::string::npos);
}
