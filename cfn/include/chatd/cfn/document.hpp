#pragma once

#include <boost/json/value.hpp>

#include <string>
#include <string_view>
#include <variant>

namespace chatd::cfn {

/// A CloudFormation or SAM template read into JSON values, the form CloudFormation itself
/// works on. JSON templates are read as they are. YAML is read with yaml-cpp and turned into
/// the same shape the AWS tools give it: a short-form tag `!Sub x` becomes {"Fn::Sub": x}
/// (`!Ref` and `!Condition` keep their own names), a scalar `!GetAtt A.B.C` becomes
/// ["A", "B.C"], every other scalar keeps its source text as a string, and an empty value is
/// null. `name` is used in error messages: "template.yaml:12:5: <what>".
std::variant<boost::json::value, std::string> parse_document(std::string_view text,
                                                             std::string const& name);

/// parse_document() of a file's contents; an unreadable file is an error like any other.
std::variant<boost::json::value, std::string> load_document(std::string const& path);

} // namespace chatd::cfn
