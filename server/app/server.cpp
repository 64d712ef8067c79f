#include "app/server.hpp"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>

#include "ops/log.hpp"
#include <pthread.h>

namespace chatd::server {
namespace {

/// Most client events (per connection) waiting on an integration before reading pauses.
constexpr std::size_t max_in_flight_per_connection = 64;

/// Most storage tasks queued at once; past it new events fail fast ("Internal server error").
constexpr std::size_t max_storage_queue = 100000;

/// How long shutdown waits for clients to answer the close before dropping them.
constexpr auto close_grace = std::chrono::seconds(3);

/// How long shutdown waits for $disconnect integrations before exiting anyway.
constexpr auto give_up_after = std::chrono::seconds(10);

/// How often the heap is looked at, and how much resident memory the allocator may hold unused
/// before it is given back (see heap_trimmer).
constexpr auto heap_trim_period = std::chrono::seconds(5);
constexpr std::size_t heap_trim_threshold = std::size_t(32) << 20;

log::level parse_level(std::string const& s)
{
    if (s == "debug")
        return log::level::debug;
    if (s == "warn")
        return log::level::warn;
    if (s == "error")
        return log::level::error;
    return log::level::info;
}

} // namespace

server::server(config cfg)
    : cfg_(std::move(cfg))
    , trimmer_(heap_trim_threshold, stats_)
{
    log::set_level(parse_level(cfg_.log_level));
    log::set_format(cfg_.log_format == "json" ? log::format::json : log::format::text);
    storage_ = std::make_unique<storage_worker>(
        cfg_.db,
        cfg_.durability == "normal" ? storage::durability::normal : storage::durability::full,
        max_storage_queue,
        ioc_.get_executor(),
        stats_);

    core::chat_options opts;
    opts.max_text_bytes = cfg_.max_text_bytes;
    app_ = std::make_unique<core::chat_app>(opts, clock_, ids_);
    chat_ = std::make_unique<chat_integration>(*app_, *storage_);

    if (!cfg_.event_log.empty()) {
        try {
            events_ = std::make_unique<line_writer>(cfg_.event_log);
        } catch (std::exception const& e) {
            throw startup_error("--event-log: " + std::string(e.what()));
        }
    }
    if (cfg_.template_file.empty()) {
        make_gateway(load_api());
    } else {
        auto app = load_template_app(cfg_);
        unpacked_code_ = app.unpacked;
        cfg_.stage = app.stage;
        stage_variables_ = app.stage_variables;
        cfg_.api_id = app.api_id;
        if (app.tables_json != "[]") {
            auto dir = !cfg_.dynamodb_data.empty() ? cfg_.dynamodb_data
                       : cfg_.db == ":memory:"     ? std::string("memory")
                                                   : cfg_.db + ".dynamodb";
            if (dir == "memory")
                dir.clear();
            try {
                dynamodb_ = std::make_unique<dynamodb_local>(app.node,
                                                             CHATD_DEFAULT_RUNTIMES_DIR,
                                                             app.tables_json,
                                                             app.ttl,
                                                             dir,
                                                             cfg_.region);
            } catch (std::exception const& e) {
                throw startup_error("--template " + cfg_.template_file + ": " + e.what());
            }
            log::info("template: DynamoDB tables at " + dynamodb_->endpoint() + " (dynalite, " +
                      (dir.empty() ? std::string("in memory") : "data in " + dir) + ")");
            for (auto& f : app.functions) {
                bool set =
                    std::any_of(f.environment.begin(), f.environment.end(), [](auto const& kv) {
                        return kv.first == "AWS_ENDPOINT_URL_DYNAMODB";
                    });
                if (!set)
                    f.environment.emplace_back("AWS_ENDPOINT_URL_DYNAMODB", dynamodb_->endpoint());
            }
        }
        spawner_ = std::make_unique<net::thread_pool>(1);
        net::post(*spawner_, [] { pthread_setname_np(pthread_self(), "chatd-spawn"); });
        for (auto& f : app.functions) {
            auto name = f.name;
            lambdas_[name] = std::make_unique<lambda_function>(
                ioc_.get_executor(), spawner_->get_executor(), std::move(f));
        }
        for (auto const& note : app.notes)
            log::info("template: " + note);
        make_gateway(app.api);
    }

    net::post(files_, [] { pthread_setname_np(pthread_self(), "chatd-files"); });
    routes_ = std::make_unique<http_routes>(
        *gateway_, ids_, stats_, cfg_.static_dir, files_.get_executor());
    http_ = std::make_unique<http_context>(http_context{*routes_, nullptr});
    if (!cfg_.tls_cert.empty()) {
        tls_ = load_tls(cfg_.tls_cert, cfg_.tls_key);
        http_->tls = tls_.get();
    }
    auto address = net::ip::make_address(cfg_.host);
    listener_ = std::make_unique<listener>(ioc_, tcp::endpoint(address, cfg_.port), *http_, stats_);
    if (!lambdas_.empty() && !tls_) {
        // Function code reaches @connections through chatd's plain port, whatever host name it
        // built (see runtimes/node/ric.mjs).
        auto port = std::to_string(listener_->local_endpoint().port());
        auto hosts = "127.0.0.1:" + port + ",localhost:" + port + ",[::1]:" + port;
        if (cfg_.host != "0.0.0.0" && cfg_.host != "::" && cfg_.host != "127.0.0.1")
            hosts += "," + cfg_.host + ":" + port;
        for (auto& [name, fn] : lambdas_)
            fn->set_management("http://127.0.0.1:" + port, hosts, cfg_.stage);
    }
}

route_table server::make_routes(api_definition const& api)
{
    // One integration per route: the chat app, or one http_integration per distinct URL.
    route_table routes;
    for (auto const& [key, spec] : api.routes) {
        integration* target = chat_.get();
        if (spec.integration.starts_with("lambda:")) {
            target = lambdas_.at(spec.integration.substr(7)).get();
        } else if (spec.integration != "chat") {
            auto& slot = http_integrations_[spec.integration];
            if (!slot)
                slot = std::make_unique<http_integration>(
                    ioc_.get_executor(),
                    *parse_http_url(spec.integration),
                    std::chrono::milliseconds(cfg_.integration_timeout_ms));
            target = slot.get();
        }
        raw_invoker* authorizer = nullptr;
        if (spec.authorizer.starts_with("lambda:"))
            authorizer = lambdas_.at(spec.authorizer.substr(7)).get();
        routes[key] =
            route_target{target, spec.two_way, {}, nullptr, authorizer, spec.identity_sources};
    }
    return routes;
}

void server::make_gateway(api_definition const& api)
{
    std::set<std::string, std::less<>> keys;
    for (auto const& [key, spec] : api.routes)
        keys.insert(key);
    auto expr = core::selection_expression::parse(api.selection_expression);
    gateway_options options{cfg_.stage,
                            cfg_.api_id,
                            ws_session::limits{cfg_.write_queue_bytes,
                                               max_in_flight_per_connection,
                                               std::chrono::milliseconds(cfg_.idle_timeout_ms),
                                               std::chrono::milliseconds(cfg_.max_duration_ms)},
                            events_.get(),
                            cfg_.region,
                            "123456789012",
                            stage_variables_};
    gateway_ = std::make_unique<gateway>(ioc_.get_executor(),
                                         std::move(options),
                                         core::route_selector(*expr, std::move(keys)),
                                         make_routes(api),
                                         ids_,
                                         clock_,
                                         stats_);
}

void server::arm_heap_trim()
{
    // The I/O thread only runs the timer; the look at the heap blocks, on the file thread.
    trim_timer_.expires_after(heap_trim_period);
    trim_timer_.async_wait([this](error_code ec) {
        if (ec)
            return;
        if (trimmer_.begin())
            net::post(files_, [this] { trimmer_.run(); });
        arm_heap_trim();
    });
}

std::unique_ptr<net::ssl::context> server::load_tls(std::string const& cert, std::string const& key)
{
    auto ctx = std::make_unique<net::ssl::context>(net::ssl::context::tls_server);
    ctx->set_options(net::ssl::context::default_workarounds | net::ssl::context::no_sslv2 |
                     net::ssl::context::no_sslv3 | net::ssl::context::no_tlsv1 |
                     net::ssl::context::no_tlsv1_1 | net::ssl::context::single_dh_use);
    // The errors name the setting and say what OpenSSL found wrong.
    auto why = [](boost::system::system_error const& e) {
        auto text = e.code().message();
        return text.empty() ? std::string(e.what()) : text;
    };
    try {
        ctx->use_certificate_chain_file(cert);
    } catch (boost::system::system_error const& e) {
        throw startup_error("--tls-cert '" + cert + "': not a readable PEM certificate (" + why(e) +
                            ")");
    }
    try {
        ctx->use_private_key_file(key, net::ssl::context::pem);
    } catch (boost::system::system_error const& e) {
        throw startup_error("--tls-key '" + key + "': not a readable PEM private key for " +
                            "the certificate (" + why(e) + ")");
    }
    return ctx;
}

api_definition server::load_api() const
{
    if (cfg_.routes_file.empty())
        return chat_api();
    std::ifstream in(cfg_.routes_file);
    if (!in)
        throw startup_error("--routes '" + cfg_.routes_file + "': cannot read the file");
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto parsed = parse_api_definition(text);
    if (auto const* why = std::get_if<std::string>(&parsed))
        throw startup_error("--routes '" + cfg_.routes_file + "': " + *why);
    return std::get<api_definition>(std::move(parsed));
}

server::~server()
{
    if (storage_)
        storage_->stop();
    files_.join();
    for (auto& [name, fn] : lambdas_)
        fn->stop(); // queued process starts now start nothing
    if (spawner_)
        spawner_->join();
    lambdas_.clear();
    if (!unpacked_code_.empty()) {
        std::error_code ec;
        std::filesystem::remove_all(unpacked_code_, ec);
    }
    log::stop();
}

int server::run()
{
    signals_.async_wait([this](error_code ec, int sig) {
        if (!ec)
            on_signal(sig);
    });
    listener_->run();
    // From here on, log lines are written by a thread of their own.
    log::start(&stats_.log_lines_dropped);
    arm_heap_trim();
    ioc_.run();
    // Every $disconnect has run: the functions' processes can go.
    for (auto& [name, fn] : lambdas_)
        fn->stop();
    // Every $disconnect has been queued by now; finish and commit them before exiting.
    storage_->stop();
    if (events_)
        events_->close();
    log::info("chatd stopped");
    log::stop();
    return 0;
}

void server::on_signal(int sig)
{
    if (stopping_) {
        log::warn("second signal: exiting now");
        std::_Exit(1);
    }
    stopping_ = true;
    log::info(std::string("signal ") + std::to_string(sig) + ": shutting down");
    // Keep listening for a second signal.
    signals_.async_wait([this](error_code ec, int s) {
        if (!ec)
            on_signal(s);
    });
    listener_->stop();
    trim_timer_.cancel();
    gateway_->begin_shutdown();
    auto now = std::chrono::steady_clock::now();
    poll_shutdown(now + close_grace, now + give_up_after, false);
}

void server::poll_shutdown(std::chrono::steady_clock::time_point abort_at,
                           std::chrono::steady_clock::time_point give_up_at,
                           bool aborted)
{
    auto now = std::chrono::steady_clock::now();
    // Done when every client is gone and every $disconnect has been handed back, or when the
    // integrations take too long.
    if ((gateway_->open_count() == 0 && gateway_->pending_count() == 0) || now >= give_up_at) {
        if (gateway_->pending_count() > 0)
            log::warn(std::to_string(gateway_->pending_count()) +
                      " integration calls still running at shutdown were abandoned");
        signals_.cancel();
        ioc_.stop();
        return;
    }
    if (!aborted && now >= abort_at) {
        gateway_->abort_all();
        aborted = true;
    }
    shutdown_timer_.expires_after(std::chrono::milliseconds(10));
    shutdown_timer_.async_wait([this, abort_at, give_up_at, aborted](error_code ec) {
        if (!ec)
            poll_shutdown(abort_at, give_up_at, aborted);
    });
}

} // namespace chatd::server
