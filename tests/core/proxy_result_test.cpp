#include <chatd/core/proxy_result.hpp>

#include <doctest/doctest.h>

using namespace chatd::core;

TEST_CASE("proxy result: valid results")
{
    auto r = parse_proxy_result(R"({"statusCode":200,"body":"hello"})");
    REQUIRE(r.out);
    CHECK(r.out->status_code == 200);
    CHECK(r.out->body == "hello");

    auto connect = parse_proxy_result(
        R"({"statusCode":201,"headers":{"Sec-WebSocket-Protocol":"chat"},"multiValueHeaders":{"X":["a","b"]}})");
    REQUIRE(connect.out);
    CHECK(connect.out->status_code == 201);
    REQUIRE(connect.out->headers.size() == 3);
    CHECK(connect.out->headers[0].first == "Sec-WebSocket-Protocol");
    CHECK_FALSE(connect.out->body);

    auto refused = parse_proxy_result(R"({"statusCode":401,"body":"no"})");
    REQUIRE(refused.out);
    CHECK(refused.out->status_code == 401);
}

TEST_CASE("proxy result: a function that returned nothing is a 200 without a body")
{
    for (auto body : {"", "  ", "null", "{}"}) {
        CAPTURE(body);
        auto r = parse_proxy_result(body);
        REQUIRE(r.out);
        CHECK(r.out->status_code == 200);
        CHECK_FALSE(r.out->body);
    }
}

TEST_CASE("proxy result: base64 bodies are decoded")
{
    auto r = parse_proxy_result(R"({"statusCode":200,"body":"aGk=","isBase64Encoded":true})");
    REQUIRE(r.out);
    CHECK(r.out->body == "hi");
    CHECK(base64_decode("aGVsbG8") == "hello");
    CHECK_FALSE(base64_decode("a$=="));
}

TEST_CASE("proxy result: function errors and malformed results")
{
    char const* bad[] = {
        R"({"errorMessage":"boom","errorType":"Error"})",
        R"({"errorType":"Runtime.HandlerError"})",
        R"({"ConnectionId":"x","Data":"y","statusCode":200})", // middy #1219
        R"({"statusCode":"200"})",
        R"({"statusCode":200.5})",
        R"({"statusCode":42})",
        R"({"body":{"a":1}})",
        R"({"headers":{"X":1}})",
        R"({"isBase64Encoded":"yes"})",
        R"({"body":"!!","isBase64Encoded":true})",
        R"("just a string")",
        R"([1,2])",
        R"(12)",
        "not json",
    };
    for (auto b : bad) {
        CAPTURE(b);
        auto r = parse_proxy_result(b);
        CHECK_FALSE(r.out);
        CHECK_FALSE(r.error.empty());
    }
    CHECK(parse_proxy_result(R"({"errorMessage":"boom","errorType":"Error"})").error.find("boom") !=
          std::string::npos);
}
