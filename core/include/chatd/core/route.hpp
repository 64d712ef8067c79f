#pragma once

#include <boost/json/value.hpp>

#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace chatd::core {

/// A parsed route selection expression: "$request.body.action", a dotted path such as
/// "$request.body.service.do", or a template mixing static text and "${request.body.x}".
class selection_expression
{
public:
    /// Parse `text`. On failure returns nullopt and, when `error` is given, says why.
    static std::optional<selection_expression> parse(std::string_view text,
                                                     std::string* error = nullptr);

    /// The value for a message body. `body` is the parsed frame, or nullptr when the frame is
    /// not JSON. A path that is missing, or a body that is not an object, gives "".
    std::string evaluate(boost::json::value const* body) const;

    /// evaluate() for raw frame text (parsed here; non-JSON counts as "not JSON").
    std::string evaluate(std::string_view body) const;

private:
    struct part
    {
        bool is_path = false;
        std::string text;              ///< static text
        std::vector<std::string> path; ///< keys below $request.body
    };

    std::vector<part> parts_;
};

/// Turn a selected JSON value into text the way API Gateway does: strings as they are, numbers
/// and booleans as their text, arrays as "[a, b]", objects as "{k=v}", null as "".
std::string stringify_selection(boost::json::value const& v);

/// Route selection: an expression plus the route keys that exist.
class route_selector
{
public:
    route_selector(selection_expression expr, std::set<std::string, std::less<>> keys);

    /// The route key for a frame: the custom route whose key equals the evaluated value
    /// (exact, case-sensitive), else "$default" when that route exists, else nullopt (the
    /// gateway then answers with the Forbidden frame). "$connect"/"$disconnect" are never
    /// chosen from a body.
    std::optional<std::string> select(std::string_view body) const;

    bool has(std::string_view key) const { return keys_.find(key) != keys_.end(); }

private:
    selection_expression expr_;
    std::set<std::string, std::less<>> keys_;
};

} // namespace chatd::core
