#include "ops/config.hpp"

#include <chatd/core/chars.hpp>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <string_view>
#include <variant>

namespace chatd::server {
namespace {

using setter = std::function<std::optional<std::string>(config&, std::string const&)>;
using shower = std::function<std::string(config const&)>;

struct option
{
    char const* flag;
    char const* env;
    char const* help; ///< what it means; usage() adds the default
    setter set;
    shower shown; ///< the value as a user would write it; nothing for settings that are off
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

/// How a setting is named and described.
struct names
{
    char const* flag;
    char const* env;
    char const* help;
};

// Setters, one per kind of value. Each checks the text, stores it, or says what is wrong.

/// Any text but the empty string.
option text(names n,
            std::string config::*field,
            char const* empty_error = "must not be empty",
            bool off_by_default = false)
{
    return {n.flag,
            n.env,
            n.help,
            [=](config& c, std::string const& v) -> std::optional<std::string> {
                if (v.empty())
                    return empty_error;
                c.*field = v;
                return std::nullopt;
            },
            off_by_default ? shower() : [=](config const& c) { return c.*field; }};
}

/// One of a fixed list of words.
option one_of(names n, std::string config::*field, std::vector<std::string> words)
{
    std::string error = "must be ";
    for (std::size_t i = 0; i < words.size(); ++i)
        error += (i == 0 ? "" : i + 1 == words.size() ? " or " : ", ") + words[i];
    return {n.flag,
            n.env,
            n.help,
            [=](config& c, std::string const& v) -> std::optional<std::string> {
                for (auto const& w : words)
                    if (v == w) {
                        c.*field = v;
                        return std::nullopt;
                    }
                return error;
            },
            [=](config const& c) {
                return c.*field;
            }};
}

/// A whole number (of bytes, of instances) within [lo, hi].
option whole(names n, std::size_t config::*field, std::size_t lo, std::size_t hi)
{
    return {n.flag,
            n.env,
            n.help,
            [=](config& c, std::string const& v) { return to_number(v, lo, hi, c.*field); },
            [=](config const& c) {
                return std::to_string(c.*field);
            }};
}

/// Seconds, stored as milliseconds within [lo_ms, hi_ms].
option seconds(names n, std::int64_t config::*field, std::int64_t lo_ms, std::int64_t hi_ms)
{
    return {n.flag,
            n.env,
            n.help,
            [=](config& c, std::string const& v) { return to_millis(v, lo_ms, hi_ms, c.*field); },
            [=](config const& c) {
                auto ms = c.*field;
                auto s = std::to_string(ms / 1000);
                if (ms % 1000 != 0) {
                    auto frac = std::to_string(1000 + ms % 1000).substr(1);
                    s += "." + frac.substr(0, frac.find_last_not_of('0') + 1);
                }
                return s;
            }};
}

/// Text whose characters all pass `ok`, of a length within [lo, hi].
option word(names n,
            std::string config::*field,
            std::size_t lo,
            std::size_t hi,
            bool (*ok)(char),
            char const* error)
{
    return {n.flag,
            n.env,
            n.help,
            [=](config& c, std::string const& v) -> std::optional<std::string> {
                if (v.size() < lo || v.size() > hi || !std::all_of(v.begin(), v.end(), ok))
                    return error;
                c.*field = v;
                return std::nullopt;
            },
            [=](config const& c) {
                return c.*field;
            }};
}

bool is_region_char(char c)
{
    return core::is_ascii_lower_alnum(c) || c == '-';
}

/// "Key=Value Key2=Value2": each pair replaces an earlier value of the same key.
std::optional<std::string> add_overrides(config& cfg, std::string const& v)
{
    std::size_t i = 0;
    bool any = false;
    while (i < v.size()) {
        auto start = v.find_first_not_of(" \t", i);
        if (start == std::string::npos)
            break;
        auto end = v.find_first_of(" \t", start);
        auto pair = v.substr(start, end == std::string::npos ? std::string::npos : end - start);
        i = end == std::string::npos ? v.size() : end;
        auto eq = pair.find('=');
        if (eq == std::string::npos || eq == 0)
            return "'" + pair + "' is not Key=Value";
        auto key = pair.substr(0, eq);
        std::erase_if(cfg.parameter_overrides, [&](auto const& kv) { return kv.first == key; });
        cfg.parameter_overrides.emplace_back(key, pair.substr(eq + 1));
        any = true;
    }
    if (!any)
        return "must be Key=Value pairs";
    return std::nullopt;
}

/// --stage: remembers that it was given, so that a template's own stage does not replace it.
option stage_option()
{
    auto o = word({"--stage", "CHATD_STAGE", "stage name: ws://HOST:PORT/STAGE"},
                  &config::stage,
                  1,
                  128,
                  core::is_base64url_char,
                  "must be 1-128 characters of A-Z a-z 0-9 - _");
    auto set = o.set;
    o.set = [set](config& c, std::string const& v) {
        auto err = set(c, v);
        if (!err)
            c.stage_given = true;
        return err;
    };
    return o;
}

std::vector<option> const& options()
{
    using c = config;
    constexpr bool off = true;
    static std::vector<option> const list = {
        text({"--host", "CHATD_HOST", "address to listen on; 0.0.0.0 for all"}, &c::host),
        {"--port",
         "CHATD_PORT",
         "TCP port; 0 picks a free one and prints it",
         [](config& cfg, std::string const& v) -> std::optional<std::string> {
             std::size_t n = 0;
             if (auto err = to_number(v, 0, 65535, n))
                 return err;
             cfg.port = static_cast<std::uint16_t>(n);
             return std::nullopt;
         },
         [](config const& cfg) {
             return std::to_string(cfg.port);
         }},
        text({"--db", "CHATD_DB", "SQLite database file; :memory: for none"}, &c::db),
        one_of({"--durability",
                "CHATD_DURABILITY",
                "full: a commit waits for the disk; normal: survives a crash of chatd, not of "
                "the machine, and commits faster"},
               &c::durability,
               {"full", "normal"}),
        stage_option(),
        text({"--static", "CHATD_STATIC", "directory of the web client"}, &c::static_dir),
        word({"--api-id", "CHATD_API_ID", "requestContext.apiId: 10 lower-case letters/digits"},
             &c::api_id,
             10,
             10,
             core::is_ascii_lower_alnum,
             "must be exactly 10 lower-case letters or digits"),
        whole({"--max-message-bytes", "CHATD_MAX_MESSAGE_BYTES", "largest chat message in bytes"},
              &c::max_text_bytes,
              1,
              120 * 1024),
        whole({"--max-queued-bytes",
               "CHATD_MAX_QUEUED_BYTES",
               "bytes of frames a client may leave unread before it is dropped"},
              &c::write_queue_bytes,
              64 * 1024,
              std::size_t(1) << 32),
        text({"--routes",
              "CHATD_ROUTES",
              "JSON file with the route selection expression and routes (default: the chat app)"},
             &c::routes_file,
             "must not be empty",
             off),
        text({"--template",
              "CHATD_TEMPLATE",
              "run the serverless app of a SAM or CloudFormation template (YAML or JSON): its "
              "WebSocket API, its Lambda functions"},
             &c::template_file,
             "must name a file",
             off),
        {"--parameter-overrides",
         "CHATD_PARAMETER_OVERRIDES",
         "the template's parameters, 'Key=Value Key2=Value2' (may be given more than once)",
         [](config& cfg, std::string const& v) -> std::optional<std::string> {
             return add_overrides(cfg, v);
         },
         {}},
        word({"--region",
              "CHATD_REGION",
              "AWS::Region of the template's stack, and AWS_REGION of its functions"},
             &c::region,
             1,
             32,
             is_region_char,
             "must be a region name such as us-east-1"),
        text({"--dynamodb-data",
              "CHATD_DYNAMODB_DATA",
              "directory of the template's DynamoDB tables, or 'memory' to keep none (default: "
              "beside --db)"},
             &c::dynamodb_data,
             "must name a directory or be memory",
             off),
        whole({"--max-instances",
               "CHATD_MAX_INSTANCES",
               "instances of one function that may run at once (Lambda's concurrency)"},
              &c::max_instances,
              1,
              1000),
        seconds({"--instance-idle-timeout",
                 "CHATD_INSTANCE_IDLE_TIMEOUT",
                 "seconds a function instance may stay idle before it is stopped"},
                &c::instance_idle_ms,
                100,
                86400000),
        seconds({"--integration-timeout",
                 "CHATD_INTEGRATION_TIMEOUT",
                 "seconds an integration (HTTP, or a template's function) may take"},
                &c::integration_timeout_ms,
                50,
                900000),
        seconds({"--idle-timeout",
                 "CHATD_IDLE_TIMEOUT",
                 "seconds without traffic before a client is closed with 1001"},
                &c::idle_timeout_ms,
                100,
                86400000),
        seconds({"--max-connection-duration",
                 "CHATD_MAX_CONNECTION_DURATION",
                 "seconds a connection may last before it is closed with 1001"},
                &c::max_duration_ms,
                100,
                604800000),
        text({"--event-log",
              "CHATD_EVENT_LOG",
              "write every event handed to an integration as a JSON line to FILE (- for stderr)"},
             &c::event_log,
             "must not be empty",
             off),
        one_of({"--log-level",
                "CHATD_LOG_LEVEL",
                "debug, info, warn or error; info logs one line per event"},
               &c::log_level,
               {"debug", "info", "warn", "error"}),
        one_of({"--log-format", "CHATD_LOG_FORMAT", "text or json: one line per log entry"},
               &c::log_format,
               {"text", "json"}),
        text({"--tls-cert",
              "CHATD_TLS_CERT",
              "PEM certificate (chain) file: serve wss:// and https:// (needs --tls-key)"},
             &c::tls_cert,
             "must name a file",
             off),
        text({"--tls-key", "CHATD_TLS_KEY", "PEM private key file for --tls-cert"},
             &c::tls_key,
             "must name a file",
             off),
        text({"--config",
              "CHATD_CONFIG",
              "read settings from FILE: lines 'key = value', keys as the flags without --"},
             &c::config_file,
             "must name a file",
             off),
    };
    return list;
}

} // namespace

std::string usage()
{
    std::string out =
        "chatd " CHATD_VERSION " - a local stand-in for an API Gateway WebSocket chat backend\n\n"
        "usage: chatd [options]\n\noptions (each also read from the environment variable shown):\n";
    config const defaults;
    for (auto const& o : options()) {
        std::string left = std::string("  ") + o.flag + " VALUE";
        left.resize(std::max<std::size_t>(left.size() + 2, 30), ' ');
        out += left + o.help;
        if (o.shown)
            out += " (default " + o.shown(defaults) + ")";
        out.append("  [").append(o.env).append("]\n");
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

namespace {

/// The settings file named by the last --config flag, else by CHATD_CONFIG; empty for none.
std::string config_file_named(std::vector<std::string> const& args,
                              char const* (*getenv_fn)(char const*))
{
    std::string file;
    if (char const* v = getenv_fn("CHATD_CONFIG"))
        file = v;
    for (std::size_t i = 0; i < args.size(); ++i) {
        if (args[i] == "--config" && i + 1 < args.size())
            file = args[i + 1];
        else if (args[i].rfind("--config=", 0) == 0)
            file = args[i].substr(9);
    }
    return file;
}

/// Apply every CHATD_* variable that is set; returns the error line, if any.
std::optional<std::string> apply_environment(config& cfg, char const* (*getenv_fn)(char const*))
{
    for (auto const& o : options()) {
        if (char const* v = getenv_fn(o.env)) {
            if (auto err = o.set(cfg, v))
                return std::string(o.env) + "='" + v + "': " + *err;
        }
    }
    return std::nullopt;
}

/// What the command line asked for besides settings.
enum class request
{
    run,
    help,
    version
};

/// Apply the flags, "--flag value" or "--flag=value"; --help and --version stop at once.
std::variant<request, std::string> apply_flags(config& cfg, std::vector<std::string> const& args)
{
    for (std::size_t i = 0; i < args.size(); ++i) {
        std::string arg = args[i];
        if (arg == "--help" || arg == "-h")
            return request::help;
        if (arg == "--version")
            return request::version;
        std::optional<std::string> value;
        if (auto eq = arg.find('='); eq != std::string::npos && arg.rfind("--", 0) == 0) {
            value = arg.substr(eq + 1);
            arg = arg.substr(0, eq);
        }
        option const* found = find_option(arg);
        if (!found)
            return "unknown option '" + arg + "' (see chatd --help)";
        if (!value) {
            if (i + 1 >= args.size())
                return arg + " needs a value";
            value = args[++i];
        }
        if (auto err = found->set(cfg, *value))
            return arg + " '" + *value + "': " + *err;
    }
    return request::run;
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
    // The file first, then the environment, then the flags: each overrides the one before.
    if (auto file = config_file_named(args, getenv_fn); !file.empty()) {
        if (auto err = apply_file(cfg, file))
            return fail(*err);
        cfg.config_file = file;
    }
    if (auto err = apply_environment(cfg, getenv_fn))
        return fail(*err);
    auto flags = apply_flags(cfg, args);
    if (auto* err = std::get_if<std::string>(&flags))
        return fail(*err);
    switch (std::get<request>(flags)) {
    case request::help:
        r.output = usage();
        return r;
    case request::version:
        r.output = "chatd " CHATD_VERSION "\n";
        return r;
    case request::run:
        break;
    }
    if (cfg.tls_cert.empty() != cfg.tls_key.empty())
        return fail(cfg.tls_cert.empty() ? "--tls-key needs --tls-cert as well"
                                         : "--tls-cert needs --tls-key as well");
    r.cfg = std::move(cfg);
    return r;
}

} // namespace chatd::server
