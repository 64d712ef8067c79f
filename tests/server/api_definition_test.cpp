#include <doctest/doctest.h>

#include <vector>

#include "gateway/api_definition.hpp"
#include "integrations/http_integration.hpp"

using namespace chatd::server;

namespace {

std::string error_of(std::string_view text)
{
    auto r = parse_api_definition(text);
    return std::holds_alternative<std::string>(r) ? std::get<std::string>(r) : std::string();
}

} // namespace

TEST_CASE("routes file: the issue's example parses")
{
    auto r = parse_api_definition(R"({"routeSelectionExpression": "$request.body.action",
        "routes": {
          "$connect":   {"integration": "chat"},
          "$disconnect":{"integration": "chat"},
          "sendmessage":{"integration": "chat"},
          "echo":       {"integration": "http://127.0.0.1:9000/echo", "twoWay": true},
          "$default":   {"integration": "http://127.0.0.1:9000/2015-03-31/functions/function/invocations"}}})");
    REQUIRE(std::holds_alternative<api_definition>(r));
    auto const& api = std::get<api_definition>(r);
    CHECK(api.routes.size() == 5);
    CHECK(api.routes.at("echo").two_way);
    CHECK_FALSE(api.routes.at("sendmessage").two_way);
    CHECK(api.routes.at("$default").integration.find("invocations") != std::string::npos);
}

TEST_CASE("routes file: mistakes are named")
{
    CHECK(error_of("{").find("JSON") != std::string::npos);
    CHECK(error_of("[]").find("object") != std::string::npos);
    CHECK(error_of(R"({"routes":{}})").find("routes") != std::string::npos);
    CHECK(error_of(R"({"routes":{"a":{"integration":"chat"}},"extra":1})").find("extra") !=
          std::string::npos);
    CHECK(
        error_of(
            R"({"routeSelectionExpression":"$request.header.x","routes":{"a":{"integration":"chat"}}})")
            .find("routeSelectionExpression") != std::string::npos);
    CHECK(error_of(R"({"routes":{"$weird":{"integration":"chat"}}})").find("$weird") !=
          std::string::npos);
    CHECK(error_of(R"({"routes":{"a":{"integration":"ftp://x"}}})").find("ftp://x") !=
          std::string::npos);
    CHECK(error_of(R"({"routes":{"a":{"integration":"https://x/y"}}})").find("http://") !=
          std::string::npos);
    CHECK(error_of(R"({"routes":{"a":{}}})").find("integration is required") != std::string::npos);
    CHECK(error_of(R"({"routes":{"a":{"integration":"chat","twoway":true}}})").find("twoway") !=
          std::string::npos);
    CHECK(error_of(R"({"routes":{"a":{"integration":"chat","twoWay":"yes"}}})").find("twoWay") !=
          std::string::npos);
    CHECK(error_of(R"({"routes":{"a":"chat"}})").find("route 'a'") != std::string::npos);
}

TEST_CASE("integration URLs")
{
    auto u = parse_http_url("http://127.0.0.1:9000/2015-03-31/functions/function/invocations");
    REQUIRE(u);
    CHECK(u->host == "127.0.0.1");
    CHECK(u->port == "9000");
    CHECK(u->target == "/2015-03-31/functions/function/invocations");
    auto v6 = parse_http_url("http://[::1]:81");
    REQUIRE(v6);
    CHECK(v6->host == "::1");
    CHECK(v6->target == "/");
    CHECK(parse_http_url("http://localhost/x")->port == "80");
    CHECK_FALSE(parse_http_url("http://:80/"));
    CHECK_FALSE(parse_http_url("http://h:port/"));
    CHECK_FALSE(parse_http_url("http://user@h/"));
    CHECK_FALSE(parse_http_url("chat"));
}
