#include <chatd/cfn/stack.hpp>

#include <boost/json/serialize.hpp>

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <optional>
#include <regex>
#include <set>

namespace chatd::cfn {
namespace {

namespace json = boost::json;

constexpr std::string_view sam_transform = "AWS::Serverless-2016-10-31";

/// A mistake in the template, at `path` (e.g. "Resources.Chat.Properties.Timeout").
struct template_error
{
    std::string path;
    std::string what;
};

[[noreturn]] void fail(std::string const& path, std::string what)
{
    throw template_error{path, std::move(what)};
}

std::string join_path(std::string const& path, std::string_view key)
{
    return path.empty() ? std::string(key) : path + "." + std::string(key);
}

std::string index_path(std::string const& path, std::size_t i)
{
    return path + "[" + std::to_string(i) + "]";
}

/// A scalar as CloudFormation sees it once it reaches a property: its text.
std::optional<std::string> text_of(json::value const& v)
{
    if (v.is_string())
        return std::string(v.get_string());
    if (v.is_bool())
        return v.get_bool() ? "true" : "false";
    if (v.is_int64())
        return std::to_string(v.get_int64());
    if (v.is_uint64())
        return std::to_string(v.get_uint64());
    if (v.is_double())
        return json::serialize(v);
    return std::nullopt;
}

/// A bound as a person writes it: 10, not 1E1.
std::string number_text(double d)
{
    if (d == static_cast<double>(static_cast<long long>(d)))
        return std::to_string(static_cast<long long>(d));
    char buf[32];
    auto r = std::to_chars(buf, buf + sizeof buf, d);
    return std::string(buf, r.ptr);
}

/// The one key of an object that is an intrinsic function ("Ref", "Fn::...", "Condition").
std::optional<std::string_view> function_name(json::value const& v)
{
    if (!v.is_object() || v.get_object().size() != 1)
        return std::nullopt;
    std::string_view key = v.get_object().begin()->key();
    if (key == "Ref" || key == "Condition" || key.starts_with("Fn::"))
        return key;
    return std::nullopt;
}

std::string base64(std::string_view in)
{
    static constexpr char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    std::size_t i = 0;
    for (; i + 3 <= in.size(); i += 3) {
        std::uint32_t n = (std::uint32_t(std::uint8_t(in[i])) << 16) |
                          (std::uint32_t(std::uint8_t(in[i + 1])) << 8) | std::uint8_t(in[i + 2]);
        for (int k = 3; k >= 0; --k)
            out.push_back(alphabet[(n >> (6 * k)) & 63]);
    }
    if (auto rest = in.size() - i; rest > 0) {
        std::uint32_t n = std::uint32_t(std::uint8_t(in[i])) << 16;
        if (rest == 2)
            n |= std::uint32_t(std::uint8_t(in[i + 1])) << 8;
        out.push_back(alphabet[(n >> 18) & 63]);
        out.push_back(alphabet[(n >> 12) & 63]);
        out.push_back(rest == 2 ? alphabet[(n >> 6) & 63] : '=');
        out.push_back('=');
    }
    return out;
}

/// A stable id of `length` characters from `alphabet`, derived from a logical id, so that a
/// resource keeps its id from one run of chatd to the next (FNV-1a, then base-N digits).
std::string stable_id(std::string_view seed, std::size_t length, std::string_view alphabet)
{
    std::uint64_t h = 14695981039346656037ull;
    for (unsigned char c : seed) {
        h ^= c;
        h *= 1099511628211ull;
    }
    std::string out;
    for (std::size_t i = 0; i < length; ++i) {
        out.push_back(alphabet[h % alphabet.size()]);
        h = h / alphabet.size() ^ (h * 31 + i);
    }
    return out;
}

constexpr std::string_view lower_alnum = "abcdefghijklmnopqrstuvwxyz0123456789";

// --- SAM Globals ------------------------------------------------------------------------------

/// The keys of Globals.Function SAM accepts (everything but Role, Policies, FunctionName and
/// Events).
bool is_function_global(std::string_view key)
{
    static constexpr std::string_view keys[] = {"Handler",
                                                "Runtime",
                                                "CodeUri",
                                                "DeadLetterQueue",
                                                "Description",
                                                "MemorySize",
                                                "Timeout",
                                                "VpcConfig",
                                                "Environment",
                                                "Tags",
                                                "PropagateTags",
                                                "Tracing",
                                                "KmsKeyArn",
                                                "AutoPublishAlias",
                                                "AutoPublishAliasAllProperties",
                                                "Layers",
                                                "DeploymentPreference",
                                                "RolePath",
                                                "PermissionsBoundary",
                                                "ReservedConcurrentExecutions",
                                                "ProvisionedConcurrencyConfig",
                                                "AssumeRolePolicyDocument",
                                                "EventInvokeConfig",
                                                "FileSystemConfigs",
                                                "CodeSigningConfigArn",
                                                "Architectures",
                                                "SnapStart",
                                                "EphemeralStorage",
                                                "FunctionUrlConfig",
                                                "RuntimeManagementConfig",
                                                "LoggingConfig",
                                                "RecursiveLoop",
                                                "SourceKMSKeyArn",
                                                "TenancyConfig",
                                                "DurableConfig",
                                                "CapacityProviderConfig",
                                                "FunctionScalingConfig",
                                                "PublishToLatestPublished",
                                                "VersionDeletionPolicy"};
    return std::find(std::begin(keys), std::end(keys), key) != std::end(keys);
}

/// SAM's merge: maps merge key by key (the resource's keys win), lists concatenate (globals
/// first), anything else, intrinsic functions included, is the resource's own value.
json::value merge_global(json::value const& global, json::value const& local)
{
    bool maps =
        global.is_object() && local.is_object() && !function_name(global) && !function_name(local);
    if (maps) {
        json::object out = global.get_object();
        for (auto const& kv : local.get_object()) {
            auto it = out.find(kv.key());
            out[kv.key()] = it == out.end() ? kv.value() : merge_global(it->value(), kv.value());
        }
        return out;
    }
    if (global.is_array() && local.is_array()) {
        json::array out = global.get_array();
        for (auto const& v : local.get_array())
            out.push_back(v);
        return out;
    }
    return local;
}

// --- the resolver -------------------------------------------------------------------------

class resolver
{
public:
    resolver(json::object const& doc, stack_options const& opt, stack& out)
        : doc_(doc)
        , opt_(opt)
        , out_(out)
    {}

    void run()
    {
        read_transform();
        check_sections();
        read_parameters();
        if (auto const* c = section("Conditions"))
            for (auto const& kv : *c)
                out_.conditions[kv.key()] = condition(kv.key(), "Conditions");
        auto const* resources = section("Resources");
        if (!resources || resources->empty())
            fail("Resources", "a template needs at least one resource");
        resources_ = resources;
        for (auto const& kv : *resources)
            add_resource(kv.key(), kv.value());
    }

private:
    json::object const* section(std::string_view name) const
    {
        auto const* v = doc_.if_contains(name);
        if (!v)
            return nullptr;
        if (!v->is_object())
            fail(std::string(name), "must be a mapping");
        return &v->get_object();
    }

    void read_transform()
    {
        auto const* t = doc_.if_contains("Transform");
        if (!t)
            return;
        std::vector<json::value> list;
        if (t->is_array())
            list.assign(t->get_array().begin(), t->get_array().end());
        else
            list.push_back(*t);
        for (auto const& v : list) {
            auto name = text_of(v);
            if (name && *name == sam_transform)
                out_.sam = true;
            else
                fail("Transform",
                     "chatd runs only the SAM transform (" + std::string(sam_transform) +
                         "), not " + (name ? "'" + *name + "'" : json::serialize(v)));
        }
    }

    void check_sections() const
    {
        static constexpr std::string_view known[] = {"AWSTemplateFormatVersion",
                                                     "Description",
                                                     "Metadata",
                                                     "Parameters",
                                                     "Rules",
                                                     "Mappings",
                                                     "Conditions",
                                                     "Transform",
                                                     "Resources",
                                                     "Outputs",
                                                     "Globals"};
        for (auto const& kv : doc_) {
            if (std::find(std::begin(known), std::end(known), kv.key()) == std::end(known))
                fail(kv.key(), "not a section of a template");
        }
        if (doc_.contains("Globals") && !out_.sam)
            fail("Globals",
                 "only a SAM template (Transform: " + std::string(sam_transform) +
                     ") may have Globals");
    }

    // --- parameters ---------------------------------------------------------------------

    void read_parameters()
    {
        auto const* params = section("Parameters");
        for (auto const& [name, value] : opt_.parameter_overrides) {
            if (!params || !params->contains(name))
                fail("Parameters",
                     "--parameter-overrides names '" + name +
                         "', which is not a parameter of this template");
        }
        if (!params)
            return;
        for (auto const& kv : *params) {
            auto path = join_path("Parameters", kv.key());
            if (!kv.value().is_object())
                fail(path, "must be a mapping with at least a Type");
            out_.parameters[kv.key()] = parameter(kv.key(), kv.value().get_object(), path);
        }
    }

    json::value parameter(std::string const& name, json::object const& p, std::string const& path)
    {
        auto type = p.if_contains("Type") ? text_of(p.at("Type")) : std::nullopt;
        if (!type)
            fail(path, "needs a Type (String, Number, CommaDelimitedList, List<Number>, ...)");
        std::optional<std::string> value;
        bool from_override = false;
        if (auto it = opt_.parameter_overrides.find(name); it != opt_.parameter_overrides.end()) {
            value = it->second;
            from_override = true;
        } else if (auto const* d = p.if_contains("Default")) {
            value = text_of(*d);
            if (!value && d->is_array()) {
                std::string joined;
                for (auto const& e : d->get_array())
                    joined += (joined.empty() ? "" : ",") + text_of(e).value_or("");
                value = joined;
            }
        }
        if (!value)
            fail(path,
                 "has no Default, so it needs a value: --parameter-overrides " + name + "=...");
        bool is_list = *type == "CommaDelimitedList" || type->starts_with("List<");
        std::vector<std::string> items;
        if (is_list) {
            std::size_t start = 0;
            while (true) {
                auto comma = value->find(',', start);
                auto item = value->substr(start, comma - start);
                auto b = item.find_first_not_of(' ');
                auto e = item.find_last_not_of(' ');
                items.push_back(b == std::string::npos ? "" : item.substr(b, e - b + 1));
                if (comma == std::string::npos)
                    break;
                start = comma + 1;
            }
        } else {
            items.push_back(*value);
        }
        bool numbers = *type == "Number" || *type == "List<Number>";
        for (auto const& item : items)
            check_constraints(name, p, path, item, numbers, from_override);
        if (!is_list)
            return json::string(*value);
        json::array a;
        for (auto& item : items)
            a.emplace_back(item);
        return a;
    }

    void check_constraints(std::string const& name,
                           json::object const& p,
                           std::string const& path,
                           std::string const& value,
                           bool number,
                           bool from_override) const
    {
        auto why = [&](std::string const& rule) -> std::string {
            auto source = from_override ? "the value '" + value + "' given for it"
                                        : "its Default '" + value + "'";
            if (auto const* d = p.if_contains("ConstraintDescription"); d && text_of(*d))
                return source + " is refused: " + *text_of(*d);
            return source + " is refused: " + rule;
        };
        double number_value = 0;
        if (number) {
            auto r = std::from_chars(value.data(), value.data() + value.size(), number_value);
            if (r.ec != std::errc{} || r.ptr != value.data() + value.size())
                fail(path, why("parameter " + name + " must be a number"));
        }
        if (auto const* allowed = p.if_contains("AllowedValues")) {
            if (!allowed->is_array())
                fail(join_path(path, "AllowedValues"), "must be a list");
            bool found = false;
            for (auto const& a : allowed->get_array())
                found = found || text_of(a) == value;
            if (!found) {
                std::string list;
                for (auto const& a : allowed->get_array())
                    list += (list.empty() ? "" : ", ") + text_of(a).value_or("?");
                fail(path, why("parameter " + name + " must be one of " + list));
            }
        }
        if (auto const* pattern = p.if_contains("AllowedPattern")) {
            auto text = text_of(*pattern);
            if (!text)
                fail(join_path(path, "AllowedPattern"), "must be a string");
            std::regex re;
            try {
                re = std::regex(*text);
            } catch (std::regex_error const& e) {
                fail(join_path(path, "AllowedPattern"), "not a regular expression: " + *text);
            }
            if (!std::regex_match(value, re))
                fail(path,
                     why("Malformed input-Parameter " + name + " must match pattern " + *text));
        }
        auto bound = [&](char const* key) -> std::optional<double> {
            auto const* b = p.if_contains(key);
            if (!b)
                return std::nullopt;
            auto t = text_of(*b);
            double d = 0;
            if (!t || std::from_chars(t->data(), t->data() + t->size(), d).ec != std::errc{})
                fail(join_path(path, key), "must be a number");
            return d;
        };
        auto length = double(value.size());
        if (auto lo = bound("MinLength"); lo && length < *lo)
            fail(
                path,
                why("parameter " + name + " must be at least " + number_text(*lo) + " characters"));
        if (auto hi = bound("MaxLength"); hi && length > *hi)
            fail(path,
                 why("parameter " + name + " must be at most " + number_text(*hi) + " characters"));
        if (auto lo = bound("MinValue"); number && lo && number_value < *lo)
            fail(path, why("parameter " + name + " must be at least " + number_text(*lo)));
        if (auto hi = bound("MaxValue"); number && hi && number_value > *hi)
            fail(path, why("parameter " + name + " must be at most " + number_text(*hi)));
    }

    // --- conditions ---------------------------------------------------------------------

    bool condition(std::string const& name, std::string const& path)
    {
        if (auto it = out_.conditions.find(name); it != out_.conditions.end())
            return it->second;
        auto const* conditions = section("Conditions");
        auto const* def = conditions ? conditions->if_contains(name) : nullptr;
        if (!def)
            fail(path, "no condition named '" + name + "' in Conditions");
        if (!condition_stack_.insert(name).second)
            fail(join_path("Conditions", name), "refers to itself through other conditions");
        bool v = truth(*def, join_path("Conditions", name));
        condition_stack_.erase(name);
        out_.conditions[name] = v;
        return v;
    }

    /// A condition expression: Fn::Equals/Not/And/Or, {Condition: Name}, or a boolean.
    bool truth(json::value const& v, std::string const& path)
    {
        if (v.is_bool())
            return v.get_bool();
        if (auto t = text_of(v); t && (*t == "true" || *t == "false"))
            return *t == "true";
        auto fn = function_name(v);
        if (!fn)
            fail(path, "a condition must be Fn::Equals, Fn::Not, Fn::And, Fn::Or or a Condition");
        auto const& arg = v.get_object().begin()->value();
        auto here = join_path(path, *fn);
        if (*fn == "Condition") {
            auto name = text_of(arg);
            if (!name)
                fail(here, "must name a condition");
            return condition(*name, here);
        }
        if (*fn == "Fn::Equals") {
            auto const& args = list_of(arg, here, 2, 2);
            auto a = value(args[0], index_path(here, 0));
            auto b = value(args[1], index_path(here, 1));
            return a && b && (text_of(*a) && text_of(*b) ? *text_of(*a) == *text_of(*b) : *a == *b);
        }
        if (*fn == "Fn::Not")
            return !truth(list_of(arg, here, 1, 1)[0], index_path(here, 0));
        if (*fn == "Fn::And" || *fn == "Fn::Or") {
            auto const& args = list_of(arg, here, 2, 10);
            bool any = false;
            bool all = true;
            for (std::size_t i = 0; i < args.size(); ++i) {
                bool t = truth(args[i], index_path(here, i));
                any = any || t;
                all = all && t;
            }
            return *fn == "Fn::And" ? all : any;
        }
        fail(here, "not a condition function");
    }

    json::array const&
    list_of(json::value const& v, std::string const& path, std::size_t lo, std::size_t hi) const
    {
        if (!v.is_array() || v.get_array().size() < lo || v.get_array().size() > hi)
            fail(path,
                 lo == hi ? "takes a list of " + std::to_string(lo)
                          : "takes a list of " + std::to_string(lo) + " to " + std::to_string(hi));
        return v.get_array();
    }

    // --- resources ----------------------------------------------------------------------

    void add_resource(std::string const& id, json::value const& def)
    {
        auto path = join_path("Resources", id);
        if (!def.is_object())
            fail(path, "must be a mapping with a Type");
        auto const& r = def.get_object();
        auto type = r.if_contains("Type") ? text_of(r.at("Type")) : std::nullopt;
        if (!type)
            fail(path, "needs a Type");
        if (type->starts_with("AWS::Serverless::") && !out_.sam)
            fail(path, *type + " needs Transform: " + std::string(sam_transform));
        if (auto const* c = r.if_contains("Condition")) {
            auto name = text_of(*c);
            if (!name)
                fail(join_path(path, "Condition"), "must name a condition");
            if (!condition(*name, join_path(path, "Condition"))) {
                out_.left_out.push_back(id);
                return;
            }
        }
        json::value props = json::object();
        if (auto const* p = r.if_contains("Properties")) {
            if (!p->is_object())
                fail(join_path(path, "Properties"), "must be a mapping");
            props = *p;
        }
        if (*type == "AWS::Serverless::Function")
            props = with_globals(r, props.get_object(), path);
        auto resolved = value(props, join_path(path, "Properties"));
        out_.ref_values[id] = ref_resource(id, r);
        resource res{
            id, *type, resolved && resolved->is_object() ? resolved->get_object() : json::object()};
        out_.resources.push_back(std::move(res));
    }

    json::value
    with_globals(json::object const& r, json::object const& props, std::string const& path)
    {
        auto const* globals = section("Globals");
        auto const* g = globals ? globals->if_contains("Function") : nullptr;
        if (!g)
            return props;
        if (!g->is_object())
            fail("Globals.Function", "must be a mapping");
        std::set<std::string> ignored;
        bool ignore_all = false;
        if (auto const* ig = r.if_contains("IgnoreGlobals")) {
            if (text_of(*ig) == "*")
                ignore_all = true;
            else if (ig->is_array())
                for (auto const& k : ig->get_array())
                    ignored.insert(text_of(k).value_or(""));
            else
                fail(join_path(path, "IgnoreGlobals"), "must be \"*\" or a list of keys");
        }
        if (ignore_all)
            return props;
        json::object out = props;
        for (auto const& kv : g->get_object()) {
            if (kv.key() == "InlineCode")
                fail("Globals.Function.InlineCode", "InlineCode is not allowed in Globals");
            if (!is_function_global(kv.key()))
                fail(join_path("Globals.Function", kv.key()),
                     "'" + std::string(kv.key()) + "' is not a supported property of 'Function'");
            if (ignored.count(kv.key()))
                continue;
            auto it = out.find(kv.key());
            out[kv.key()] = it == out.end() ? kv.value() : merge_global(kv.value(), it->value());
        }
        return out;
    }

    json::object const* raw_resource(std::string const& id) const
    {
        auto const* r = resources_ ? resources_->if_contains(id) : nullptr;
        return r && r->is_object() ? &r->get_object() : nullptr;
    }

    /// A property of a resource as written, evaluated (for names that Ref returns).
    std::optional<std::string>
    raw_property(json::object const& r, std::string const& id, std::string_view key)
    {
        auto const* props = r.if_contains("Properties");
        auto const* v =
            props && props->is_object() ? props->get_object().if_contains(key) : nullptr;
        if (!v)
            return std::nullopt;
        if (!ref_stack_.insert(id).second)
            fail(join_path("Resources", id), "its name depends on itself");
        auto resolved =
            value(*v, join_path(join_path("Resources", id), "Properties." + std::string(key)));
        ref_stack_.erase(id);
        return resolved ? text_of(*resolved) : std::nullopt;
    }

    std::string type_of(json::object const& r) const
    {
        auto const* t = r.if_contains("Type");
        return t ? text_of(*t).value_or("") : "";
    }

    /// What Ref gives for a resource, as CloudFormation documents it per type.
    std::string ref_resource(std::string const& id, json::object const& r)
    {
        auto type = type_of(r);
        if (type == "AWS::Lambda::Function" || type == "AWS::Serverless::Function")
            return raw_property(r, id, "FunctionName").value_or(id);
        if (type == "AWS::DynamoDB::Table" || type == "AWS::Serverless::SimpleTable")
            return raw_property(r, id, "TableName").value_or(id);
        if (type == "AWS::ApiGatewayV2::Api" || type == "AWS::Serverless::WebSocketApi")
            return stable_id(id, 10, lower_alnum);
        if (type == "AWS::ApiGatewayV2::Stage")
            return raw_property(r, id, "StageName").value_or(id);
        if (type.starts_with("AWS::ApiGatewayV2::"))
            return stable_id(id, 7, lower_alnum);
        if (type == "AWS::IAM::Role")
            return raw_property(r, id, "RoleName").value_or(id);
        return id;
    }

    std::string get_att(std::string const& id, std::string const& attr, std::string const& path)
    {
        auto const* r = raw_resource(id);
        if (!r)
            fail(path, "Fn::GetAtt of '" + id + "': no resource of that name");
        auto type = type_of(*r);
        auto const& p = out_.pseudo;
        auto name = ref_resource(id, *r);
        auto arn = [&](std::string_view service, std::string_view rest) {
            return "arn:" + p.partition() + ":" + std::string(service) + ":" + p.region + ":" +
                   p.account_id + ":" + std::string(rest);
        };
        if ((type == "AWS::Lambda::Function" || type == "AWS::Serverless::Function") &&
            attr == "Arn")
            return arn("lambda", "function:" + name);
        if (type == "AWS::DynamoDB::Table" || type == "AWS::Serverless::SimpleTable") {
            if (attr == "Arn")
                return arn("dynamodb", "table/" + name);
            if (attr == "StreamArn")
                return arn("dynamodb", "table/" + name + "/stream/1970-01-01T00:00:00.000");
        }
        if (type == "AWS::ApiGatewayV2::Api" || type == "AWS::Serverless::WebSocketApi") {
            if (attr == "ApiId")
                return name;
            if (attr == "ApiEndpoint")
                return "wss://" + name + ".execute-api." + p.region + "." + p.url_suffix();
        }
        if (type.starts_with("AWS::ApiGatewayV2::") && attr == type.substr(19) + "Id")
            return name;
        if (type == "AWS::IAM::Role" && attr == "Arn")
            return "arn:" + p.partition() + ":iam::" + p.account_id + ":role/" + name;
        if (type == "AWS::IAM::Role" && attr == "RoleId")
            return "AROA" + stable_id(id, 17, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789");
        // Resources chatd does not run, whose attributes a template still uses (a web
        // client's bucket and distribution): values of the right shape.
        if (type == "AWS::S3::Bucket") {
            if (attr == "Arn")
                return "arn:" + p.partition() + ":s3:::" + name;
            if (attr == "DomainName")
                return name + ".s3." + p.url_suffix();
            if (attr == "RegionalDomainName")
                return name + ".s3." + p.region + "." + p.url_suffix();
            if (attr == "WebsiteURL")
                return "http://" + name + ".s3-website-" + p.region + "." + p.url_suffix();
        }
        if (type == "AWS::CloudFront::Distribution" && attr == "DomainName")
            return "d" + stable_id(id, 13, lower_alnum) + ".cloudfront.net";
        if (type.starts_with("AWS::CloudFront::") && attr == "Id")
            return stable_id(id, 14, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789");
        fail(path,
             "Fn::GetAtt " + id + "." + attr + ": chatd knows no attribute '" + attr + "' of " +
                 (type.empty() ? "this resource" : type));
    }

    /// Ref: a parameter, a pseudo parameter or a resource; nothing for AWS::NoValue.
    std::optional<json::value> ref(std::string const& name, std::string const& path)
    {
        if (auto it = out_.parameters.find(name); it != out_.parameters.end())
            return it->second;
        auto const& p = out_.pseudo;
        if (name == "AWS::NoValue")
            return std::nullopt;
        if (name == "AWS::Region")
            return json::string(p.region);
        if (name == "AWS::AccountId")
            return json::string(p.account_id);
        if (name == "AWS::StackName")
            return json::string(p.stack_name);
        if (name == "AWS::StackId")
            return json::string("arn:" + p.partition() + ":cloudformation:" + p.region + ":" +
                                p.account_id + ":stack/" + p.stack_name +
                                "/51af3dc0-da77-11e4-872e-1234567db123");
        if (name == "AWS::Partition")
            return json::string(p.partition());
        if (name == "AWS::URLSuffix")
            return json::string(p.url_suffix());
        if (name == "AWS::NotificationARNs")
            return json::array();
        if (auto const* r = raw_resource(name))
            return json::string(ref_resource(name, *r));
        fail(path, "Ref to '" + name + "': no parameter or resource of that name");
    }

    std::string text_value(json::value const& v, std::string const& path, std::string_view what)
    {
        auto r = value(v, path);
        auto t = r ? text_of(*r) : std::nullopt;
        if (!t)
            fail(path, std::string(what) + " must be a string");
        return *t;
    }

    std::string sub(json::value const& arg, std::string const& path)
    {
        std::string text;
        json::object const* vars = nullptr;
        if (arg.is_array()) {
            auto const& a = list_of(arg, path, 2, 2);
            if (!a[0].is_string() || !a[1].is_object())
                fail(path, "takes a string, or a list of a string and a mapping of variables");
            text = a[0].get_string();
            vars = &a[1].get_object();
        } else if (arg.is_string()) {
            text = arg.get_string();
        } else {
            fail(path, "takes a string, or a list of a string and a mapping of variables");
        }
        std::string out;
        std::size_t i = 0;
        while (i < text.size()) {
            auto open = text.find("${", i);
            if (open == std::string::npos) {
                out.append(text, i, std::string::npos);
                break;
            }
            out.append(text, i, open - i);
            auto close = text.find('}', open);
            if (close == std::string::npos)
                fail(path, "'${' without a closing '}' in \"" + text + "\"");
            auto name = text.substr(open + 2, close - open - 2);
            i = close + 1;
            if (!name.empty() && name[0] == '!') {
                out.append("${").append(name, 1, std::string::npos).append("}");
                continue;
            }
            auto var_path = path + " ${" + name + "}";
            if (vars && vars->contains(name)) {
                out += text_value(vars->at(name), var_path, "a variable of Fn::Sub");
            } else if (auto dot = name.find('.'); dot != std::string::npos &&
                                                  !out_.parameters.count(name) &&
                                                  !name.starts_with("AWS::")) {
                out += get_att(name.substr(0, dot), name.substr(dot + 1), var_path);
            } else {
                auto v = ref(name, var_path);
                auto t = v ? text_of(*v) : std::nullopt;
                if (!t)
                    fail(var_path,
                         "'" + name + "' is not a string (a list parameter cannot go in Fn::Sub)");
                out += *t;
            }
        }
        return out;
    }

    std::vector<std::string>
    string_list(json::value const& v, std::string const& path, std::string_view what)
    {
        auto r = value(v, path);
        if (!r || !r->is_array())
            fail(path, std::string(what) + " must be a list");
        std::vector<std::string> out;
        for (std::size_t i = 0; i < r->get_array().size(); ++i) {
            auto t = text_of(r->get_array()[i]);
            if (!t)
                fail(index_path(path, i), std::string(what) + " must hold strings");
            out.push_back(*t);
        }
        return out;
    }

    /// An intrinsic function's value; nothing when it is Ref AWS::NoValue (or an If that
    /// chose it).
    std::optional<json::value>
    call(std::string_view fn, json::value const& arg, std::string const& path)
    {
        auto here = join_path(path, fn);
        if (fn == "Ref") {
            auto name =
                arg.is_string() ? std::optional<std::string>(arg.get_string()) : std::nullopt;
            if (!name)
                fail(here, "takes the name of a parameter or resource");
            return ref(*name, here);
        }
        if (fn == "Fn::GetAtt") {
            std::string id;
            std::string attr;
            if (arg.is_string()) {
                std::string s(arg.get_string());
                auto dot = s.find('.');
                if (dot == std::string::npos)
                    fail(here, "takes Resource.Attribute or [Resource, Attribute]");
                id = s.substr(0, dot);
                attr = s.substr(dot + 1);
            } else {
                auto const& a = list_of(arg, here, 2, 2);
                if (!a[0].is_string())
                    fail(here, "takes Resource.Attribute or [Resource, Attribute]");
                id = a[0].get_string();
                attr = text_value(a[1], index_path(here, 1), "the attribute");
            }
            return json::string(get_att(id, attr, here));
        }
        if (fn == "Fn::Sub")
            return json::string(sub(arg, here));
        if (fn == "Fn::Join") {
            auto const& a = list_of(arg, here, 2, 2);
            if (!a[0].is_string())
                fail(index_path(here, 0), "the delimiter must be a literal string");
            std::string out;
            auto items = string_list(a[1], index_path(here, 1), "what Fn::Join joins");
            for (std::size_t i = 0; i < items.size(); ++i)
                out += (i ? std::string(a[0].get_string()) : std::string()) + items[i];
            return json::string(out);
        }
        if (fn == "Fn::Select") {
            auto const& a = list_of(arg, here, 2, 2);
            auto index = text_value(a[0], index_path(here, 0), "the index");
            std::size_t k = 0;
            auto r = std::from_chars(index.data(), index.data() + index.size(), k);
            if (r.ec != std::errc{} || r.ptr != index.data() + index.size())
                fail(index_path(here, 0), "the index must be a whole number");
            auto list = value(a[1], index_path(here, 1));
            if (!list || !list->is_array())
                fail(index_path(here, 1), "Fn::Select picks from a list");
            if (k >= list->get_array().size() || list->get_array()[k].is_null())
                fail(here,
                     "index " + index + " is out of range (the list has " +
                         std::to_string(list->get_array().size()) + " items)");
            return list->get_array()[k];
        }
        if (fn == "Fn::Split") {
            auto const& a = list_of(arg, here, 2, 2);
            if (!a[0].is_string() || a[0].get_string().empty())
                fail(index_path(here, 0), "the delimiter must be a literal, non-empty string");
            std::string delim(a[0].get_string());
            auto source = text_value(a[1], index_path(here, 1), "what Fn::Split splits");
            json::array out;
            std::size_t start = 0;
            while (true) {
                auto at = source.find(delim, start);
                out.emplace_back(source.substr(start, at - start));
                if (at == std::string::npos)
                    break;
                start = at + delim.size();
            }
            return out;
        }
        if (fn == "Fn::If") {
            auto const& a = list_of(arg, here, 3, 3);
            auto name = text_of(a[0]);
            if (!name)
                fail(index_path(here, 0), "must name a condition");
            bool c = condition(*name, index_path(here, 0));
            return value(a[c ? 1 : 2], index_path(here, c ? 1 : 2));
        }
        if (fn == "Fn::Equals" || fn == "Fn::Not" || fn == "Fn::And" || fn == "Fn::Or" ||
            fn == "Condition") {
            json::object o;
            o[fn] = arg;
            return json::value(truth(o, path));
        }
        if (fn == "Fn::FindInMap") {
            auto const& a = list_of(arg, here, 3, 3);
            auto map = text_value(a[0], index_path(here, 0), "the map name");
            auto top = text_value(a[1], index_path(here, 1), "the top-level key");
            auto second = text_value(a[2], index_path(here, 2), "the second-level key");
            auto const* maps = section("Mappings");
            auto const* m = maps ? maps->if_contains(map) : nullptr;
            if (!m || !m->is_object())
                fail(here, "no mapping named '" + map + "' in Mappings");
            auto const* t = m->get_object().if_contains(top);
            if (!t || !t->is_object())
                fail(here, "mapping '" + map + "' has no key '" + top + "'");
            auto const* s = t->get_object().if_contains(second);
            if (!s)
                fail(here, "mapping '" + map + "." + top + "' has no key '" + second + "'");
            return *s;
        }
        if (fn == "Fn::Base64")
            return json::string(base64(text_value(arg, here, "what Fn::Base64 encodes")));
        if (fn == "Fn::GetAZs") {
            auto region = text_value(arg, here, "the region");
            if (region.empty())
                region = out_.pseudo.region;
            json::array out;
            for (char z : std::string_view("abc"))
                out.emplace_back(region + z);
            return out;
        }
        if (fn == "Fn::ImportValue")
            fail(here,
                 "imports another stack's export, which a local stack cannot see: pass "
                 "the value in as a parameter instead");
        fail(here, "chatd does not evaluate " + std::string(fn));
    }

    /// Evaluate every intrinsic in `v`; nothing when `v` itself is AWS::NoValue. Members and
    /// items that are AWS::NoValue are left out of their object or list.
    std::optional<json::value> value(json::value const& v, std::string const& path)
    {
        if (auto fn = function_name(v))
            return call(*fn, v.get_object().begin()->value(), path);
        if (v.is_object()) {
            json::object out;
            for (auto const& kv : v.get_object()) {
                if (auto r = value(kv.value(), join_path(path, kv.key())))
                    out[kv.key()] = std::move(*r);
            }
            return out;
        }
        if (v.is_array()) {
            json::array out;
            for (std::size_t i = 0; i < v.get_array().size(); ++i) {
                if (auto r = value(v.get_array()[i], index_path(path, i)))
                    out.push_back(std::move(*r));
            }
            return out;
        }
        return v;
    }

    json::object const& doc_;
    stack_options const& opt_;
    stack& out_;
    json::object const* resources_ = nullptr;
    std::set<std::string> condition_stack_;
    std::set<std::string> ref_stack_;
};

} // namespace

std::string pseudo_parameters::partition() const
{
    if (region.starts_with("cn-"))
        return "aws-cn";
    if (region.starts_with("us-gov-"))
        return "aws-us-gov";
    return "aws";
}

std::string pseudo_parameters::url_suffix() const
{
    return region.starts_with("cn-") ? "amazonaws.com.cn" : "amazonaws.com";
}

resource const* stack::find(std::string const& logical_id) const
{
    for (auto const& r : resources)
        if (r.logical_id == logical_id)
            return &r;
    return nullptr;
}

std::variant<stack, std::string>
resolve(json::value const& document, std::string const& name, stack_options const& opt)
{
    if (!document.is_object())
        return name + ": a template is a mapping (AWSTemplateFormatVersion, Resources, ...)";
    stack out;
    out.pseudo = opt.pseudo;
    try {
        resolver(document.get_object(), opt, out).run();
    } catch (template_error const& e) {
        return name + ": " + e.path + ": " + e.what;
    }
    return out;
}

} // namespace chatd::cfn
