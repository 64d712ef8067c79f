#pragma once

#include <cstddef>
#include <functional>
#include <string_view>

namespace chatd::core {

/// Hash for unordered containers keyed by std::string that lets them be searched with a
/// string_view (pair it with std::equal_to<>): no temporary string, so no allocation, per
/// lookup. Connection ids are 16 characters, one more than libstdc++ keeps inline.
struct string_hash
{
    using is_transparent = void;

    std::size_t operator()(std::string_view s) const noexcept
    {
        return std::hash<std::string_view>{}(s);
    }
};

} // namespace chatd::core
