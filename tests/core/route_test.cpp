#include <chatd/core/route.hpp>

#include <doctest/doctest.h>

#include <set>
#include <string>

using namespace chatd::core;

namespace {

route_selector make(std::string const& expr, std::set<std::string, std::less<>> keys)
{
    auto e = selection_expression::parse(expr);
    REQUIRE(e);
    return route_selector(*e, std::move(keys));
}

std::string evaluate(std::string const& expr, std::string const& body)
{
    auto e = selection_expression::parse(expr);
    REQUIRE(e);
    return e->evaluate(std::string_view(body));
}

} // namespace

TEST_CASE("route selection: the chat app's table")
{
    auto sel =
        make("$request.body.action",
             {"$connect", "$disconnect", "$default", "sendmessage", "sendMessage", "joinRoom"});

    struct row
    {
        char const* body;
        char const* route;
    };

    // contract(route-selection): exact, case-sensitive; anything unmatched goes to $default.
    row const table[] = {
        {R"({"action":"sendmessage","message":"x"})", "sendmessage"},
        {R"({"action":"sendMessage","roomId":"a"})", "sendMessage"},
        {R"({"action":"SENDMESSAGE"})", "$default"},
        {R"({"action":"SendMessage"})", "$default"},
        {R"({"action":"joinRoom"})", "joinRoom"},
        {R"({"action":" joinRoom"})", "$default"},
        {R"({"action":"joinRoom "})", "$default"},
        {R"({"action":""})", "$default"},
        {R"({"action":null})", "$default"},
        {R"({"action":7})", "$default"},
        {R"({"action":true})", "$default"},
        {R"({"action":["joinRoom"]})", "$default"},
        {R"({"action":{"x":1}})", "$default"},
        {R"({"Action":"joinRoom"})", "$default"},
        {R"({"hello":"world"})", "$default"},
        {R"({})", "$default"},
        {R"([])", "$default"},
        {R"(["joinRoom"])", "$default"},
        {R"("joinRoom")", "$default"},
        {R"(42)", "$default"},
        {"hello", "$default"},
        {"", "$default"},
        {R"({"action":"joinRoom")", "$default"},
        {R"({"action":"$connect"})", "$default"},
        {R"({"action":"$disconnect"})", "$default"},
        {R"({"action":"$default"})", "$default"},
        {R"({"action":"joinRoom","action":"sendMessage"})", "sendMessage"},
        {R"(  {"action" : "joinRoom"}  )", "joinRoom"},
    };
    for (auto const& r : table) {
        CAPTURE(r.body);
        auto got = sel.select(r.body);
        REQUIRE(got);
        CHECK(*got == r.route);
    }
}

TEST_CASE("route selection: no $default means no route (the gateway sends Forbidden)")
{
    auto sel = make("$request.body.action", {"sendmessage"});
    CHECK(sel.select(R"({"action":"sendmessage"})") == "sendmessage");
    CHECK_FALSE(sel.select(R"({"action":"other"})"));
    CHECK_FALSE(sel.select("not json"));
    CHECK_FALSE(sel.select(R"({"action":"$default"})"));
}

TEST_CASE("route selection: values are stringified")
{
    CHECK(evaluate("$request.body.action", R"({"action":1})") == "1");
    CHECK(evaluate("$request.body.action", R"({"action":-12})") == "-12");
    CHECK(evaluate("$request.body.action", R"({"action":1.5})") == "1.5");
    CHECK(evaluate("$request.body.action", R"({"action":18446744073709551615})") ==
          "18446744073709551615");
    CHECK(evaluate("$request.body.action", R"({"action":true})") == "true");
    CHECK(evaluate("$request.body.action", R"({"action":false})") == "false");
    CHECK(evaluate("$request.body.action", R"({"action":null})") == "");
    CHECK(evaluate("$request.body.action", R"({"action":["item1","item2"]})") == "[item1, item2]");
    CHECK(evaluate("$request.body.action", R"({"action":{"a":1,"b":"x"}})") == "{a=1, b=x}");
    auto sel = make("$request.body.action", {"1", "true", "$default"});
    CHECK(sel.select(R"({"action":1})") == "1");
    CHECK(sel.select(R"({"action":true})") == "true");
}

TEST_CASE("route selection: dotted paths and templates")
{
    CHECK(evaluate("$request.body.service.do", R"({"service":{"do":"join"}})") == "join");
    CHECK(evaluate("$request.body.service.do", R"({"service":"join"})") == "");
    CHECK(evaluate("$request.body.service.do", R"({"service":{"do":{"x":"y"}}})") == "{x=y}");
    CHECK(evaluate("$request.body.a.b.c", R"({"a":{"b":{"c":"deep"}}})") == "deep");
    CHECK(evaluate("${request.body.service}/${request.body.action}",
                   R"({"service":"chat","action":"join"})") == "chat/join");
    CHECK(evaluate("${request.body.action}-${request.body.invalidPath}", R"({"action":"join"})") ==
          "join-");
    CHECK(evaluate("static", R"({"action":"join"})") == "static");
    auto sel = make("${request.body.service}/${request.body.action}", {"chat/join", "$default"});
    CHECK(sel.select(R"({"service":"chat","action":"join"})") == "chat/join");
    CHECK(sel.select(R"({"service":"chat"})") == "$default");
}

TEST_CASE("route selection: invalid expressions are refused with a reason")
{
    std::string why;
    CHECK_FALSE(selection_expression::parse("", &why));
    CHECK(!why.empty());
    CHECK_FALSE(selection_expression::parse("$request.header.x", &why));
    CHECK(why.find("$request.header.x") != std::string::npos);
    CHECK_FALSE(selection_expression::parse("${request.body.action", &why));
    CHECK_FALSE(selection_expression::parse("$request.body.", &why));
    CHECK_FALSE(selection_expression::parse("$context.routeKey", &why));
}
