#include <chatd/cfn/app.hpp>

#include <boost/json/serialize.hpp>

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <set>

namespace chatd::cfn {
namespace {

namespace json = boost::json;
namespace fs = std::filesystem;

/// A mistake found while reading the app, in resource `id`.
struct app_error
{
    std::string id;
    std::string what;
};

[[noreturn]] void fail(std::string const& id, std::string what)
{
    throw app_error{id, std::move(what)};
}

std::optional<std::string> text(json::object const& o, std::string_view key)
{
    auto const* v = o.if_contains(key);
    if (!v)
        return std::nullopt;
    if (v->is_string())
        return std::string(v->get_string());
    if (v->is_bool())
        return v->get_bool() ? "true" : "false";
    if (v->is_int64() || v->is_uint64() || v->is_double())
        return json::serialize(*v);
    return std::nullopt;
}

std::string required(resource const& r, std::string_view key)
{
    auto v = text(r.properties, key);
    if (!v || v->empty())
        fail(r.logical_id, r.type + " needs " + std::string(key));
    return *v;
}

double number(resource const& r, std::string_view key, double fallback, double lo, double hi)
{
    auto v = text(r.properties, key);
    if (!v)
        return fallback;
    double d = 0;
    auto res = std::from_chars(v->data(), v->data() + v->size(), d);
    if (res.ec != std::errc{} || res.ptr != v->data() + v->size() || d < lo || d > hi)
        fail(r.logical_id,
             std::string(key) + " '" + *v + "' must be a number from " +
                 std::to_string(static_cast<long long>(lo)) + " to " +
                 std::to_string(static_cast<long long>(hi)));
    return d;
}

/// The function a Lambda ARN or an API Gateway integration URI names:
/// arn:aws:apigateway:REGION:lambda:path/2015-03-31/functions/arn:aws:lambda:...:function:NAME/invocations
std::optional<std::string> function_in_uri(std::string const& uri)
{
    auto at = uri.find(":function:");
    if (at == std::string::npos)
        return std::nullopt;
    auto rest = uri.substr(at + 10);
    auto end = rest.find_first_of("/:");
    return rest.substr(0, end);
}

bool is_sam_route_key(std::string const& key)
{
    return key == "$connect" || key == "$disconnect" || key == "$default" ||
           (!key.empty() && std::all_of(key.begin(), key.end(), [](char c) {
               return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
           }));
}

class reader
{
public:
    reader(stack const& s, std::string const& dir, app& out)
        : s_(s)
        , dir_(dir)
        , out_(out)
    {}

    void run()
    {
        // Functions and tables first: routes and authorizers refer to them by name.
        for (auto const& r : s_.resources) {
            if (r.type == "AWS::Serverless::Function" || r.type == "AWS::Lambda::Function")
                out_.functions.push_back(function(r));
            else if (r.type == "AWS::DynamoDB::Table" || r.type == "AWS::Serverless::SimpleTable")
                out_.tables.push_back(table(r));
        }
        for (auto const& r : s_.resources) {
            if (r.type == "AWS::Serverless::WebSocketApi")
                out_.apis.push_back(sam_api(r));
            else if (r.type == "AWS::ApiGatewayV2::Api")
                long_form_api(r);
        }
        for (auto const& r : s_.resources) {
            if (r.type == "AWS::ApiGatewayV2::Route")
                route(r);
        }
        for (auto const& r : s_.resources) {
            if (r.type == "AWS::ApiGatewayV2::RouteResponse")
                route_response(r);
            else if (r.type == "AWS::ApiGatewayV2::Stage")
                stage(r);
        }
        for (auto const& r : s_.resources)
            if (!handled(r.type))
                out_.not_emulated.push_back(r.logical_id + " (" + r.type + ")");
        for (auto const& api : out_.apis)
            if (api.routes.empty())
                fail(api.logical_id, "the WebSocket API has no routes");
    }

private:
    static bool handled(std::string const& type)
    {
        static constexpr std::string_view types[] = {"AWS::Serverless::Function",
                                                     "AWS::Lambda::Function",
                                                     "AWS::DynamoDB::Table",
                                                     "AWS::Serverless::SimpleTable",
                                                     "AWS::Serverless::WebSocketApi",
                                                     "AWS::ApiGatewayV2::Api",
                                                     "AWS::ApiGatewayV2::Route",
                                                     "AWS::ApiGatewayV2::RouteResponse",
                                                     "AWS::ApiGatewayV2::Integration",
                                                     "AWS::ApiGatewayV2::Authorizer",
                                                     "AWS::ApiGatewayV2::Stage"};
        return std::find(std::begin(types), std::end(types), type) != std::end(types);
    }

    function_def function(resource const& r)
    {
        function_def f;
        f.logical_id = r.logical_id;
        f.name = ref_value(r);
        if (auto pt = text(r.properties, "PackageType"); pt && *pt == "Image")
            fail(r.logical_id,
                 "PackageType Image: chatd runs functions from a code directory "
                 "(Runtime, Handler, CodeUri)");
        f.runtime = required(r, "Runtime");
        f.handler = required(r, "Handler");
        if (!is_supported_runtime(f.runtime))
            fail(r.logical_id,
                 "Runtime '" + f.runtime +
                     "' is not one chatd runs (nodejs18.x-nodejs24.x, python3.9-python3.13, "
                     "provided.al2023, provided.al2)");
        std::string code = ".";
        if (r.type == "AWS::Serverless::Function") {
            if (r.properties.contains("InlineCode"))
                fail(r.logical_id, "InlineCode: chatd runs functions from a CodeUri directory");
            if (auto const* c = r.properties.if_contains("CodeUri")) {
                if (!c->is_string())
                    fail(r.logical_id,
                         "CodeUri in S3 ({Bucket, Key}): chatd runs functions from "
                         "a local directory");
                code = std::string(c->get_string());
            }
        } else {
            // A local path in Code is what `aws cloudformation package` and SAM CLI accept.
            auto const* c = r.properties.if_contains("Code");
            if (c && c->is_string())
                code = std::string(c->get_string());
            else if (!c || !c->is_object())
                fail(r.logical_id, "AWS::Lambda::Function needs Code");
            else if (c->get_object().contains("ZipFile"))
                fail(r.logical_id,
                     "Code.ZipFile (inline code): chatd runs functions from a local directory "
                     "(Code: ./dir, or AWS::Serverless::Function with CodeUri)");
            else
                fail(r.logical_id,
                     "Code in S3: chatd runs functions from a local directory (Code: ./dir, or "
                     "AWS::Serverless::Function with CodeUri)");
        }
        if (code.starts_with("s3://"))
            fail(r.logical_id,
                 "CodeUri '" + code + "' is in S3: chatd runs functions from a local directory");
        fs::path p = fs::path(code).is_absolute() ? fs::path(code) : fs::path(dir_) / code;
        std::error_code ec;
        if (code.ends_with(".zip") && fs::is_regular_file(p, ec))
            f.code_zip = fs::weakly_canonical(p, ec).string();
        else if (!fs::is_directory(p, ec))
            fail(r.logical_id,
                 "CodeUri '" + code + "' is not a directory or a .zip file (looked for " +
                     p.lexically_normal().string() + ")");
        else
            f.code_dir = fs::weakly_canonical(p, ec).string();
        f.timeout_seconds = number(r, "Timeout", 3, 1, 900);
        f.memory_mb = static_cast<int>(number(r, "MemorySize", 128, 128, 10240));
        if (auto const* env = r.properties.if_contains("Environment")) {
            auto const* vars =
                env->is_object() ? env->get_object().if_contains("Variables") : nullptr;
            if (vars && vars->is_object()) {
                for (auto const& kv : vars->get_object()) {
                    auto v = text(vars->get_object(), kv.key());
                    if (!v)
                        fail(r.logical_id,
                             "Environment.Variables." + std::string(kv.key()) +
                                 " must be a string");
                    f.environment.emplace_back(std::string(kv.key()), *v);
                }
            }
        }
        if (!names_.insert(f.name).second)
            fail(r.logical_id, "two functions are named '" + f.name + "'");
        return f;
    }

    table_def table(resource const& r)
    {
        table_def t;
        t.logical_id = r.logical_id;
        t.name = ref_value(r);
        json::object& c = t.create_table;
        c["TableName"] = t.name;
        if (r.type == "AWS::Serverless::SimpleTable") {
            // SAM: one hash key, "id" of type S unless PrimaryKey says otherwise.
            std::string key = "id";
            std::string type = "S";
            if (auto const* pk = r.properties.if_contains("PrimaryKey"); pk && pk->is_object()) {
                key = text(pk->get_object(), "Name").value_or("id");
                auto t_name = text(pk->get_object(), "Type").value_or("String");
                type = t_name == "Number" ? "N" : t_name == "Binary" ? "B" : "S";
            }
            c["AttributeDefinitions"] =
                json::array{json::object{{"AttributeName", key}, {"AttributeType", type}}};
            c["KeySchema"] = json::array{json::object{{"AttributeName", key}, {"KeyType", "HASH"}}};
        } else {
            for (char const* k : {"AttributeDefinitions", "KeySchema"}) {
                auto const* v = r.properties.if_contains(k);
                if (!v || !v->is_array() || v->get_array().empty())
                    fail(r.logical_id, std::string("AWS::DynamoDB::Table needs ") + k);
                c[k] = *v;
            }
            for (char const* k : {"GlobalSecondaryIndexes", "LocalSecondaryIndexes"})
                if (auto const* v = r.properties.if_contains(k))
                    c[k] = *v;
        }
        if (auto const* pt = r.properties.if_contains("ProvisionedThroughput")) {
            c["ProvisionedThroughput"] = *pt;
        } else {
            c["BillingMode"] = "PAY_PER_REQUEST";
        }
        if (auto const* ttl = r.properties.if_contains("TimeToLiveSpecification");
            ttl && ttl->is_object() && text(ttl->get_object(), "Enabled") == "true")
            t.ttl_attribute = text(ttl->get_object(), "AttributeName");
        return t;
    }

    std::string function_of(std::string const& id, std::string const& uri, std::string const& what)
    {
        auto name = function_in_uri(uri).value_or(uri);
        if (!out_.function(name))
            fail(id, what + " '" + uri + "' names no function of this template");
        return name;
    }

    websocket_api sam_api(resource const& r)
    {
        websocket_api api;
        api.logical_id = r.logical_id;
        api.api_id = ref_value(r);
        if (auto e = text(r.properties, "RouteSelectionExpression"))
            api.route_selection_expression = *e;
        auto stage = text(r.properties, "StageName").value_or("default");
        if (stage == "$default")
            fail(r.logical_id, "StageName '$default' is not allowed for a WebSocket API");
        api.stages[stage] = {};
        auto const* routes = r.properties.if_contains("Routes");
        if (!routes || !routes->is_object() || routes->get_object().empty())
            fail(r.logical_id, "AWS::Serverless::WebSocketApi needs at least one route in Routes");
        for (auto const& kv : routes->get_object()) {
            std::string key(kv.key());
            if (!is_sam_route_key(key))
                fail(r.logical_id,
                     "route key '" + key +
                         "' must be alphanumeric, $connect, "
                         "$disconnect or $default");
            if (!kv.value().is_object())
                fail(r.logical_id, "Routes." + key + " must be a mapping with FunctionArn");
            auto const& def = kv.value().get_object();
            route_def rd;
            rd.key = key;
            auto arn = text(def, "FunctionArn");
            if (!arn)
                fail(r.logical_id, "Routes." + key + " needs FunctionArn");
            rd.function = function_of(r.logical_id, *arn, "Routes." + key + ".FunctionArn");
            rd.two_way = text(def, "RouteResponseSelectionExpression") == "$default";
            if (auto t = text(def, "IntegrationTimeout"))
                rd.integration_timeout_seconds = std::stod(*t) / 1000.0;
            api.routes.push_back(std::move(rd));
        }
        if (auto const* auth = r.properties.if_contains("Auth"); auth && auth->is_object()) {
            auto const& a = auth->get_object();
            auto type = text(a, "AuthType").value_or("NONE");
            if (type == "CUSTOM") {
                auto conn = std::find_if(api.routes.begin(),
                                         api.routes.end(),
                                         [](route_def const& x) { return x.key == "$connect"; });
                if (conn == api.routes.end())
                    fail(r.logical_id,
                         "Authorization is only available if there is a $connect route");
                conn->authorized = true;
                authorizer_def ad;
                ad.logical_id = r.logical_id + "ConnectAuthorizer";
                auto arn = text(a, "AuthArn");
                if (!arn)
                    fail(r.logical_id, "Auth with AuthType CUSTOM needs AuthArn");
                ad.function = function_of(r.logical_id, *arn, "Auth.AuthArn");
                ad.identity_sources =
                    identity_sources(r.logical_id, a.if_contains("IdentitySource"));
                api.authorizer = std::move(ad);
            } else if (type == "AWS_IAM") {
                fail(r.logical_id, "Auth with AuthType AWS_IAM: chatd checks no SigV4 signatures");
            } else if (type != "NONE") {
                fail(r.logical_id, "AuthType '" + type + "' is not NONE, AWS_IAM or CUSTOM");
            }
        }
        return api;
    }

    std::vector<std::string> identity_sources(std::string const& id, json::value const* v)
    {
        std::vector<std::string> out;
        if (!v)
            return out;
        if (v->is_string()) {
            // One string, comma-separated, as the console writes it.
            std::string s(v->get_string());
            std::size_t start = 0;
            while (start <= s.size()) {
                auto comma = s.find(',', start);
                auto item = s.substr(start, comma - start);
                item.erase(0, item.find_first_not_of(' '));
                item.erase(item.find_last_not_of(' ') + 1);
                if (!item.empty())
                    out.push_back(item);
                if (comma == std::string::npos)
                    break;
                start = comma + 1;
            }
        } else if (v->is_array()) {
            for (auto const& e : v->get_array())
                if (e.is_string())
                    out.emplace_back(e.get_string());
        }
        for (auto const& src : out) {
            if (!src.starts_with("route.request.header.") &&
                !src.starts_with("route.request.querystring.") &&
                !src.starts_with("stageVariables.") && !src.starts_with("context."))
                fail(id,
                     "IdentitySource '" + src +
                         "' is not route.request.header.X, "
                         "route.request.querystring.X, stageVariables.X or context.X");
        }
        return out;
    }

    /// What Ref gives for `r`: the value other resources hold (ApiId: !Ref Api).
    std::string ref_value(resource const& r) const
    {
        auto it = s_.ref_values.find(r.logical_id);
        return it == s_.ref_values.end() ? r.logical_id : it->second;
    }

    void long_form_api(resource const& r)
    {
        auto protocol = text(r.properties, "ProtocolType").value_or("");
        if (protocol != "WEBSOCKET") {
            out_.not_emulated.push_back(r.logical_id + " (" + r.type + ", ProtocolType " +
                                        (protocol.empty() ? "missing" : protocol) + ")");
            return;
        }
        websocket_api api;
        api.logical_id = r.logical_id;
        api.api_id = ref_value(r);
        auto expr = text(r.properties, "RouteSelectionExpression");
        if (!expr)
            fail(r.logical_id, "a WebSocket API needs RouteSelectionExpression");
        api.route_selection_expression = *expr;
        out_.apis.push_back(std::move(api));
    }

    websocket_api* api_with_id(std::string const& id, std::string const& who)
    {
        for (auto& a : out_.apis)
            if (a.api_id == id)
                return &a;
        fail(who, "ApiId '" + id + "' is no WebSocket API of this template");
    }

    resource const* by_id_value(std::string const& type, std::string const& value) const
    {
        for (auto const& r : s_.resources)
            if (r.type == type && ref_value(r) == value)
                return &r;
        return nullptr;
    }

    void route(resource const& r)
    {
        auto* api = api_with_id(required(r, "ApiId"), r.logical_id);
        route_def rd;
        rd.key = required(r, "RouteKey");
        auto target = text(r.properties, "Target");
        if (!target || !target->starts_with("integrations/"))
            fail(r.logical_id,
                 "Target must be integrations/<IntegrationId> (a route with no "
                 "integration has nothing to run)");
        auto const* integ = by_id_value("AWS::ApiGatewayV2::Integration", target->substr(13));
        if (!integ)
            fail(r.logical_id, "Target '" + *target + "' names no integration of this template");
        auto type = text(integ->properties, "IntegrationType").value_or("");
        auto uri = text(integ->properties, "IntegrationUri").value_or("");
        if (type == "AWS_PROXY") {
            rd.function = function_of(integ->logical_id, uri, "IntegrationUri");
        } else if (type == "HTTP_PROXY") {
            if (!uri.starts_with("http://"))
                fail(integ->logical_id,
                     "HTTP_PROXY IntegrationUri '" + uri +
                         "' must be an http:// URL chatd can reach");
            rd.http_url = uri;
        } else {
            fail(integ->logical_id,
                 "IntegrationType '" + type +
                     "': chatd runs AWS_PROXY (Lambda proxy) and HTTP_PROXY integrations, not "
                     "mapping templates");
        }
        if (auto t = text(integ->properties, "TimeoutInMillis"))
            rd.integration_timeout_seconds = std::stod(*t) / 1000.0;
        rd.two_way = text(r.properties, "RouteResponseSelectionExpression") == "$default";
        auto auth = text(r.properties, "AuthorizationType").value_or("NONE");
        if (auth == "CUSTOM") {
            if (rd.key != "$connect")
                fail(r.logical_id, "only $connect can have an authorizer");
            auto const* a =
                by_id_value("AWS::ApiGatewayV2::Authorizer", required(r, "AuthorizerId"));
            if (!a)
                fail(r.logical_id, "AuthorizerId names no authorizer of this template");
            auto atype = text(a->properties, "AuthorizerType").value_or("");
            if (atype != "REQUEST")
                fail(a->logical_id,
                     "AuthorizerType '" + atype +
                         "': WebSocket APIs have REQUEST authorizers only");
            authorizer_def ad;
            ad.logical_id = a->logical_id;
            ad.function =
                function_of(a->logical_id, required(*a, "AuthorizerUri"), "AuthorizerUri");
            ad.identity_sources =
                identity_sources(a->logical_id, a->properties.if_contains("IdentitySource"));
            api->authorizer = std::move(ad);
            rd.authorized = true;
        } else if (auth == "AWS_IAM") {
            fail(r.logical_id, "AuthorizationType AWS_IAM: chatd checks no SigV4 signatures");
        } else if (auth != "NONE") {
            fail(r.logical_id, "AuthorizationType '" + auth + "' is not NONE, AWS_IAM or CUSTOM");
        }
        route_ids_[r.logical_id] = {api, api->routes.size()};
        api->routes.push_back(std::move(rd));
    }

    void route_response(resource const& r)
    {
        auto route_id = required(r, "RouteId");
        for (auto const& [logical, where] : route_ids_) {
            auto const* route = s_.find(logical);
            if (route && ref_value(*route) == route_id) {
                if (text(r.properties, "RouteResponseKey") == "$default")
                    where.first->routes[where.second].two_way = true;
                return;
            }
        }
        fail(r.logical_id, "RouteId names no route of this template");
    }

    void stage(resource const& r)
    {
        auto* api = api_with_id(required(r, "ApiId"), r.logical_id);
        std::map<std::string, std::string> vars;
        if (auto const* sv = r.properties.if_contains("StageVariables"); sv && sv->is_object())
            for (auto const& kv : sv->get_object())
                vars[std::string(kv.key())] = text(sv->get_object(), kv.key()).value_or("");
        api->stages[required(r, "StageName")] = std::move(vars);
    }

    stack const& s_;
    std::string dir_;
    app& out_;
    std::set<std::string> names_;
    std::map<std::string, std::pair<websocket_api*, std::size_t>> route_ids_;
};

} // namespace

function_def const* app::function(std::string const& name) const
{
    for (auto const& f : functions)
        if (f.name == name)
            return &f;
    return nullptr;
}

bool is_supported_runtime(std::string const& runtime)
{
    static constexpr std::string_view runtimes[] = {"nodejs18.x",
                                                    "nodejs20.x",
                                                    "nodejs22.x",
                                                    "nodejs24.x",
                                                    "python3.9",
                                                    "python3.10",
                                                    "python3.11",
                                                    "python3.12",
                                                    "python3.13",
                                                    "provided.al2023",
                                                    "provided.al2"};
    return std::find(std::begin(runtimes), std::end(runtimes), runtime) != std::end(runtimes);
}

std::variant<app, std::string>
read_app(stack const& s, std::string const& template_dir, std::string const& name)
{
    app out;
    try {
        reader(s, template_dir, out).run();
    } catch (app_error const& e) {
        return name + ": Resources." + e.id + ": " + e.what;
    }
    return out;
}

} // namespace chatd::cfn
