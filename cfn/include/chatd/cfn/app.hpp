#pragma once

#include <chatd/cfn/stack.hpp>

#include <boost/json/object.hpp>

#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace chatd::cfn {

/// A Lambda function as the template declares it (SAM or plain CloudFormation).
struct function_def
{
    std::string logical_id;
    std::string name;     ///< what Ref gives: FunctionName, else the logical id
    std::string runtime;  ///< nodejs20.x, python3.12, provided.al2023, ...
    std::string handler;  ///< file.export, module.function; for provided.*, passed through
    std::string code_dir; ///< the CodeUri directory, absolute (empty when code_zip is set)
    std::string code_zip; ///< a CodeUri that is a .zip package, absolute: unpacked to run
    std::vector<std::pair<std::string, std::string>> environment; ///< in template order
    double timeout_seconds = 3;                                   ///< Lambda's default
    int memory_mb = 128;                                          ///< Lambda's default
};

/// A DynamoDB table, its properties in CreateTable's shape (KeySchema, AttributeDefinitions,
/// GlobalSecondaryIndexes, LocalSecondaryIndexes, BillingMode, ...).
struct table_def
{
    std::string logical_id;
    std::string name;
    boost::json::object create_table;
    std::optional<std::string> ttl_attribute; ///< TimeToLiveSpecification, when enabled
};

/// What serves a route: a function (AWS_PROXY) or an HTTP endpoint (HTTP_PROXY).
struct route_def
{
    std::string key;
    std::string function;    ///< a function_def name; empty for an HTTP endpoint
    std::string http_url;    ///< HTTP_PROXY's IntegrationUri
    bool two_way = false;    ///< a route response ($default) is configured
    bool authorized = false; ///< $connect with AuthorizationType CUSTOM
    double integration_timeout_seconds = 29;
};

/// A REQUEST authorizer on $connect.
struct authorizer_def
{
    std::string logical_id;
    std::string function;
    std::vector<std::string> identity_sources; ///< route.request.header.X, ...querystring.Y
};

/// One WebSocket API with its stages.
struct websocket_api
{
    std::string logical_id;
    std::string api_id;
    std::string route_selection_expression = "$request.body.action";
    std::vector<route_def> routes;
    std::optional<authorizer_def> authorizer;
    /// Stage name -> its StageVariables.
    std::map<std::string, std::map<std::string, std::string>> stages;
};

/// The serverless app a template describes: what chatd runs, and what it leaves to AWS.
struct app
{
    std::vector<websocket_api> apis;
    std::vector<function_def> functions;
    std::vector<table_def> tables;
    /// Resources with no local behaviour (roles, permissions, buckets, deployments), as
    /// "LogicalId (Type)", to list once at start.
    std::vector<std::string> not_emulated;

    function_def const* function(std::string const& name) const;
};

/// The runtimes chatd runs: nodejs18.x-24.x, python3.9-3.13, provided.al2023, provided.al2.
bool is_supported_runtime(std::string const& runtime);

/// Read the app out of an evaluated template. Relative CodeUri paths are taken from
/// `template_dir`. Errors name the template and the resource: "template.yaml: Resources.Chat:
/// CodeUri 'src/chat' is not a directory".
std::variant<app, std::string>
read_app(stack const& s, std::string const& template_dir, std::string const& name);

} // namespace chatd::cfn
