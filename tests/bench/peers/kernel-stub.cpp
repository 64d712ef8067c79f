// Peer "kernel": the floor under every WebSocket chat server. One thread, epoll, no framework,
// no JSON parser, no storage: it does the least the benchmark's frames need (the handshake,
// unmasking, a substring test for the action, a room table) and then the part no server can
// avoid, one send() per recipient per event-loop pass with everything queued for it in that
// pass (the same coalescing chatd's cork gives). Its CPU per delivery is the "raw kernel send
// cost" the performance goals compare chatd with.
//
// Usage: kernel-stub PORT        (listens on 127.0.0.1 only)
// Build: g++ -O2 -std=c++20 kernel-stub.cpp -lcrypto
#include <openssl/evp.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace {

struct conn
{
    int fd = -1;
    bool open = false; // handshake done
    std::string in;
    std::string out;
    bool dirty = false;
    bool want_out = false;
};

std::vector<conn> conns; // indexed by fd
std::vector<int> all;    // open connections
std::unordered_map<std::string, std::vector<int>> rooms;
std::vector<int> dirty;
int ep = -1;

std::string accept_key(std::string_view key)
{
    std::string in(key);
    in += "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    EVP_Digest(in.data(), in.size(), md, &len, EVP_sha1(), nullptr);
    unsigned char b64[64];
    int n = EVP_EncodeBlock(b64, md, static_cast<int>(len));
    return std::string(reinterpret_cast<char*>(b64), static_cast<std::size_t>(n));
}

std::string frame(std::string_view text)
{
    std::string f;
    f.push_back(static_cast<char>(0x81));
    if (text.size() < 126) {
        f.push_back(static_cast<char>(text.size()));
    } else {
        f.push_back(126);
        f.push_back(static_cast<char>(text.size() >> 8));
        f.push_back(static_cast<char>(text.size() & 0xff));
    }
    f.append(text);
    return f;
}

void queue(int fd, std::string_view bytes)
{
    auto& c = conns[std::size_t(fd)];
    if (!c.open)
        return;
    c.out.append(bytes);
    if (!c.dirty) {
        c.dirty = true;
        dirty.push_back(fd);
    }
}

void drop(int fd)
{
    auto& c = conns[std::size_t(fd)];
    if (c.fd < 0)
        return;
    ::close(fd);
    c = conn{};
    std::erase(all, fd);
    for (auto& [name, members] : rooms)
        std::erase(members, fd);
}

std::string_view json_value(std::string_view text, std::string_view key)
{
    auto k = text.find(key);
    if (k == std::string_view::npos)
        return {};
    auto start = k + key.size();
    auto end = text.find('"', start);
    return end == std::string_view::npos ? std::string_view{} : text.substr(start, end - start);
}

void on_message(int fd, std::string_view text)
{
    if (text.find("\"action\":\"joinRoom\"") != std::string_view::npos) {
        auto room = json_value(text, "\"roomId\":\"");
        rooms[std::string(room)].push_back(fd);
        queue(fd, frame(R"({"type":"joined","roomId":")" + std::string(room) + "\"}"));
        return;
    }
    auto f = frame(text); // built once per message, copied into each recipient's buffer
    if (text.find("\"action\":\"sendMessage\"") != std::string_view::npos) {
        auto it = rooms.find(std::string(json_value(text, "\"roomId\":\"")));
        if (it != rooms.end())
            for (int m : it->second)
                queue(m, f);
        return;
    }
    for (int m : all)
        queue(m, f);
}

void on_readable(int fd)
{
    auto& c = conns[std::size_t(fd)];
    char buf[65536];
    for (;;) {
        auto n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
            return drop(fd);
        if (n < 0)
            break;
        c.in.append(buf, std::size_t(n));
        if (std::size_t(n) < sizeof buf)
            break;
    }
    if (!c.open) {
        auto end = c.in.find("\r\n\r\n");
        if (end == std::string::npos)
            return;
        std::string_view head(c.in.data(), end);
        auto k = head.find("Sec-WebSocket-Key: ");
        if (k == std::string_view::npos)
            return drop(fd);
        auto line_end = head.find("\r\n", k);
        auto key_view = head.substr(k + 19, line_end - k - 19);
        c.open = true;
        all.push_back(fd);
        queue(fd,
              "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: "
              "Upgrade\r\nSec-WebSocket-Accept: " +
                  accept_key(key_view) + "\r\n\r\n");
        c.in.erase(0, end + 4);
    }
    std::size_t at = 0;
    while (c.fd >= 0) {
        auto* p = reinterpret_cast<unsigned char*>(c.in.data()) + at;
        auto avail = c.in.size() - at;
        if (avail < 2)
            break;
        std::uint64_t len = p[1] & 0x7f;
        std::size_t off = 2;
        if (len == 126) {
            if (avail < 4)
                break;
            len = (std::uint64_t(p[2]) << 8) | p[3];
            off = 4;
        } else if (len == 127) {
            if (avail < 10)
                break;
            len = 0;
            for (int i = 0; i < 8; ++i)
                len = (len << 8) | p[2 + i];
            off = 10;
        }
        if (avail < off + 4 + len)
            break;
        unsigned char* mask = p + off;
        unsigned char* data = p + off + 4;
        for (std::uint64_t i = 0; i < len; ++i)
            data[i] ^= mask[i & 3];
        int opcode = p[0] & 0x0f;
        at += off + 4 + std::size_t(len);
        if (opcode == 8)
            return drop(fd);
        if (opcode == 1)
            on_message(fd, std::string_view(reinterpret_cast<char*>(data), std::size_t(len)));
    }
    if (c.fd >= 0)
        c.in.erase(0, at);
}

void flush(int fd)
{
    auto& c = conns[std::size_t(fd)];
    c.dirty = false;
    if (c.fd < 0 || c.out.empty())
        return;
    auto n = ::send(fd, c.out.data(), c.out.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0 && errno != EAGAIN)
        return drop(fd);
    if (n > 0)
        c.out.erase(0, std::size_t(n));
    bool want = !c.out.empty();
    if (want != c.want_out) {
        c.want_out = want;
        epoll_event ev{};
        ev.events = EPOLLIN | (want ? EPOLLOUT : 0u);
        ev.data.fd = fd;
        epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev);
    }
}

} // namespace

int main(int argc, char** argv)
{
    if (argc != 2) {
        std::fprintf(stderr, "usage: kernel-stub PORT\n");
        return 2;
    }
    int lfd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    int one = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<std::uint16_t>(std::atoi(argv[1])));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(lfd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::listen(lfd, 4096) != 0) {
        std::perror("kernel-stub: listen");
        return 1;
    }
    ep = epoll_create1(0);
    epoll_event lev{};
    lev.events = EPOLLIN;
    lev.data.fd = lfd;
    epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &lev);
    std::printf("kernel stub listening on %s\n", argv[1]);
    std::fflush(stdout);
    std::vector<epoll_event> events(1024);
    for (;;) {
        int n = epoll_wait(ep, events.data(), int(events.size()), -1);
        for (int i = 0; i < n; ++i) {
            int fd = events[std::size_t(i)].data.fd;
            if (fd == lfd) {
                for (;;) {
                    int c = ::accept4(lfd, nullptr, nullptr, SOCK_NONBLOCK);
                    if (c < 0)
                        break;
                    setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    if (conns.size() <= std::size_t(c))
                        conns.resize(std::size_t(c) + 1);
                    conns[std::size_t(c)] = conn{};
                    conns[std::size_t(c)].fd = c;
                    epoll_event ev{};
                    ev.events = EPOLLIN;
                    ev.data.fd = c;
                    epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev);
                }
                continue;
            }
            if (events[std::size_t(i)].events & EPOLLOUT)
                flush(fd);
            if (events[std::size_t(i)].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
                on_readable(fd);
        }
        // The cork: one send() per connection that got anything in this pass.
        auto pass = std::move(dirty);
        dirty.clear();
        for (int fd : pass)
            flush(fd);
    }
}
