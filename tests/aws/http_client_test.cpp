// The HTTP client's promise about kept-alive connections: one the server has closed in the
// meantime (as happens to a Lambda environment frozen between invocations) is reopened and the
// request sent again, once; a connection that fails when fresh is an error.
#include <chatd/aws/http_client.hpp>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <doctest/doctest.h>

#include <atomic>
#include <thread>

namespace net = boost::asio;
using net::ip::tcp;

namespace {

/// A server on 127.0.0.1 that answers one request per connection with a keep-alive 200, then
/// closes the connection anyway. Counts the connections it accepted.
struct closing_server
{
    net::io_context ioc;
    tcp::acceptor acceptor{ioc, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0)};
    std::atomic<int> accepted{0};
    std::thread thread;

    explicit closing_server(int connections)
    {
        thread = std::thread([this, connections] {
            // Bounded: a client that stops coming back (a failing test) ends it in 10 s.
            acceptor.non_blocking(true);
            auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
            for (int i = 0; i < connections;) {
                tcp::socket s(ioc);
                boost::system::error_code ec;
                acceptor.accept(s, ec);
                if (ec == net::error::would_block) {
                    if (std::chrono::steady_clock::now() > deadline)
                        return;
                    std::this_thread::sleep_for(std::chrono::milliseconds(5));
                    continue;
                }
                s.non_blocking(false);
                ++accepted;
                net::streambuf buf;
                net::read_until(s, buf, "\r\n\r\n");
                std::string body = "n" + std::to_string(i);
                net::write(
                    s,
                    net::buffer("HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nContent-Length: " +
                                std::to_string(body.size()) + "\r\n\r\n" + body));
                // Give the client time to keep the connection, then drop it.
                std::this_thread::sleep_for(std::chrono::milliseconds(50));
                ++i;
            }
        });
    }

    ~closing_server() { thread.join(); }

    std::string url() const
    {
        return "http://127.0.0.1:" + std::to_string(acceptor.local_endpoint().port());
    }
};

chatd::aws::http_request get()
{
    chatd::aws::http_request req{chatd::aws::http::verb::get, "/", 11};
    req.set(chatd::aws::http::field::host, "127.0.0.1");
    return req;
}

} // namespace

TEST_CASE("http client: a kept-alive connection the server closed is reopened once")
{
    closing_server server(3);
    chatd::aws::blocking_http client(*chatd::aws::url::parse(server.url()), nullptr);
    for (int i = 0; i < 3; ++i) {
        auto res = client.send(get(), std::chrono::seconds(5));
        CHECK(res.result_int() == 200);
        CHECK(res.body() == "n" + std::to_string(i));
        std::this_thread::sleep_for(std::chrono::milliseconds(100)); // the server has closed it
    }
    CHECK(server.accepted == 3);
}

TEST_CASE("http client: nothing listening is an error, not a retry loop")
{
    net::io_context ioc;
    tcp::acceptor a(ioc, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
    auto port = a.local_endpoint().port();
    a.close();
    chatd::aws::blocking_http client(
        *chatd::aws::url::parse("http://127.0.0.1:" + std::to_string(port)), nullptr);
    CHECK_THROWS_AS(client.send(get(), std::chrono::seconds(2)), boost::system::system_error);
}
