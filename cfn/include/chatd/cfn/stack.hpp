#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <map>
#include <string>
#include <variant>
#include <vector>

namespace chatd::cfn {

/// The values CloudFormation's pseudo parameters take for a local stack.
struct pseudo_parameters
{
    std::string region = "us-east-1";
    std::string account_id = "123456789012";
    std::string stack_name = "local";

    std::string partition() const;  ///< aws, aws-cn or aws-us-gov, from the region
    std::string url_suffix() const; ///< amazonaws.com, or amazonaws.com.cn in China
};

struct stack_options
{
    pseudo_parameters pseudo;
    /// --parameter-overrides: each must name a parameter of the template.
    std::map<std::string, std::string> parameter_overrides;
};

/// One resource whose Condition (if any) holds, with every intrinsic function in its
/// Properties evaluated and every `Ref: AWS::NoValue` property removed.
struct resource
{
    std::string logical_id;
    std::string type;
    boost::json::object properties;
};

/// A template made concrete, as CloudFormation would deploy it with these parameters.
struct stack
{
    pseudo_parameters pseudo;
    bool sam = false; ///< Transform: AWS::Serverless-2016-10-31
    /// Parameter values: strings, or arrays of strings for the list types.
    std::map<std::string, boost::json::value> parameters;
    std::vector<resource> resources;        ///< in template order
    std::vector<std::string> left_out;      ///< resources whose Condition is false
    std::map<std::string, bool> conditions; ///< every condition, evaluated
    /// What Ref gives for each resource kept: a function or table name, an API id, ...
    std::map<std::string, std::string> ref_values;

    resource const* find(std::string const& logical_id) const;
};

/// Evaluate a template read by parse_document(): parameters (defaults, overrides and their
/// constraints), pseudo parameters, Mappings, Conditions, SAM's Globals.Function, and the
/// intrinsic functions Ref, Fn::GetAtt, Fn::Sub, Fn::Join, Fn::Select, Fn::Split, Fn::If,
/// Fn::Equals, Fn::Not, Fn::And, Fn::Or, Fn::FindInMap, Fn::Base64 and Fn::GetAZs. An error
/// names the template, where in it, and what is wrong: "template.yaml: Resources.Chat.
/// Properties.Environment: Ref to 'Nope': no parameter or resource of that name".
std::variant<stack, std::string>
resolve(boost::json::value const& document, std::string const& name, stack_options const& opt);

} // namespace chatd::cfn
