#pragma once

#include <chatd/core/chat.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace chatd::server {

/// Everything chatd can be told at start. Each field has a flag, an environment variable and
/// a key in the --config file: a flag beats the variable, the variable beats the file, the
/// file beats the default.
struct config
{
    std::string host = "127.0.0.1";
    std::uint16_t port = 8080;
    std::string db = "chatd.db";
    std::string durability = "full"; ///< "full" or "normal" (SQLite's synchronous setting)
    std::string stage = "dev";
    std::string static_dir = CHATD_DEFAULT_STATIC_DIR;
    std::string api_id = "chatdlocal";
    std::size_t max_text_bytes = core::chat_options{}.max_text_bytes; ///< --max-message-bytes
    std::string log_level = "info";
    std::string log_format = "text"; ///< "text" or "json"
    std::string config_file;         ///< where the settings came from, if a file
    std::string tls_cert;            ///< PEM certificate chain; with tls_key: wss:// and https://
    std::string tls_key;             ///< PEM private key
    std::string routes_file;         ///< empty: the chat app's routes
    std::string template_file;       ///< --template: run a SAM/CloudFormation template's app
    std::vector<std::pair<std::string, std::string>> parameter_overrides; ///< Key=Value pairs
    std::string region = "us-east-1"; ///< AWS::Region of the template's stack
    bool stage_given = false;         ///< --stage was set (a template's stage otherwise)
    /// --dynamodb-data: the directory of a template's DynamoDB tables, or "memory" for none;
    /// empty: `<db>.dynamodb` beside the database (in memory when --db is :memory:).
    std::string dynamodb_data;
    std::size_t max_instances = 10;              ///< instances of one function at once
    std::int64_t instance_idle_ms = 300000;      ///< an idle function instance is stopped after
    std::string event_log;                       ///< empty: off; "-": stderr
    std::int64_t integration_timeout_ms = 29000; ///< API Gateway's maximum
    std::int64_t idle_timeout_ms = 600000;       ///< API Gateway: 10 minutes
    std::int64_t max_duration_ms = 7200000;      ///< API Gateway: 2 hours

    /// Frames (bytes) a connection may have queued for sending before chatd gives up on it.
    std::size_t write_queue_bytes = 4 * 1024 * 1024;
};

/// What parse_config decided.
struct parse_result
{
    std::optional<config> cfg; ///< set when chatd should run
    std::string output;        ///< --help / --version text, or the error line
    int exit_code = 0;         ///< when cfg is empty: 0 for help/version, 2 for an error
};

/// Read the --config file (or CHATD_CONFIG), CHATD_* environment variables and flags (argv).
/// `getenv` is injected for tests.
parse_result parse_config(std::vector<std::string> const& args,
                          char const* (*getenv_fn)(char const*));

/// The --help text.
std::string usage();

} // namespace chatd::server
