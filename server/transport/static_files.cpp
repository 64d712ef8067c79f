#include "transport/static_files.hpp"

#include <chatd/core/event.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
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

namespace {

constexpr char const* day_names[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
constexpr char const* month_names[] = {
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

} // namespace

std::string format_http_date(std::int64_t epoch_seconds)
{
    std::time_t t = static_cast<std::time_t>(epoch_seconds);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[40];
    std::snprintf(buf,
                  sizeof buf,
                  "%s, %02d %s %04d %02d:%02d:%02d GMT",
                  day_names[tm.tm_wday],
                  tm.tm_mday,
                  month_names[tm.tm_mon],
                  tm.tm_year + 1900,
                  tm.tm_hour,
                  tm.tm_min,
                  tm.tm_sec);
    return buf;
}

std::optional<std::int64_t> parse_http_date(std::string_view text)
{
    // IMF-fixdate only: "Sun, 06 Nov 1994 08:49:37 GMT" (29 characters).
    if (text.size() != 29 || text.substr(3, 2) != ", " || text.substr(25) != " GMT")
        return std::nullopt;
    std::tm tm{};
    char month[4] = {};
    int used = 0;
    std::string copy(text.substr(5, 20)); // "06 Nov 1994 08:49:37"
    if (std::sscanf(copy.c_str(),
                    "%2d %3c %4d %2d:%2d:%2d%n",
                    &tm.tm_mday,
                    month,
                    &tm.tm_year,
                    &tm.tm_hour,
                    &tm.tm_min,
                    &tm.tm_sec,
                    &used) != 6 ||
        used != 20)
        return std::nullopt;
    auto m = std::find_if(std::begin(month_names), std::end(month_names), [&](char const* n) {
        return std::string_view(n) == month;
    });
    if (m == std::end(month_names) || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 ||
        tm.tm_min > 59 || tm.tm_sec > 60)
        return std::nullopt;
    tm.tm_mon = int(m - std::begin(month_names));
    tm.tm_year -= 1900;
    return std::int64_t(timegm(&tm));
}

bool etag_matches(std::string_view header, std::string_view etag)
{
    auto opaque = [](std::string_view t) {
        return t.starts_with("W/") ? t.substr(2) : t;
    };
    while (!header.empty()) {
        auto comma = header.find(',');
        auto item = header.substr(0, comma);
        header = comma == std::string_view::npos ? std::string_view{} : header.substr(comma + 1);
        while (!item.empty() && (item.front() == ' ' || item.front() == '\t'))
            item.remove_prefix(1);
        while (!item.empty() && (item.back() == ' ' || item.back() == '\t'))
            item.remove_suffix(1);
        if (item == "*" || (!item.empty() && opaque(item) == opaque(etag)))
            return true;
    }
    return false;
}

static_file load_static(fs::path const& root, std::string_view target, conditional const& cond)
{
    auto resolved = resolve_static(root, target);
    if (auto const* status = std::get_if<int>(&resolved))
        return static_file{*status,
                           "text/plain; charset=utf-8",
                           *status == 400 ? "bad path\n" : "not found\n",
                           {},
                           {}};
    auto const& file = std::get<fs::path>(resolved);
    std::error_code ec;
    auto size = fs::file_size(file, ec);
    auto mtime = fs::last_write_time(file, ec);
    if (ec)
        return static_file{404, "text/plain; charset=utf-8", "not found\n", {}, {}};
    auto since_epoch = std::chrono::duration_cast<std::chrono::nanoseconds>(
        std::chrono::file_clock::to_sys(mtime).time_since_epoch());
    char tag[64];
    std::snprintf(tag,
                  sizeof tag,
                  "\"%llx-%llx\"",
                  static_cast<unsigned long long>(size),
                  static_cast<unsigned long long>(since_epoch.count()));
    static_file out;
    out.content_type = std::string(mime_type(file.string()));
    out.etag = tag;
    auto seconds = std::chrono::duration_cast<std::chrono::seconds>(since_epoch).count();
    out.last_modified = format_http_date(seconds);
    // RFC 9110: If-None-Match wins; If-Modified-Since counts only without it.
    bool fresh = false;
    if (!cond.if_none_match.empty())
        fresh = etag_matches(cond.if_none_match, out.etag);
    else if (auto since = parse_http_date(cond.if_modified_since))
        fresh = seconds <= *since;
    if (fresh) {
        out.status = 304;
        return out;
    }
    std::ifstream in(file, std::ios::binary);
    if (!in)
        return static_file{404, "text/plain; charset=utf-8", "not found\n", {}, {}};
    out.body.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    return out;
}

} // namespace chatd::server
