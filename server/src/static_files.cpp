#include "static_files.hpp"

#include <chatd/core/event.hpp>

#include <fstream>
#include <iterator>
#include <sstream>

namespace chatd::server {

namespace fs = std::filesystem;

std::variant<fs::path, int> resolve_static(fs::path const& root, std::string_view target)
{
    auto path = target.substr(0, target.find('?'));
    auto decoded = core::percent_decode(path);
    if (!decoded || decoded->empty() || decoded->front() != '/')
        return 400;
    // Check every segment after decoding, so %2e%2e and %2f tricks are caught too.
    fs::path rel;
    std::string_view rest = *decoded;
    while (!rest.empty()) {
        auto slash = rest.find('/');
        auto seg = rest.substr(0, slash);
        rest = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash + 1);
        if (seg.empty())
            continue;
        if (seg == "." || seg == ".." || seg.find('\\') != std::string_view::npos ||
            seg.find('\0') != std::string_view::npos)
            return 400;
        rel /= std::string(seg);
    }
    std::error_code ec;
    auto base = fs::canonical(root, ec);
    if (ec)
        return 404;
    auto full = base / rel;
    if (fs::is_directory(full, ec))
        full /= "index.html";
    auto real = fs::canonical(full, ec);
    if (ec || !fs::is_regular_file(real, ec))
        return 404;
    // A symlink must not lead out of the root either.
    auto [root_end, unused] = std::mismatch(base.begin(), base.end(), real.begin(), real.end());
    if (root_end != base.end())
        return 404;
    return real;
}

std::string_view mime_type(std::string_view path)
{
    auto dot = path.rfind('.');
    auto ext = dot == std::string_view::npos ? std::string_view{} : path.substr(dot + 1);
    if (ext == "html" || ext == "htm")
        return "text/html; charset=utf-8";
    if (ext == "js" || ext == "mjs")
        return "text/javascript; charset=utf-8";
    if (ext == "css")
        return "text/css; charset=utf-8";
    if (ext == "json")
        return "application/json";
    if (ext == "svg")
        return "image/svg+xml";
    if (ext == "png")
        return "image/png";
    if (ext == "jpg" || ext == "jpeg")
        return "image/jpeg";
    if (ext == "gif")
        return "image/gif";
    if (ext == "ico")
        return "image/x-icon";
    if (ext == "webp")
        return "image/webp";
    if (ext == "woff2")
        return "font/woff2";
    if (ext == "txt" || ext == "md")
        return "text/plain; charset=utf-8";
    if (ext == "map")
        return "application/json";
    return "application/octet-stream";
}

static_file load_static(fs::path const& root, std::string_view target)
{
    auto resolved = resolve_static(root, target);
    if (auto const* status = std::get_if<int>(&resolved))
        return static_file{
            *status, "text/plain; charset=utf-8", *status == 400 ? "bad path\n" : "not found\n"};
    auto const& file = std::get<fs::path>(resolved);
    std::ifstream in(file, std::ios::binary);
    if (!in)
        return static_file{404, "text/plain; charset=utf-8", "not found\n"};
    std::string body((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    return static_file{200, std::string(mime_type(file.string())), std::move(body)};
}

} // namespace chatd::server
