#pragma once

#include <chatd/core/ids.hpp>

#include <filesystem>

#include "gateway/gateway.hpp"
#include "ops/metrics.hpp"
#include "transport/http_session.hpp"

namespace chatd::server {

/// chatd's HTTP surface, in the order requests are matched: /chatd.json (what the web client
/// needs to find its endpoint), /healthz, /metrics, the @connections management API, the
/// WebSocket URL (upgrades go to the gateway; a plain GET gets 426), then the web client's
/// static files (read on the file thread).
class http_routes final : public http_handler
{
public:
    http_routes(gateway& gw,
                core::id_source& ids,
                metrics& stats,
                std::filesystem::path static_root,
                net::any_io_executor files);

    std::size_t body_limit(std::string_view target) const override;
    http_response too_large(http::request_header<> const& req, std::uint64_t length) override;
    net::awaitable<http_response> serve(http_request const& req) override;
    net::awaitable<std::optional<http_response>> upgrade(http_request req,
                                                         transport& stream) override;

private:
    http_response chatd_json(unsigned version) const;
    http_response management(http_request const& req);
    net::awaitable<http_response> static_file(http_request const& req);

    gateway& gw_;
    core::id_source& ids_;
    metrics& stats_;
    std::filesystem::path static_root_;
    net::any_io_executor files_; ///< where blocking file reads run
};

} // namespace chatd::server
