#include "ops/config.hpp"

#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <string_view>

namespace chatd::server {
namespace {

struct option
{
    char const* flag;
    char const* env;
    char const* help;
    std::function<std::optional<std::string>(config&, std::string const&)> set;
};

std::optional<std::string>
to_number(std::string const& v, std::size_t lo, std::size_t hi, std::size_t& out)
{
    std::size_t n = 0;
    auto r = std::from_chars(v.data(), v.data() + v.size(), n);
    if (r.ec != std::errc{} || r.ptr != v.data() + v.size() || n < lo || n > hi)
        return "must be a whole number from " + std::to_string(lo) + " to " + std::to_string(hi);
    out = n;
    return std::nullopt;
}

/// Seconds with an optional fraction ("29", "0.25") -> milliseconds within [lo_ms, hi_ms].
std::optional<std::string>
to_millis(std::string const& v, std::int64_t lo_ms, std::int64_t hi_ms, std::int64_t& out)
{
    auto bad = [&] {
        return "must be a number of seconds (up to 3 decimals) from " + std::to_string(lo_ms) +
               " ms to " + std::to_string(hi_ms / 1000) + " s";
    };
    auto dot = v.find('.');
    auto whole = v.substr(0, dot);
    auto frac = dot == std::string::npos ? std::string() : v.substr(dot + 1);
    if ((whole.empty() && frac.empty()) || whole.size() > 9 || frac.size() > 3 ||
        whole.find_first_not_of("0123456789") != std::string::npos ||
        frac.find_first_not_of("0123456789") != std::string::npos)
        return bad();
    frac.resize(3, '0');
    std::int64_t ms = (whole.empty() ? 0 : std::stoll(whole)) * 1000 + std::stoll(frac);
    if (ms < lo_ms || ms > hi_ms)
        return bad();
    out = ms;
    return std::nullopt;
}

bool is_stage_name(std::string const& s)
{
    if (s.empty() || s.size() > 128)
        return false;
    for (char c : s)
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_'))
            return false;
    return true;
}

std::vector<option> const& options()
{
    static std::vector<option> const list = {
        {"--host",
         "CHATD_HOST",
         "address to listen on (default 127.0.0.1; 0.0.0.0 for all)",
         [](config& c, std::string const& v) -> std::optional<std::string> {
             if (v.empty())
                 return "must not be empty";
             c.host = v;
             return std::nullopt;
         }},
        {"--port",
         "CHATD_PORT",
         "TCP port (default 8080; 0 picks a free one and prints it)",
         [](config& c, std::string const& v) -> std::optional<std::string> {
             std::size_t n = 0;
             if (auto err = to_number(v, 0, 65535, n))
                 return err;
             c.port = static_cast<std::uint16_t>(n);
             return std::nullopt;
         }},
        {"--db",
         "CHATD_DB",
         "SQLite database file (default chatd.db; :memory: for none)",
         [](config& c, std::string const& v) -> std::optional<std::string> {
             if (v.empty())
                 return "must not be empty";
             c.db = v;
             return std::nullopt;
         }},
        {"--durability",
         "CHATD_DURABILITY",
         "full: a commit waits for the disk (default); normal: survives a crash of chatd, not "
         "of the machine, and commits faster",
         [](config& c, std::string const& v) -> std::optional<std::string> {
             if (v != "full" && v != "normal")
                 return "must be full or normal";
             c.durability = v;
             return std::nullopt;
         }},
        {"--stage",
         "CHATD_STAGE",
         "stage name: ws://HOST:PORT/STAGE (default dev)",
         [](config& c, std::string const& v) -> std::optional<std::string> {
             if (!is_stage_name(v))
                 return "must be 1-128 characters of A-Z a-z 0-9 - _";
             c.stage = v;
             return std::nullopt;
         }},
        {"--static",
         "CHATD_STATIC",
         "directory of the web client (default: the repo's static/)",
         [](config& c, std::string const& v) -> std::optional<std::string> {
             if (v.empty())
                 return "must not be empty";
             c.static_dir = v;
             return std::nullopt;
         }},
        {"--api-id",
         "CHATD_API_ID",
         "requestContext.apiId: 10 lower-case letters/digits (default chatdlocal)",
         [](config& c, std::string const& v) -> std::optional<std::string> {
             bool ok = v.size() == 10;
             for (char ch : v)
                 ok = ok && ((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9'));
             if (!ok)
                 return "must be exactly 10 lower-case letters or digits";
             c.api_id = v;
             return std::nullopt;
         }},
        {"--max-message-bytes",
         "CHATD_MAX_MESSAGE_BYTES",
         "largest chat message in bytes (default 8192)",
         [](config& c, std::string const& v) -> std::optional<std::string> {
             return to_number(v, 1, 120 * 1024, c.max_text_bytes);
         }},
        {"--max-queued-bytes",
         "CHATD_MAX_QUEUED_BYTES",
         "bytes of frames a client may leave unread before it is dropped (default 4194304)",
         [](config& c, std::string const& v) -> std::optional<std::string> {
             return to_number(v, 64 * 1024, std::size_t(1) << 32, c.write_queue_bytes);
         }},
        {"--routes",
         "CHATD_ROUTES",
         "JSON file with the route selection expression and routes (default: the chat app)",
         [](config& c, std::string const& v) -> std::optional<std::string> {
             if (v.empty())
                 return "must not be empty";
             c.routes_file = v;
             return std::nullopt;
         }},
        {"--integration-timeout",
         "CHATD_INTEGRATION_TIMEOUT",
         "seconds an HTTP integration may take (default 29)",
         [](config& c, std::string const& v) {
             return to_millis(v, 50, 900000, c.integration_timeout_ms);
         }},
        {"--idle-timeout",
         "CHATD_IDLE_TIMEOUT",
         "seconds without traffic before a client is closed with 1001 (default 600)",
         [](config& c, std::string const& v) {
             return to_millis(v, 100, 86400000, c.idle_timeout_ms);
         }},
        {"--max-connection-duration",
         "CHATD_MAX_CONNECTION_DURATION",
         "seconds a connection may last before it is closed with 1001 (default 7200)",
         [](config& c, std::string const& v) {
             return to_millis(v, 100, 604800000, c.max_duration_ms);
         }},
        {"--event-log",
         "CHATD_EVENT_LOG",
         "write every event handed to an integration as a JSON line to FILE (- for stderr)",
         [](config& c, std::string const& v) -> std::optional<std::string> {
             if (v.empty())
                 return "must not be empty";
             c.event_log = v;
             return std::nullopt;
         }},
        {"--log-level",
         "CHATD_LOG_LEVEL",
         "debug, info, warn or error (default info; info logs one line per event)",
         [](config& c, std::string const& v) -> std::optional<std::string> {
             if (v != "debug" && v != "info" && v != "warn" && v != "error")
                 return "must be debug, info, warn or error";
             c.log_level = v;
             return std::nullopt;
         }},
        {"--log-format",
         "CHATD_LOG_FORMAT",
         "text or json: one line per log entry (default text)",
         [](config& c, std::string const& v) -> std::optional<std::string> {
             if (v != "text" && v != "json")
                 return "must be text or json";
             c.log_format = v;
             return std::nullopt;
         }},
        {"--tls-cert",
         "CHATD_TLS_CERT",
         "PEM certificate (chain) file: serve wss:// and https:// (needs --tls-key)",
         [](config& c, std::string const& v) -> std::optional<std::string> {
             if (v.empty())
                 return "must name a file";
             c.tls_cert = v;
             return std::nullopt;
         }},
        {"--tls-key",
         "CHATD_TLS_KEY",
         "PEM private key file for --tls-cert",
         [](config& c, std::string const& v) -> std::optional<std::string> {
             if (v.empty())
                 return "must name a file";
             c.tls_key = v;
             return std::nullopt;
         }},
        {"--config",
         "CHATD_CONFIG",
         "read settings from FILE: lines 'key = value', keys as the flags without --",
         [](config& c, std::string const& v) -> std::optional<std::string> {
             if (v.empty())
                 return "must name a file";
             c.config_file = v;
             return std::nullopt;
         }},
    };
    return list;
}

} // namespace

std::string usage()
{
    std::string out =
        "chatd " CHATD_VERSION " - a local stand-in for an API Gateway WebSocket chat backend\n\n"
        "usage: chatd [options]\n\noptions (each also read from the environment variable shown):\n";
    for (auto const& o : options()) {
        std::string left = std::string("  ") + o.flag + " VALUE";
        left.resize(std::max<std::size_t>(left.size() + 2, 30), ' ');
        out += left + o.help + "  [" + o.env + "]\n";
    }
    out += "  --help                      print this text\n"
           "  --version                   print the version\n";
    return out;
}

namespace {

std::string trim(std::string_view s)
{
    auto b = s.find_first_not_of(" \t\r");
    if (b == std::string_view::npos)
        return {};
    auto e = s.find_last_not_of(" \t\r");
    return std::string(s.substr(b, e - b + 1));
}

option const* find_option(std::string_view flag)
{
    for (auto const& o : options())
        if (flag == o.flag)
            return &o;
    return nullptr;
}

/// Apply a settings file: "key = value" lines, '#' comments, optional quotes around values.
/// Returns the error line, if any.
std::optional<std::string> apply_file(config& cfg, std::string const& path)
{
    std::ifstream in(path);
    if (!in)
        return "--config '" + path + "': cannot read it: " + std::strerror(errno);
    std::string line;
    int number = 0;
    while (std::getline(in, line)) {
        ++number;
        auto where = "--config '" + path + "' line " + std::to_string(number) + ": ";
        auto text = trim(line);
        if (text.empty() || text.front() == '#')
            continue;
        auto eq = text.find('=');
        if (eq == std::string::npos)
            return where + "expected 'key = value', got '" + text + "'";
        auto key = trim(std::string_view(text).substr(0, eq));
        auto value = trim(std::string_view(text).substr(eq + 1));
        if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') &&
            value.back() == value.front())
            value = value.substr(1, value.size() - 2);
        auto const* o = key.rfind("--", 0) == 0 ? nullptr : find_option("--" + key);
        if (!o)
            return where + "unknown key '" + key +
                   "' (the keys are the flags of chatd --help "
                   "without the leading --)";
        if (key == "config")
            return where + "a config file cannot name another config file";
        if (auto err = o->set(cfg, value))
            return where + key + " '" + value + "': " + *err;
    }
    return std::nullopt;
}

} // namespace

parse_result parse_config(std::vector<std::string> const& args,
                          char const* (*getenv_fn)(char const*))
{
    parse_result r;
    config cfg;
    auto fail = [&](std::string line) {
        r.output = "chatd: " + std::move(line);
        r.exit_code = 2;
        return r;
    };
    // The file first (named by the flag, else by CHATD_CONFIG), then the environment, then the
    // flags: each layer overrides the one before.
    std::string file;
    if (char const* v = getenv_fn("CHATD_CONFIG"))
        file = v;
    for (std::size_t i = 0; i < args.size(); ++i) {
        if (args[i] == "--config" && i + 1 < args.size())
            file = args[i + 1];
        else if (args[i].rfind("--config=", 0) == 0)
            file = args[i].substr(9);
    }
    if (!file.empty()) {
        if (auto err = apply_file(cfg, file))
            return fail(*err);
        cfg.config_file = file;
    }
    for (auto const& o : options()) {
        if (char const* v = getenv_fn(o.env)) {
            if (auto err = o.set(cfg, v))
                return fail(std::string(o.env) + "='" + v + "': " + *err);
        }
    }
    for (std::size_t i = 0; i < args.size(); ++i) {
        std::string arg = args[i];
        if (arg == "--help" || arg == "-h") {
            r.output = usage();
            return r;
        }
        if (arg == "--version") {
            r.output = "chatd " CHATD_VERSION "\n";
            return r;
        }
        std::string value;
        bool has_value = false;
        if (auto eq = arg.find('='); eq != std::string::npos && arg.rfind("--", 0) == 0) {
            value = arg.substr(eq + 1);
            arg = arg.substr(0, eq);
            has_value = true;
        }
        option const* found = find_option(arg);
        if (!found)
            return fail("unknown option '" + arg + "' (see chatd --help)");
        if (!has_value) {
            if (i + 1 >= args.size())
                return fail(arg + " needs a value");
            value = args[++i];
        }
        if (auto err = found->set(cfg, value))
            return fail(arg + " '" + value + "': " + *err);
    }
    if (cfg.tls_cert.empty() != cfg.tls_key.empty())
        return fail(cfg.tls_cert.empty() ? "--tls-key needs --tls-cert as well"
                                         : "--tls-cert needs --tls-key as well");
    r.cfg = std::move(cfg);
    return r;
}

} // namespace chatd::server
