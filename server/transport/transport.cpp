#include "transport/transport.hpp"

namespace chatd::server {

transport::transport(tcp::socket plain)
    : s_(std::in_place_index<0>, std::move(plain))
{}

transport::transport(tls_stream tls)
    : s_(std::in_place_index<1>, std::move(tls))
{}

tcp::socket& transport::socket() noexcept
{
    if (auto* p = std::get_if<0>(&s_))
        return *p;
    return std::get<1>(s_).next_layer().socket();
}

std::string transport::remote_ip()
{
    return server::remote_ip(socket());
}

std::string remote_ip(tcp::socket& socket)
{
    error_code ec;
    auto ep = socket.remote_endpoint(ec);
    if (ec)
        return "";
    auto addr = ep.address();
    if (addr.is_v6() && addr.to_v6().is_v4_mapped())
        return net::ip::make_address_v4(net::ip::v4_mapped, addr.to_v6()).to_string();
    return addr.to_string();
}

std::string transport::local_port()
{
    error_code ec;
    auto ep = socket().local_endpoint(ec);
    return ec ? "" : std::to_string(ep.port());
}

void transport::start_reading()
{
    if (secure()) {
        tls_buffer_.reset(new unsigned char[tls_read_bytes]);
        return;
    }
    error_code ignored; // a socket that refuses is closed already; its next read says so
    socket().non_blocking(true, ignored);
}

void transport::close()
{
    error_code ignored; // closing a closed socket is not an error worth reporting
    socket().close(ignored);
}

unsigned char* transport::thread_read_buffer()
{
    thread_local std::unique_ptr<unsigned char[]> buffer(new unsigned char[read_bytes]);
    return buffer.get();
}

} // namespace chatd::server
