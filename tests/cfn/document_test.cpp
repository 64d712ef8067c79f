#include <chatd/cfn/document.hpp>

#include <boost/json/serialize.hpp>
#include <doctest/doctest.h>

#include <string>

namespace {

namespace json = boost::json;

json::value parse(std::string const& text)
{
    auto r = chatd::cfn::parse_document(text, "t.yaml");
    if (auto const* err = std::get_if<std::string>(&r))
        FAIL(*err);
    return std::get<json::value>(r);
}

std::string error_of(std::string const& text)
{
    auto r = chatd::cfn::parse_document(text, "t.yaml");
    REQUIRE(std::holds_alternative<std::string>(r));
    return std::get<std::string>(r);
}

} // namespace

TEST_CASE("cfn document: short-form tags become the long forms the AWS tools give them")
{
    auto doc = parse(R"(Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      A: !Ref Table
      B: !Sub "${AWS::Region}-x"
      C: !GetAtt Table.Arn
      D: !GetAtt [Api, ApiEndpoint]
      E: !GetAtt Elb.SourceSecurityGroup.OwnerAlias
      F: !If [IsProd, !Ref "AWS::NoValue", 3]
      G: !Join ["", [a, !Ref B]]
      H: !Equals [!Ref Env, prod]
      I: !Condition IsProd
      J: "$connect"
      K:
      L: 0123
)");
    auto const& p = doc.at("Resources").at("Fn").at("Properties").get_object();
    CHECK(json::serialize(p.at("A")) == R"({"Ref":"Table"})");
    CHECK(json::serialize(p.at("B")) == R"({"Fn::Sub":"${AWS::Region}-x"})");
    CHECK(json::serialize(p.at("C")) == R"({"Fn::GetAtt":["Table","Arn"]})");
    CHECK(json::serialize(p.at("D")) == R"({"Fn::GetAtt":["Api","ApiEndpoint"]})");
    // Split at the first dot only: the attribute may hold dots.
    CHECK(json::serialize(p.at("E")) ==
          R"({"Fn::GetAtt":["Elb","SourceSecurityGroup.OwnerAlias"]})");
    CHECK(json::serialize(p.at("F")) == R"({"Fn::If":["IsProd",{"Ref":"AWS::NoValue"},"3"]})");
    CHECK(json::serialize(p.at("G")) == R"({"Fn::Join":["",["a",{"Ref":"B"}]]})");
    CHECK(json::serialize(p.at("H")) == R"({"Fn::Equals":[{"Ref":"Env"},"prod"]})");
    CHECK(json::serialize(p.at("I")) == R"({"Condition":"IsProd"})");
    CHECK(p.at("J") == "$connect");
    CHECK(p.at("K").is_null());
    CHECK(p.at("L") == "0123"); // scalars keep their source text
}

TEST_CASE("cfn document: JSON templates are read as they are")
{
    auto doc = parse(R"( {"Resources": {"T": {"Type": "AWS::DynamoDB::Table",
        "Properties": {"TableName": {"Fn::Sub": "${AWS::StackName}-t"}, "N": 5}}}} )");
    auto const& p = doc.at("Resources").at("T").at("Properties");
    CHECK(json::serialize(p.at("TableName")) == R"({"Fn::Sub":"${AWS::StackName}-t"})");
    CHECK(p.at("N") == 5);
}

TEST_CASE("cfn document: errors name the file, the line and the column")
{
    CHECK(error_of("").find("t.yaml: the template is empty") == 0);
    CHECK(error_of("Resources:\n  A: [1, 2\n").find("t.yaml:3:1: not valid YAML") == 0);
    CHECK(error_of("{\"Resources\": {\n  \"A\": }\n}").find("t.yaml:2:8: not valid JSON") == 0);
    CHECK(error_of("- a\n- b\n").find("a template is a mapping") != std::string::npos);
    CHECK(error_of("Resources:\n  A: 1\n  A: 2\n") ==
          "t.yaml:3:3: the key 'A' appears twice in this mapping");
    CHECK(error_of("{} trailing").find("t.yaml:1:4: not valid JSON") == 0);
    auto missing = chatd::cfn::load_document("/nonexistent/template.yaml");
    REQUIRE(std::holds_alternative<std::string>(missing));
    CHECK(std::get<std::string>(missing).find("/nonexistent/template.yaml: cannot read it") == 0);
}
