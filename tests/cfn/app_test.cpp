#include <chatd/cfn/app.hpp>
#include <chatd/cfn/document.hpp>

#include <boost/json/serialize.hpp>
#include <doctest/doctest.h>

#include <filesystem>
#include <string>

#include <unistd.h>

namespace {

namespace json = boost::json;
namespace fs = std::filesystem;
using chatd::cfn::app;

/// A directory with the code directories a template names, removed afterwards.
struct project
{
    fs::path dir;

    explicit project(std::initializer_list<char const*> code_dirs)
        : dir(fs::temp_directory_path() /
              ("chatd-cfn-" + std::to_string(::getpid()) + "-" + std::to_string(counter()++)))
    {
        for (auto const* d : code_dirs)
            fs::create_directories(dir / d);
    }

    ~project() { fs::remove_all(dir); }

    static int& counter()
    {
        static int n = 0;
        return n;
    }

    std::variant<app, std::string> read(std::string const& text,
                                        chatd::cfn::stack_options const& opt = {}) const
    {
        auto doc = chatd::cfn::parse_document(text, "template.yaml");
        if (auto const* err = std::get_if<std::string>(&doc))
            return *err;
        auto s = chatd::cfn::resolve(std::get<json::value>(doc), "template.yaml", opt);
        if (auto const* err = std::get_if<std::string>(&s))
            return *err;
        return chatd::cfn::read_app(std::get<chatd::cfn::stack>(s), dir.string(), "template.yaml");
    }

    app ok(std::string const& text) const
    {
        auto r = read(text);
        if (auto const* err = std::get_if<std::string>(&r))
            FAIL(*err);
        return std::get<app>(std::move(r));
    }

    std::string error_of(std::string const& text) const
    {
        auto r = read(text);
        REQUIRE(std::holds_alternative<std::string>(r));
        return std::get<std::string>(r);
    }
};

// In the shape of AWS's SAM WebSocket chat sample, written for this test.
std::string const sam_chat = R"(AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Parameters:
  TableName:
    Type: String
    Default: connections
    MinLength: 3
Globals:
  Function:
    Runtime: nodejs20.x
    Timeout: 10
Resources:
  ChatApi:
    Type: AWS::Serverless::WebSocketApi
    Properties:
      StageName: Prod
      Routes:
        $connect:
          FunctionArn: !GetAtt OnConnect.Arn
        $disconnect:
          FunctionArn: !GetAtt OnDisconnect.Arn
        sendmessage:
          FunctionArn: !GetAtt SendMessage.Arn
          RouteResponseSelectionExpression: $default
  Connections:
    Type: AWS::DynamoDB::Table
    Properties:
      TableName: !Ref TableName
      AttributeDefinitions:
        - {AttributeName: connectionId, AttributeType: S}
      KeySchema:
        - {AttributeName: connectionId, KeyType: HASH}
      BillingMode: PAY_PER_REQUEST
      TimeToLiveSpecification: {AttributeName: expires, Enabled: true}
  OnConnect:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: onconnect/
      Handler: app.handler
      MemorySize: 256
      Environment:
        Variables:
          TABLE_NAME: !Ref TableName
          API: !Sub "${ChatApi}"
      Policies:
        - DynamoDBCrudPolicy: {TableName: !Ref TableName}
  OnDisconnect:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: ondisconnect/
      Handler: app.handler
  SendMessage:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: sendmessage/
      Handler: app.handler
      Runtime: python3.12
  Sessions:
    Type: AWS::Serverless::SimpleTable
  Bucket:
    Type: AWS::S3::Bucket
)";

} // namespace

TEST_CASE("cfn app: a SAM WebSocket app: routes, functions, tables, what is not emulated")
{
    project p({"onconnect", "ondisconnect", "sendmessage"});
    auto a = p.ok(sam_chat);
    REQUIRE(a.apis.size() == 1);
    auto const& api = a.apis[0];
    CHECK(api.route_selection_expression == "$request.body.action");
    CHECK(api.api_id.size() == 10);
    CHECK(api.stages.count("Prod") == 1);
    REQUIRE(api.routes.size() == 3);
    CHECK(api.routes[0].key == "$connect");
    CHECK(api.routes[0].function == "OnConnect");
    CHECK_FALSE(api.routes[0].two_way);
    CHECK(api.routes[2].key == "sendmessage");
    CHECK(api.routes[2].function == "SendMessage");
    CHECK(api.routes[2].two_way);

    auto const* on = a.function("OnConnect");
    REQUIRE(on != nullptr);
    CHECK(on->runtime == "nodejs20.x"); // from Globals
    CHECK(on->handler == "app.handler");
    CHECK(on->timeout_seconds == 10);
    CHECK(on->memory_mb == 256);
    CHECK(on->code_dir == fs::weakly_canonical(p.dir / "onconnect/").string());
    REQUIRE(on->environment.size() == 2);
    CHECK(on->environment[0] == std::pair<std::string, std::string>{"TABLE_NAME", "connections"});
    CHECK(on->environment[1].second == api.api_id);
    CHECK(a.function("SendMessage")->runtime == "python3.12");
    CHECK(a.function("OnDisconnect")->memory_mb == 128);

    REQUIRE(a.tables.size() == 2);
    CHECK(a.tables[0].name == "connections");
    CHECK(json::serialize(a.tables[0].create_table.at("KeySchema")) ==
          R"([{"AttributeName":"connectionId","KeyType":"HASH"}])");
    CHECK(a.tables[0].ttl_attribute == "expires");
    CHECK(a.tables[1].name == "Sessions");
    CHECK(json::serialize(a.tables[1].create_table.at("AttributeDefinitions")) ==
          R"([{"AttributeName":"id","AttributeType":"S"}])");
    CHECK(a.tables[1].create_table.at("BillingMode") == "PAY_PER_REQUEST");
    CHECK(a.not_emulated == std::vector<std::string>{"Bucket (AWS::S3::Bucket)"});
}

TEST_CASE("cfn app: the long form: Api, Route, Integration, RouteResponse, Authorizer, Stage")
{
    project p({"src"});
    auto a = p.ok(R"(Resources:
  Api:
    Type: AWS::ApiGatewayV2::Api
    Properties:
      Name: chat
      ProtocolType: WEBSOCKET
      RouteSelectionExpression: $request.body.type
  ConnectRoute:
    Type: AWS::ApiGatewayV2::Route
    Properties:
      ApiId: !Ref Api
      RouteKey: $connect
      AuthorizationType: CUSTOM
      AuthorizerId: !Ref Auth
      Target: !Join [/, [integrations, !Ref ConnectInteg]]
  ConnectInteg:
    Type: AWS::ApiGatewayV2::Integration
    Properties:
      ApiId: !Ref Api
      IntegrationType: AWS_PROXY
      IntegrationUri: !Sub arn:aws:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/${Handler.Arn}/invocations
  EchoRoute:
    Type: AWS::ApiGatewayV2::Route
    Properties:
      ApiId: !Ref Api
      RouteKey: echo
      Target: !Sub integrations/${EchoInteg}
  EchoInteg:
    Type: AWS::ApiGatewayV2::Integration
    Properties:
      ApiId: !Ref Api
      IntegrationType: HTTP_PROXY
      IntegrationUri: http://127.0.0.1:9000/
      TimeoutInMillis: 5000
  EchoResponse:
    Type: AWS::ApiGatewayV2::RouteResponse
    Properties:
      ApiId: !Ref Api
      RouteId: !Ref EchoRoute
      RouteResponseKey: $default
  Auth:
    Type: AWS::ApiGatewayV2::Authorizer
    Properties:
      ApiId: !Ref Api
      AuthorizerType: REQUEST
      AuthorizerUri: !Sub arn:aws:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/${Authorize.Arn}/invocations
      IdentitySource: [route.request.header.Auth, route.request.querystring.token]
      Name: auth
  Stage:
    Type: AWS::ApiGatewayV2::Stage
    Properties:
      ApiId: !Ref Api
      StageName: live
      StageVariables: {mode: test}
  Deployment:
    Type: AWS::ApiGatewayV2::Deployment
    Properties:
      ApiId: !Ref Api
  Handler:
    Type: AWS::Lambda::Function
    Properties:
      FunctionName: chat-handler
      Runtime: provided.al2023
      Handler: bootstrap
      Code: src
  Authorize:
    Type: AWS::Lambda::Function
    Properties:
      Runtime: nodejs22.x
      Handler: auth.handler
      Code: ./src
  Permission:
    Type: AWS::Lambda::Permission
)");
    REQUIRE(a.apis.size() == 1);
    auto const& api = a.apis[0];
    CHECK(api.route_selection_expression == "$request.body.type");
    REQUIRE(api.routes.size() == 2);
    CHECK(api.routes[0].key == "$connect");
    CHECK(api.routes[0].function == "chat-handler"); // FunctionName, through the ARN
    CHECK(api.routes[0].authorized);
    CHECK(api.routes[1].key == "echo");
    CHECK(api.routes[1].http_url == "http://127.0.0.1:9000/");
    CHECK(api.routes[1].two_way); // from the RouteResponse
    CHECK(api.routes[1].integration_timeout_seconds == 5);
    REQUIRE(api.authorizer);
    CHECK(api.authorizer->function == "Authorize");
    CHECK(api.authorizer->identity_sources ==
          std::vector<std::string>{"route.request.header.Auth", "route.request.querystring.token"});
    REQUIRE(api.stages.count("live") == 1);
    CHECK(api.stages.at("live").at("mode") == "test");
    CHECK(a.function("chat-handler")->runtime == "provided.al2023");
    CHECK(a.not_emulated == std::vector<std::string>{"Deployment (AWS::ApiGatewayV2::Deployment)",
                                                     "Permission (AWS::Lambda::Permission)"});
}

TEST_CASE("cfn app: what chatd cannot run is one clear error naming the resource")
{
    project p({"src"});
    auto fn = [](std::string props) {
        return "Transform: AWS::Serverless-2016-10-31\nResources:\n  Fn:\n"
               "    Type: AWS::Serverless::Function\n    Properties:\n" +
               props;
    };
    CHECK(p.error_of(fn("      CodeUri: missing/\n      Handler: a.b\n      Runtime: nodejs20.x\n"))
              .find("template.yaml: Resources.Fn: CodeUri 'missing/' is not a directory") == 0);
    CHECK(p.error_of(fn("      CodeUri: src\n      Handler: a.b\n      Runtime: java21\n")) ==
          "template.yaml: Resources.Fn: Runtime 'java21' is not one chatd runs (nodejs18.x-"
          "nodejs24.x, python3.9-python3.13, provided.al2023, provided.al2)");
    CHECK(p.error_of(fn("      CodeUri: src\n      Runtime: nodejs20.x\n")) ==
          "template.yaml: Resources.Fn: AWS::Serverless::Function needs Handler");
    CHECK(p.error_of(fn("      CodeUri: s3://bucket/code.zip\n      Handler: a.b\n"
                        "      Runtime: nodejs20.x\n"))
              .find("is in S3") != std::string::npos);
    CHECK(p.error_of(fn("      CodeUri: src\n      Handler: a.b\n      Runtime: nodejs20.x\n"
                        "      Timeout: 901\n")) ==
          "template.yaml: Resources.Fn: Timeout '901' must be a number from 1 to 900");

    std::string api = R"(Transform: AWS::Serverless-2016-10-31
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties: {CodeUri: src, Handler: a.b, Runtime: nodejs20.x}
  Api:
    Type: AWS::ApiGatewayV2::Api
    Properties: {ProtocolType: WEBSOCKET, RouteSelectionExpression: $request.body.action}
  Route:
    Type: AWS::ApiGatewayV2::Route
    Properties: {ApiId: !Ref Api, RouteKey: $default, Target: !Sub "integrations/${Integ}"}
  Integ:
    Type: AWS::ApiGatewayV2::Integration
    Properties: {ApiId: !Ref Api, IntegrationType: INTEGRATION_TYPE, IntegrationUri: URI}
)";
    auto with = [&](std::string type, std::string uri) {
        auto t = api;
        t.replace(t.find("INTEGRATION_TYPE"), 16, type);
        t.replace(t.find("URI}"), 3, uri);
        return p.error_of(t);
    };
    CHECK(with("AWS", "x").find("chatd runs AWS_PROXY (Lambda proxy) and HTTP_PROXY") !=
          std::string::npos);
    CHECK(with("AWS_PROXY", "arn:aws:lambda:us-east-1:1:function:Nope") ==
          "template.yaml: Resources.Integ: IntegrationUri 'arn:aws:lambda:us-east-1:1:function:"
          "Nope' names no function of this template");
    CHECK(with("HTTP_PROXY", "https://example.invalid/")
              .find("must be an http:// URL chatd can reach") != std::string::npos);

    auto sam_api = R"(Transform: AWS::Serverless-2016-10-31
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties: {CodeUri: src, Handler: a.b, Runtime: nodejs20.x}
  Api:
    Type: AWS::Serverless::WebSocketApi
    Properties:
      Routes:
        send-message: {FunctionArn: !GetAtt Fn.Arn}
)";
    CHECK(p.error_of(sam_api).find("route key 'send-message' must be alphanumeric") !=
          std::string::npos);
}
