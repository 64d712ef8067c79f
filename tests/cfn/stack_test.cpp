#include <chatd/cfn/document.hpp>
#include <chatd/cfn/stack.hpp>

#include <boost/json/serialize.hpp>
#include <doctest/doctest.h>

#include <string>

namespace {

namespace json = boost::json;
using chatd::cfn::stack;
using chatd::cfn::stack_options;

std::variant<stack, std::string> run(std::string const& text, stack_options const& opt = {})
{
    auto doc = chatd::cfn::parse_document(text, "t.yaml");
    if (auto const* err = std::get_if<std::string>(&doc))
        return *err;
    return chatd::cfn::resolve(std::get<json::value>(doc), "t.yaml", opt);
}

stack ok(std::string const& text, stack_options const& opt = {})
{
    auto r = run(text, opt);
    if (auto const* err = std::get_if<std::string>(&r))
        FAIL(*err);
    return std::get<stack>(std::move(r));
}

std::string error_of(std::string const& text, stack_options const& opt = {})
{
    auto r = run(text, opt);
    REQUIRE(std::holds_alternative<std::string>(r));
    return std::get<std::string>(r);
}

json::object const& props(stack const& s, std::string const& id)
{
    auto const* r = s.find(id);
    REQUIRE(r != nullptr);
    return r->properties;
}

std::string const sam_header = "AWSTemplateFormatVersion: '2010-09-09'\n"
                               "Transform: AWS::Serverless-2016-10-31\n";

} // namespace

TEST_CASE("cfn stack: Ref, Sub and GetAtt give what CloudFormation documents per type")
{
    auto s = ok(sam_header + R"(Parameters:
  TableName:
    Type: String
    Default: chat
Resources:
  Table:
    Type: AWS::DynamoDB::Table
    Properties:
      TableName: !Ref TableName
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Handler: app.handler
      Environment:
        Variables:
          TABLE: !Ref Table
          TABLE_ARN: !GetAtt Table.Arn
          FN_ARN: !GetAtt [Fn2, Arn]
          REGION: !Sub "${AWS::Region}/${AWS::AccountId}/${AWS::StackName}/${AWS::Partition}"
          API: !Sub "https://${Api}.execute-api.${AWS::Region}.${AWS::URLSuffix}/${Stage}"
          LITERAL: !Sub "${!NotAVariable}"
          VARS: !Sub ["${A}-${B}", {A: !Ref TableName, B: x}]
  Fn2:
    Type: AWS::Lambda::Function
    Properties:
      FunctionName: !Sub "${AWS::StackName}-second"
  Api:
    Type: AWS::ApiGatewayV2::Api
    Properties:
      ProtocolType: WEBSOCKET
  Stage:
    Type: AWS::ApiGatewayV2::Stage
    Properties:
      StageName: Prod
      ApiId: !Ref Api
)");
    CHECK(s.sam);
    auto const& vars = props(s, "Fn").at("Environment").at("Variables");
    CHECK(vars.at("TABLE") == "chat");
    CHECK(vars.at("TABLE_ARN") == "arn:aws:dynamodb:us-east-1:123456789012:table/chat");
    CHECK(vars.at("FN_ARN") == "arn:aws:lambda:us-east-1:123456789012:function:local-second");
    CHECK(vars.at("REGION") == "us-east-1/123456789012/local/aws");
    auto api_id = std::string(props(s, "Stage").at("ApiId").as_string());
    CHECK(api_id.size() == 10);
    CHECK(vars.at("API").as_string() ==
          "https://" + api_id + ".execute-api.us-east-1.amazonaws.com/Prod");
    CHECK(vars.at("LITERAL") == "${NotAVariable}");
    CHECK(vars.at("VARS") == "chat-x");
    // The same logical id gives the same API id on every run.
    CHECK(std::string(props(ok(sam_header + "Resources:\n  Api:\n    Type: AWS::ApiGatewayV2::Api\n"
                                            "  S:\n    Type: AWS::ApiGatewayV2::Stage\n"
                                            "    Properties:\n      ApiId: !Ref Api\n"),
                            "S")
                          .at("ApiId")
                          .as_string()) == api_id);
}

TEST_CASE("cfn stack: parameters: overrides, list types and CloudFormation's constraints")
{
    std::string t = R"(Parameters:
  Env:
    Type: String
    Default: dev
    AllowedValues: [dev, prod]
  Name:
    Type: String
    Default: chat
    AllowedPattern: "[a-z]+"
    MinLength: 2
    MaxLength: 8
  Size:
    Type: Number
    Default: 5
    MinValue: 1
    MaxValue: 10
  Zones:
    Type: CommaDelimitedList
    Default: "a, b,c"
Resources:
  T:
    Type: AWS::DynamoDB::Table
    Properties:
      TableName: !Sub "${Name}-${Env}-${Size}"
      Second: !Select [1, !Ref Zones]
      Joined: !Join ["+", !Ref Zones]
)";
    auto s = ok(t);
    CHECK(props(s, "T").at("TableName") == "chat-dev-5");
    CHECK(props(s, "T").at("Second") == "b");
    CHECK(props(s, "T").at("Joined") == "a+b+c");

    stack_options o;
    o.parameter_overrides = {{"Env", "prod"}, {"Name", "rooms"}};
    CHECK(props(ok(t, o), "T").at("TableName") == "rooms-prod-5");

    auto refused = [&](std::string name, std::string value) {
        stack_options bad;
        bad.parameter_overrides = {{std::move(name), std::move(value)}};
        return error_of(t, bad);
    };
    CHECK(refused("Env", "test") == "t.yaml: Parameters.Env: the value 'test' given for it is "
                                    "refused: parameter Env must be one of dev, prod");
    CHECK(refused("Name", "Chat").find("must match pattern [a-z]+") != std::string::npos);
    CHECK(refused("Name", "c").find("at least 2 characters") != std::string::npos);
    CHECK(refused("Name", "abcdefghi").find("at most 8 characters") != std::string::npos);
    CHECK(refused("Size", "11").find("must be at most 10") != std::string::npos);
    CHECK(refused("Size", "x").find("must be a number") != std::string::npos);
    CHECK(refused("Nope", "1") == "t.yaml: Parameters: --parameter-overrides names 'Nope', "
                                  "which is not a parameter of this template");
    CHECK(error_of("Parameters:\n  P:\n    Type: String\nResources:\n  A:\n    Type: X\n") ==
          "t.yaml: Parameters.P: has no Default, so it needs a value: --parameter-overrides "
          "P=...");
    CHECK(error_of("Parameters:\n  P:\n    Type: String\n    Default: x\n"
                   "    AllowedPattern: '[0-9]+'\n    ConstraintDescription: digits only\n"
                   "Resources:\n  A:\n    Type: X\n") ==
          "t.yaml: Parameters.P: its Default 'x' is refused: digits only");
}

TEST_CASE("cfn stack: Conditions, Fn::If and AWS::NoValue decide what exists")
{
    std::string t = R"(Parameters:
  Env: {Type: String, Default: dev}
Mappings:
  Sizes:
    dev: {Memory: 128}
    prod: {Memory: 1024}
Conditions:
  IsProd: !Equals [!Ref Env, prod]
  IsDev: !Not [!Condition IsProd]
  Both: !And [!Condition IsDev, !Equals [a, a]]
  Either: !Or [!Condition IsProd, !Equals [!Ref Env, staging]]
Resources:
  Always:
    Type: AWS::Lambda::Function
    Properties:
      MemorySize: !FindInMap [Sizes, !Ref Env, Memory]
      Timeout: !If [IsProd, 30, !Ref "AWS::NoValue"]
      Tags: [!If [IsDev, dev-tag, !Ref "AWS::NoValue"], always]
  ProdOnly:
    Type: AWS::SQS::Queue
    Condition: IsProd
)";
    auto s = ok(t);
    CHECK(s.conditions.at("IsProd") == false);
    CHECK(s.conditions.at("IsDev") == true);
    CHECK(s.conditions.at("Both") == true);
    CHECK(s.conditions.at("Either") == false);
    CHECK(props(s, "Always").at("MemorySize") == "128");
    CHECK_FALSE(props(s, "Always").contains("Timeout"));
    CHECK(json::serialize(props(s, "Always").at("Tags")) == R"(["dev-tag","always"])");
    CHECK(s.find("ProdOnly") == nullptr);
    CHECK(s.left_out == std::vector<std::string>{"ProdOnly"});

    stack_options o;
    o.parameter_overrides = {{"Env", "prod"}};
    auto p = ok(t, o);
    CHECK(props(p, "Always").at("MemorySize") == "1024");
    CHECK(props(p, "Always").at("Timeout") == "30");
    CHECK(json::serialize(props(p, "Always").at("Tags")) == R"(["always"])");
    CHECK(p.find("ProdOnly") != nullptr);

    CHECK(error_of("Conditions:\n  A: !Condition B\n  B: !Condition A\nResources:\n  X:\n"
                   "    Type: T\n")
              .find("refers to itself") != std::string::npos);
    CHECK(error_of("Resources:\n  X:\n    Type: T\n    Condition: Missing\n") ==
          "t.yaml: Resources.X.Condition: no condition named 'Missing' in Conditions");
}

TEST_CASE("cfn stack: SAM Globals.Function merge as SAM does")
{
    auto s = ok(sam_header + R"(Globals:
  Function:
    Runtime: nodejs20.x
    Timeout: 10
    Layers: [g1]
    Environment:
      Variables: {SHARED: "1", OVERRIDDEN: global}
Resources:
  A:
    Type: AWS::Serverless::Function
    Properties:
      Handler: a.handler
      Timeout: 3
      Layers: [l1]
      Environment:
        Variables: {OVERRIDDEN: local}
  B:
    Type: AWS::Serverless::Function
    IgnoreGlobals: [Timeout]
    Properties:
      Handler: b.handler
  C:
    Type: AWS::Serverless::Function
    IgnoreGlobals: "*"
    Properties:
      Handler: c.handler
)");
    auto const& a = props(s, "A");
    CHECK(a.at("Runtime") == "nodejs20.x");
    CHECK(a.at("Timeout") == "3");
    CHECK(json::serialize(a.at("Layers")) == R"(["g1","l1"])");
    CHECK(json::serialize(a.at("Environment")) ==
          R"({"Variables":{"SHARED":"1","OVERRIDDEN":"local"}})");
    CHECK(props(s, "B").at("Runtime") == "nodejs20.x");
    CHECK_FALSE(props(s, "B").contains("Timeout"));
    CHECK_FALSE(props(s, "C").contains("Runtime"));

    CHECK(error_of(sam_header + "Globals:\n  Function:\n    FunctionName: x\nResources:\n  A:\n"
                                "    Type: AWS::Serverless::Function\n") ==
          "t.yaml: Globals.Function.FunctionName: 'FunctionName' is not a supported property "
          "of 'Function'");
    CHECK(error_of("Resources:\n  A:\n    Type: AWS::Serverless::Function\n") ==
          "t.yaml: Resources.A: AWS::Serverless::Function needs Transform: "
          "AWS::Serverless-2016-10-31");
}

TEST_CASE("cfn stack: what cannot be evaluated is a clear error at its place")
{
    auto at = [](std::string const& property) {
        return error_of("Resources:\n  R:\n    Type: T\n    Properties:\n      P: " + property +
                        "\n");
    };
    CHECK(at("!Ref Nope") ==
          "t.yaml: Resources.R.Properties.P.Ref: Ref to 'Nope': no parameter or resource of that "
          "name");
    CHECK(at("!ImportValue shared-table").find("imports another stack's export") !=
          std::string::npos);
    CHECK(at("!GetAtt R.Nope").find("chatd knows no attribute 'Nope' of T") != std::string::npos);
    CHECK(at("!GetAtt Other.Arn").find("Fn::GetAtt of 'Other': no resource") != std::string::npos);
    CHECK(at("!Select [5, [a, b]]").find("index 5 is out of range (the list has 2 items)") !=
          std::string::npos);
    CHECK(at("!Sub \"${Unclosed\"").find("without a closing") != std::string::npos);
    CHECK(at("!Cidr [10.0.0.0/16, 2, 8]") ==
          "t.yaml: Resources.R.Properties.P.Fn::Cidr: chatd does not evaluate Fn::Cidr");
    CHECK(at("!Join [!Ref X, [a]]").find("the delimiter must be a literal string") !=
          std::string::npos);
    CHECK(error_of("Transform: AWS::LanguageExtensions\nResources:\n  R:\n    Type: T\n")
              .find("chatd runs only the SAM transform") != std::string::npos);
    CHECK(error_of("Resourcez:\n  R:\n    Type: T\n") ==
          "t.yaml: Resourcez: not a section of a template");
    CHECK(error_of("Resources: {}\n") ==
          "t.yaml: Resources: a template needs at least one resource");
    CHECK(error_of("Resources:\n  F:\n    Type: AWS::Lambda::Function\n    Properties:\n"
                   "      FunctionName: !Ref F\n")
              .find("its name depends on itself") != std::string::npos);
}

TEST_CASE("cfn stack: pseudo parameters follow the region")
{
    stack_options o;
    o.pseudo.region = "cn-north-1";
    auto s = ok("Resources:\n  R:\n    Type: T\n    Properties:\n"
                "      P: !Sub '${AWS::Partition} ${AWS::URLSuffix} ${AWS::Region}'\n"
                "      Z: !Select [0, !GetAZs '']\n",
                o);
    CHECK(props(s, "R").at("P") == "aws-cn amazonaws.com.cn cn-north-1");
    CHECK(props(s, "R").at("Z") == "cn-north-1a");
}
