#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <string>

#include "ops/config.hpp"

using namespace chatd::server;

namespace {

std::map<std::string, std::string> fake_env;

char const* lookup(char const* name)
{
    auto it = fake_env.find(name);
    return it == fake_env.end() ? nullptr : it->second.c_str();
}

parse_result parse(std::vector<std::string> args, std::map<std::string, std::string> env = {})
{
    fake_env = std::move(env);
    return parse_config(args, &lookup);
}

} // namespace

TEST_CASE("config: defaults")
{
    auto r = parse({});
    REQUIRE(r.cfg);
    CHECK(r.cfg->host == "127.0.0.1");
    CHECK(r.cfg->port == 8080);
    CHECK(r.cfg->db == "chatd.db");
    CHECK(r.cfg->stage == "dev");
    CHECK(r.cfg->api_id.size() == 10);
    CHECK(r.cfg->durability == "full");
    CHECK(parse({"--durability", "normal"}).cfg->durability == "normal");
}

TEST_CASE("config: flags beat environment variables - which beat defaults")
{
    auto r = parse({"--port", "9000", "--db=:memory:"},
                   {{"CHATD_PORT", "7000"}, {"CHATD_STAGE", "prod"}});
    REQUIRE(r.cfg);
    CHECK(r.cfg->port == 9000);
    CHECK(r.cfg->db == ":memory:");
    CHECK(r.cfg->stage == "prod");
    CHECK(parse({}, {{"CHATD_PORT", "0"}}).cfg->port == 0);
}

TEST_CASE("config: mistakes are one clear line and exit code 2")
{
    struct row
    {
        std::vector<std::string> args;
        std::map<std::string, std::string> env;
        char const* mentions;
    };

    row const rows[] = {
        {{"--port", "70000"}, {}, "--port"},
        {{"--port", "http"}, {}, "--port"},
        {{"--bogus"}, {}, "--bogus"},
        {{"--db"}, {}, "--db"},
        {{"--stage", "a/b"}, {}, "--stage"},
        {{"--api-id", "UPPERCASE1"}, {}, "--api-id"},
        {{"--max-message-bytes", "0"}, {}, "--max-message-bytes"},
        {{"--durability", "fast"}, {}, "--durability"},
        {{}, {{"CHATD_PORT", "-1"}}, "CHATD_PORT"},
    };
    for (auto const& r : rows) {
        auto p = parse(r.args, r.env);
        CAPTURE(r.mentions);
        CHECK_FALSE(p.cfg);
        CHECK(p.exit_code == 2);
        CHECK(p.output.find(r.mentions) != std::string::npos);
        CHECK(p.output.find('\n') == std::string::npos);
    }
}

TEST_CASE("config: --help and --version")
{
    auto h = parse({"--help"});
    CHECK_FALSE(h.cfg);
    CHECK(h.exit_code == 0);
    for (auto flag : {"--host", "--port", "--db", "--stage", "--static", "CHATD_PORT"})
        CHECK(h.output.find(flag) != std::string::npos);
    CHECK(parse({"--version"}).output.find("chatd ") == 0);
    // The defaults shown are the ones config{} starts from, written in one place.
    chatd::server::config const defaults;
    CHECK(h.output.find("largest chat message in bytes (default " +
                        std::to_string(defaults.max_text_bytes) + ")") != std::string::npos);
    CHECK(h.output.find("(default " + std::to_string(defaults.port) + ")") != std::string::npos);
    CHECK(h.output.find("closed with 1001 (default 600)") != std::string::npos);
}

namespace {

struct config_file
{
    std::string path;

    explicit config_file(std::string const& text)
    {
        path = (std::filesystem::temp_directory_path() /
                ("chatd-config-" + std::to_string(std::random_device{}()) + ".conf"))
                   .string();
        std::ofstream(path) << text;
    }

    ~config_file() { std::filesystem::remove(path); }
};

} // namespace

TEST_CASE("config: a file, then the environment, then flags")
{
    config_file f("# chatd settings\n"
                  "port = 9001\n"
                  "  db = \"/tmp/from-file.db\"  \n"
                  "stage = 'prod'\n"
                  "\n"
                  "idle-timeout = 30\n"
                  "log-format = json\n");
    auto r = parse({"--config", f.path});
    REQUIRE(r.cfg);
    CHECK(r.cfg->port == 9001);
    CHECK(r.cfg->db == "/tmp/from-file.db");
    CHECK(r.cfg->stage == "prod");
    CHECK(r.cfg->idle_timeout_ms == 30000);
    CHECK(r.cfg->log_format == "json");
    CHECK(r.cfg->host == "127.0.0.1"); // not in the file: the default
    CHECK(r.cfg->config_file == f.path);

    r = parse({"--config", f.path}, {{"CHATD_PORT", "9002"}});
    REQUIRE(r.cfg);
    CHECK(r.cfg->port == 9002);
    CHECK(r.cfg->stage == "prod");

    r = parse({"--config=" + f.path, "--port", "9003"}, {{"CHATD_PORT", "9002"}});
    REQUIRE(r.cfg);
    CHECK(r.cfg->port == 9003);

    // CHATD_CONFIG names the file when the flag does not.
    r = parse({}, {{"CHATD_CONFIG", f.path}});
    REQUIRE(r.cfg);
    CHECK(r.cfg->port == 9001);
}

TEST_CASE("config: file errors name the file - the line and the setting")
{
    {
        config_file f("port = 8080\nprot = 9000\n");
        auto r = parse({"--config", f.path});
        CHECK_FALSE(r.cfg);
        CHECK(r.exit_code == 2);
        CHECK(r.output.find("line 2: unknown key 'prot'") != std::string::npos);
        CHECK(r.output.find(f.path) != std::string::npos);
    }
    {
        config_file f("port = 70000\n");
        auto r = parse({"--config", f.path});
        CHECK(r.exit_code == 2);
        CHECK(r.output.find("line 1: port '70000': must be") != std::string::npos);
    }
    {
        config_file f("just words\n");
        CHECK(parse({"--config", f.path}).output.find("expected 'key = value'") !=
              std::string::npos);
    }
    {
        config_file f("config = other.conf\n");
        CHECK(parse({"--config", f.path}).output.find("cannot name another config file") !=
              std::string::npos);
    }
    {
        config_file f("--port = 1\n");
        CHECK(parse({"--config", f.path}).output.find("unknown key '--port'") != std::string::npos);
    }
    auto r = parse({"--config", "/nonexistent/chatd.conf"});
    CHECK(r.exit_code == 2);
    CHECK(r.output.find("cannot read it") != std::string::npos);
}

TEST_CASE("config: TLS needs both files - log format is text or json")
{
    CHECK(parse({"--tls-cert", "c.pem"}).output.find("--tls-cert needs --tls-key") !=
          std::string::npos);
    CHECK(parse({"--tls-key", "k.pem"}).output.find("--tls-key needs --tls-cert") !=
          std::string::npos);
    auto r = parse({"--tls-cert", "c.pem", "--tls-key", "k.pem"});
    REQUIRE(r.cfg);
    CHECK(r.cfg->tls_cert == "c.pem");
    CHECK(parse({"--log-format", "xml"}).exit_code == 2);
    CHECK(parse({}, {{"CHATD_LOG_FORMAT", "json"}}).cfg->log_format == "json");
}
