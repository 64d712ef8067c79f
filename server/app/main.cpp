// chatd: a local stand-in for an Amazon API Gateway WebSocket API with a built-in chat app.
#include <chatd/core/store.hpp>

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <sstream>

#include "app/server.hpp"
#include "ops/config.hpp"
#include "ops/descriptors.hpp"

int main(int argc, char** argv)
{
    using namespace chatd::server;
    auto parsed = parse_config(std::vector<std::string>(argv + 1, argv + argc),
                               [](char const* name) -> char const* { return std::getenv(name); });
    if (!parsed.cfg) {
        (parsed.exit_code == 0 ? std::cout : std::cerr)
            << parsed.output << (parsed.exit_code ? "\n" : "");
        return parsed.exit_code;
    }
    auto const& cfg = *parsed.cfg;
    // Before any thread exists (the storage thread starts with the server).
    auto files = prepare_descriptors();
    if (files < 4096)
        std::cerr << "chatd: warning: the open-file limit (ulimit -n) is " << files
                  << ", so at most about " << (files > 32 ? files - 32 : 0)
                  << " clients can be connected at once; raise it to hold more\n";
    try {
        server srv(cfg);
        auto ep = srv.endpoint();
        std::ostringstream where; // "127.0.0.1:8080" or "[::1]:8080"
        if (ep.address().is_v6())
            where << '[' << ep.address().to_string() << ']';
        else
            where << ep.address().to_string();
        where << ':' << ep.port();
        bool tls = !cfg.tls_cert.empty();
        std::cout << "chatd " CHATD_VERSION " listening on " << (tls ? "wss://" : "ws://")
                  << where.str() << "/" << srv.stage() << " (" << (tls ? "https://" : "http://")
                  << where.str() << "/, database " << cfg.db << ")" << std::endl;
        return srv.run();
    } catch (startup_error const& e) {
        std::cerr << "chatd: " << e.what() << "\n";
        return 2;
    } catch (chatd::core::store_error const& e) {
        std::cerr << "chatd: --db '" << cfg.db << "': " << e.what() << "\n";
        return 2;
    } catch (boost::system::system_error const& e) {
        std::cerr << "chatd: cannot listen on " << cfg.host << ":" << cfg.port << ": "
                  << e.code().message() << "\n";
        return 2;
    } catch (std::exception const& e) {
        std::cerr << "chatd: " << e.what() << "\n";
        return 1;
    }
}
