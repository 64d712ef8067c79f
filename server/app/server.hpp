#pragma once

#include <chatd/core/chat.hpp>
#include <chatd/core/clock.hpp>
#include <chatd/core/ids.hpp>

#include <map>
#include <memory>
#include <stdexcept>

#include "app/http_routes.hpp"
#include "app/startup_error.hpp"
#include "app/template_app.hpp"
#include "gateway/api_definition.hpp"
#include "gateway/gateway.hpp"
#include "integrations/chat_integration.hpp"
#include "integrations/dynamodb_local.hpp"
#include "integrations/http_integration.hpp"
#include "integrations/lambda_function.hpp"
#include "integrations/storage_worker.hpp"
#include "ops/config.hpp"
#include "ops/heap_trim.hpp"
#include "ops/line_writer.hpp"
#include "ops/metrics.hpp"
#include "transport/http_session.hpp"
#include "transport/listener.hpp"
#include "transport/net.hpp"

namespace chatd::server {

/// chatd, assembled: one I/O thread (the caller of run()), one storage thread, one file
/// thread (static files and heap trimming). Construction opens the database and binds the port, so
/// errors surface early.
class server
{
public:
    explicit server(config cfg);
    ~server();

    /// The bound endpoint.
    tcp::endpoint endpoint() const { return listener_->local_endpoint(); }

    /// The stage clients connect to: --stage, or the template's.
    std::string const& stage() const { return cfg_.stage; }

    /// Serve until SIGINT/SIGTERM, then shut down cleanly: every client gets 1001 "Going
    /// away", $disconnect runs for each, storage is flushed. A second signal exits at once.
    /// Returns the process exit code.
    int run();

private:
    void on_signal(int sig);
    void poll_shutdown(std::chrono::steady_clock::time_point abort_at,
                       std::chrono::steady_clock::time_point give_up_at,
                       bool aborted);
    api_definition load_api() const;
    route_table make_routes(api_definition const& api);
    void make_gateway(api_definition const& api);
    void arm_heap_trim();
    static std::unique_ptr<net::ssl::context> load_tls(std::string const& cert,
                                                       std::string const& key);

    config cfg_;
    core::field_list stage_variables_; ///< a template stage's, for the gateway
    metrics stats_;                    // before everything that reports into it
    core::system_clock clock_;
    core::system_id_source ids_;
    heap_trimmer trimmer_; ///< its work runs on files_
    net::io_context ioc_{1};
    net::thread_pool files_{1};
    net::steady_timer trim_timer_{ioc_};
    std::unique_ptr<storage_worker> storage_;
    std::unique_ptr<core::chat_app> app_;
    std::unique_ptr<chat_integration> chat_;
    std::map<std::string, std::unique_ptr<http_integration>> http_integrations_;
    /// Starts function processes (posix_spawn blocks); only with --template.
    std::unique_ptr<net::thread_pool> spawner_;
    std::unique_ptr<dynamodb_local> dynamodb_; ///< --template's tables, when it has some
    std::map<std::string, std::unique_ptr<lambda_function>> lambdas_; ///< --template's functions
    std::string unpacked_code_; ///< where --template's .zip packages were unpacked
    std::unique_ptr<line_writer> events_;
    std::unique_ptr<gateway> gateway_;
    std::unique_ptr<http_routes> routes_;
    std::unique_ptr<net::ssl::context> tls_; ///< --tls-cert/--tls-key, when given
    std::unique_ptr<http_context> http_;
    std::unique_ptr<listener> listener_;
    // SIGHUP too: a closed terminal gets the same clean stop, not an abrupt end.
    net::signal_set signals_{ioc_, SIGINT, SIGTERM, SIGHUP};
    net::steady_timer shutdown_timer_{ioc_};
    bool stopping_ = false;
};

} // namespace chatd::server
