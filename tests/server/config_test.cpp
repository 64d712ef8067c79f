#include <doctest/doctest.h>

#include <map>
#include <string>

#include "config.hpp"

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
}
