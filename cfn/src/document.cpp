#include <chatd/cfn/document.hpp>

#include <boost/json/stream_parser.hpp>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include <yaml-cpp/yaml.h>

namespace chatd::cfn {
namespace {

namespace json = boost::json;

/// An error at a place in the source, 1-based as editors count.
struct located_error
{
    std::string what;
    int line = 0;
    int column = 0;
};

std::string where(std::string const& name, int line, int column)
{
    return name + ":" + std::to_string(line) + ":" + std::to_string(column) + ": ";
}

/// The JSON form of a short-form tag's node, e.g. "!Sub" -> {"Fn::Sub": value}.
json::value tagged(std::string_view tag, YAML::Node const& node, json::value inner)
{
    auto name = tag.substr(1);
    json::object o;
    if (name == "Ref" || name == "Condition") {
        o[name] = std::move(inner);
    } else if (name == "GetAtt" && node.IsScalar()) {
        // "A.B.C" names attribute "B.C" of resource "A": split at the first dot only.
        auto const& text = node.Scalar();
        auto dot = text.find('.');
        json::array parts;
        parts.emplace_back(text.substr(0, dot));
        parts.emplace_back(dot == std::string::npos ? std::string() : text.substr(dot + 1));
        o["Fn::GetAtt"] = std::move(parts);
    } else {
        o[std::string("Fn::") + std::string(name)] = std::move(inner);
    }
    return o;
}

json::value to_json(YAML::Node const& node)
{
    json::value out;
    switch (node.Type()) {
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
        break;
    case YAML::NodeType::Scalar:
        out = json::string(node.Scalar());
        break;
    case YAML::NodeType::Sequence: {
        json::array a;
        for (auto const& item : node)
            a.push_back(to_json(item));
        out = std::move(a);
        break;
    }
    case YAML::NodeType::Map: {
        json::object o;
        for (auto const& kv : node) {
            if (!kv.first.IsScalar())
                throw located_error{"a mapping key must be a plain string",
                                    kv.first.Mark().line + 1,
                                    kv.first.Mark().column + 1};
            auto const& key = kv.first.Scalar();
            if (o.contains(key))
                throw located_error{"the key '" + key + "' appears twice in this mapping",
                                    kv.first.Mark().line + 1,
                                    kv.first.Mark().column + 1};
            o[key] = to_json(kv.second);
        }
        out = std::move(o);
        break;
    }
    }
    // "?" is an untagged plain scalar, "!" a quoted one; "tag:yaml.org,2002:..." are YAML's
    // own (!!str and the like). Anything else written "!Name" is a CloudFormation short form.
    auto const& tag = node.Tag();
    if (tag.size() > 1 && tag[0] == '!' && tag[1] != '!')
        return tagged(tag, node, std::move(out));
    return out;
}

std::variant<json::value, std::string> parse_json(std::string_view text, std::string const& name)
{
    json::stream_parser p;
    boost::system::error_code ec;
    auto used = p.write(text.data(), text.size(), ec);
    if (!ec)
        p.finish(ec);
    if (!ec)
        return p.release();
    int line = 1;
    int column = 1;
    for (std::size_t i = 0; i < used && i < text.size(); ++i) {
        if (text[i] == '\n') {
            ++line;
            column = 1;
        } else {
            ++column;
        }
    }
    return where(name, line, column) + "not valid JSON: " + ec.message();
}

} // namespace

std::variant<json::value, std::string> parse_document(std::string_view text,
                                                      std::string const& name)
{
    auto first = text.find_first_not_of(" \t\r\n");
    if (first == std::string_view::npos)
        return name + ": the template is empty";
    if (text[first] == '{')
        return parse_json(text, name);
    try {
        auto root = YAML::Load(std::string(text));
        if (!root.IsMap())
            return name + ": a template is a mapping (AWSTemplateFormatVersion, Resources, ...)";
        return to_json(root);
    } catch (YAML::ParserException const& e) {
        return where(name, e.mark.line + 1, e.mark.column + 1) + "not valid YAML: " + e.msg;
    } catch (located_error const& e) {
        return where(name, e.line, e.column) + e.what;
    } catch (YAML::Exception const& e) {
        return name + ": not valid YAML: " + e.msg;
    }
}

std::variant<json::value, std::string> load_document(std::string const& path)
{
    std::ifstream in(path, std::ios::binary);
    if (!in)
        return path + ": cannot read it: " + std::strerror(errno);
    std::ostringstream text;
    text << in.rdbuf();
    return parse_document(text.str(), path);
}

} // namespace chatd::cfn
