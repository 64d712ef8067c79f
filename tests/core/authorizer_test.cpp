#include <chatd/core/authorizer.hpp>

#include <doctest/doctest.h>

#include <string>

using namespace chatd::core;
using verdict = authorizer_decision::verdict;

namespace {

constexpr char const* arn = "arn:aws:execute-api:us-east-1:123456789012:abcdefghij/prod/$connect";

std::string policy(std::string effect, std::string resource, std::string extra = "")
{
    return R"({"principalId":"u1","policyDocument":{"Version":"2012-10-17","Statement":[{"Action":"execute-api:Invoke","Effect":")" +
           effect + R"(","Resource":")" + resource + R"("}]})" + extra + "}";
}

} // namespace

TEST_CASE("authorizer: Allow must cover the methodArn; Deny wins; IAM wildcards")
{
    CHECK(read_authorizer_result(true, policy("Allow", arn), arn).v == verdict::allow);
    CHECK(read_authorizer_result(true, policy("Allow", "arn:aws:execute-api:*:*:abcdefghij/*"), arn)
              .v == verdict::allow);
    // The documented gotcha: .../prod/*/* does not match .../prod/$connect.
    CHECK(read_authorizer_result(
              true,
              policy("Allow", "arn:aws:execute-api:us-east-1:123456789012:abcdefghij/prod/*/*"),
              arn)
              .v == verdict::deny);
    CHECK(read_authorizer_result(true, policy("Deny", arn), arn).v == verdict::deny);
    CHECK(
        read_authorizer_result(
            true,
            R"({"policyDocument":{"Statement":[{"Action":"*","Effect":"Allow","Resource":"*"}]}})",
            arn)
            .v == verdict::deny); // no principalId
    CHECK(read_authorizer_result(true, "not json", arn).v == verdict::error);
    CHECK(read_authorizer_result(true, R"({"principalId":"u"})", arn).v == verdict::error);
    CHECK(
        read_authorizer_result(false, R"({"errorType":"Error","errorMessage":"Unauthorized"})", arn)
            .v == verdict::unauthorized);
    CHECK(read_authorizer_result(false, R"({"errorType":"Error","errorMessage":"boom"})", arn).v ==
          verdict::error);
}

TEST_CASE("authorizer: context values become strings; objects are refused")
{
    auto d = read_authorizer_result(
        true, policy("Allow", arn, R"(,"context":{"s":"x","n":5,"b":true})"), arn);
    REQUIRE(d.v == verdict::allow);
    CHECK(d.context.principal_id == "u1");
    CHECK(d.context.context == field_list{{"s", "x"}, {"n", "5"}, {"b", "true"}});
    CHECK(
        read_authorizer_result(true, policy("Allow", arn, R"(,"context":{"o":{"a":1}})"), arn).v ==
        verdict::error);
}

TEST_CASE("authorizer: identity sources must be present and not empty")
{
    event ev;
    ev.query = field_list{{"token", "t"}, {"empty", ""}};
    field_list headers{{"Auth", "x"}, {"Blank", ""}};
    CHECK(identity_sources_present(
        {"route.request.header.auth", "route.request.querystring.token"}, headers, ev));
    CHECK_FALSE(identity_sources_present({"route.request.header.Missing"}, headers, ev));
    CHECK_FALSE(identity_sources_present({"route.request.header.Blank"}, headers, ev));
    CHECK_FALSE(identity_sources_present({"route.request.querystring.empty"}, headers, ev));
    CHECK(identity_sources_present({}, headers, ev));
}
