// chatd-loadgen: a native WebSocket load generator for chatd and its peers.
//
// One process, one thread, epoll, non-blocking sockets (at most ~19k per process here). It
// opens N connections, puts them in rooms (or one global room), and has S of them send at a
// fixed open-loop rate. Each message carries "~<sender>.<seq>.<scheduled ns>~"; every receiver
// finds that marker in whatever frame the server delivers, records the latency from the
// scheduled send time (so a slow server cannot hide queueing), and checks that each sender's
// messages arrive once each and in order. It prints one JSON line with the figures, its own
// CPU use and, given --server-pid, the server's CPU time and memory.
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

namespace {

using clock_type = std::chrono::steady_clock;

std::int64_t now_ns()
{
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               clock_type::now().time_since_epoch())
        .count();
}

struct options
{
    std::string host = "127.0.0.1";
    int port = 8080;
    std::string path = "/dev";
    int clients = 100;
    int senders = 10;
    double rate = 1000;          // messages per second, all senders together
    double duration = 5;         // seconds of measurement
    double warmup = 1;           // seconds before measurement
    double drain = 1;            // seconds to wait for deliveries after the last send
    int room_size = 0;           // 0: one global room (broadcast)
    std::string proto = "chatd"; // chatd | raw | socketio (Engine.IO v4 over WebSocket)
    int size = 100;              // bytes of padding in each message
    int server_pid = 0;
    /// --server-tree: the server is a tree of processes (chatd and its functions and DynamoDB;
    /// serverless-offline and its DynamoDB): CPU and RSS are summed over --server-pid, every
    /// --also-pid and all their descendants, counting children that ended as their parent does.
    bool server_tree = false;
    std::vector<int> also_pids;
    /// --unordered: a sender's messages may arrive in any order (Lambda functions run several
    /// invocations at once, as on AWS); each must still arrive exactly once.
    bool unordered = false;
    std::string label;
    double connect_rate = 0; // connections per second, open loop; 0: waves of 500
    std::string trace;       // file: one line per handshake ("h") and measured delivery ("d")
};

[[noreturn]] void die(std::string const& what)
{
    std::fprintf(stderr, "loadgen: %s\n", what.c_str());
    std::exit(2);
}

options parse(int argc, char** argv)
{
    options o;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        auto next = [&]() -> std::string {
            if (i + 1 >= argc)
                die(a + " needs a value");
            return argv[++i];
        };
        if (a == "--host")
            o.host = next();
        else if (a == "--port")
            o.port = std::stoi(next());
        else if (a == "--path")
            o.path = next();
        else if (a == "--clients")
            o.clients = std::stoi(next());
        else if (a == "--senders")
            o.senders = std::stoi(next());
        else if (a == "--rate")
            o.rate = std::stod(next());
        else if (a == "--duration")
            o.duration = std::stod(next());
        else if (a == "--warmup")
            o.warmup = std::stod(next());
        else if (a == "--drain")
            o.drain = std::stod(next());
        else if (a == "--room-size")
            o.room_size = std::stoi(next());
        else if (a == "--proto")
            o.proto = next();
        else if (a == "--size")
            o.size = std::stoi(next());
        else if (a == "--server-pid")
            o.server_pid = std::stoi(next());
        else if (a == "--unordered")
            o.unordered = true;
        else if (a == "--server-tree")
            o.server_tree = true;
        else if (a == "--also-pid")
            o.also_pids.push_back(std::stoi(next()));
        else if (a == "--label")
            o.label = next();
        else if (a == "--connect-rate")
            o.connect_rate = std::stod(next());
        else if (a == "--trace")
            o.trace = next();
        else
            die("unknown option " + a);
    }
    if (o.host != "127.0.0.1" && o.host != "::1" && o.host != "localhost")
        die("only loopback targets are allowed");
    if (o.senders > o.clients)
        o.senders = o.clients;
    return o;
}

/// Server CPU seconds (utime + stime) and RSS bytes, from /proc.
struct proc_sample
{
    double cpu = 0;
    long rss = 0;
};

/// The fields of /proc/PID/stat after the command name, from field 3 (state) on.
std::vector<std::string> stat_fields(int pid)
{
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    std::getline(stat, line);
    auto close = line.rfind(')');
    std::vector<std::string> out;
    if (close == std::string::npos || close + 2 > line.size())
        return out;
    std::istringstream rest(line.substr(close + 2));
    for (std::string field; rest >> field;)
        out.push_back(field);
    return out;
}

long rss_bytes(int pid)
{
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    for (std::string line; std::getline(status, line);)
        if (line.rfind("VmRSS:", 0) == 0)
            return std::stol(line.substr(6)) * 1024;
    return 0;
}

/// One process: utime + stime (fields 14, 15), and with `children` the CPU of the children it
/// has reaped too (cutime + cstime, fields 16, 17).
proc_sample sample_one(int pid, bool children)
{
    proc_sample s;
    auto f = stat_fields(pid);
    if (f.size() < 15)
        return s;
    long ticks = std::stol(f[14 - 3]) + std::stol(f[15 - 3]);
    if (children)
        ticks += std::stol(f[16 - 3]) + std::stol(f[17 - 3]);
    s.cpu = double(ticks) / double(sysconf(_SC_CLK_TCK));
    s.rss = rss_bytes(pid);
    return s;
}

/// The roots and every live descendant. Each process counts its own CPU and its reaped
/// children's, so a function instance that exits between two samples is still counted once.
proc_sample sample_tree(std::vector<int> roots)
{
    std::multimap<int, int> kids; // ppid -> pid
    if (auto* d = opendir("/proc")) {
        while (auto* e = readdir(d)) {
            int pid = std::atoi(e->d_name);
            if (pid <= 0)
                continue;
            auto f = stat_fields(pid);
            if (f.size() > 1)
                kids.emplace(std::atoi(f[1].c_str()), pid);
        }
        closedir(d);
    }
    proc_sample total;
    for (std::size_t i = 0; i < roots.size(); ++i) {
        auto one = sample_one(roots[i], true);
        total.cpu += one.cpu;
        total.rss += one.rss;
        auto [from, to] = kids.equal_range(roots[i]);
        for (auto it = from; it != to; ++it)
            roots.push_back(it->second);
    }
    return total;
}

proc_sample sample(options const& o)
{
    if (o.server_pid <= 0)
        return {};
    if (!o.server_tree)
        return sample_one(o.server_pid, false);
    std::vector<int> roots{o.server_pid};
    roots.insert(roots.end(), o.also_pids.begin(), o.also_pids.end());
    return sample_tree(std::move(roots));
}

double self_cpu()
{
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return double(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
           double(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

struct conn
{
    int fd = -1;
    int index = 0;
    int room = 0;
    bool open = false;                              // 101 received
    std::int64_t connect_ns = 0;                    // when connect() was called
    bool ready = false;                             // joined its room (or open, for broadcast)
    std::string in;                                 // unparsed bytes
    std::string out;                                // bytes not yet written
    std::unordered_map<int, std::int64_t> last_seq; // per sender
    std::unordered_set<std::uint64_t> seen;         // sender << 40 | seq, with --unordered
};

struct stats
{
    std::int64_t sent = 0;
    std::int64_t expected = 0;
    std::int64_t delivered = 0;
    std::int64_t duplicates = 0;
    std::int64_t out_of_order = 0;
    std::int64_t gaps = 0;
    std::int64_t acked = 0; // senders' own copies: chatd's "stored" acknowledgements
    std::vector<std::uint32_t> latency_us;
    std::vector<std::uint32_t> ack_latency_us; // W6: each sender's own copy (chatd: after commit)
    std::vector<std::uint32_t> handshake_us;   // W3: connect() to the 101 (or Socket.IO's open)
    std::int64_t measured_from_ns = 0;
};

std::string frame(std::string_view payload)
{
    // A masked client text frame (mask 0x0f0f0f0f is as good as any for a benchmark).
    std::string f;
    f.push_back(char(0x81));
    auto n = payload.size();
    if (n < 126) {
        f.push_back(char(0x80 | n));
    } else if (n < 65536) {
        f.push_back(char(0x80 | 126));
        f.push_back(char(n >> 8));
        f.push_back(char(n & 0xff));
    } else {
        f.push_back(char(0x80 | 127));
        for (int i = 7; i >= 0; --i)
            f.push_back(char((std::uint64_t(n) >> (8 * i)) & 0xff));
    }
    unsigned char mask[4] = {0x0f, 0x0f, 0x0f, 0x0f};
    f.append(reinterpret_cast<char*>(mask), 4);
    for (std::size_t i = 0; i < n; ++i)
        f.push_back(char(payload[i] ^ mask[i & 3]));
    return f;
}

/// A distinct Sec-WebSocket-Key per connection, as browsers send (serverless-offline, for one,
/// tells concurrent handshakes apart by it): 16 bytes, base64.
std::string ws_key(int index)
{
    static char const alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    unsigned char raw[16] = {};
    std::uint64_t v = std::uint64_t(index) * 0x9E3779B97F4A7C15ull ^ std::uint64_t(getpid());
    std::memcpy(raw, &v, 8);
    std::memcpy(raw + 8, &index, sizeof index);
    std::string out;
    for (int i = 0; i < 15; i += 3) {
        std::uint32_t n = (raw[i] << 16) | (raw[i + 1] << 8) | raw[i + 2];
        for (int k = 18; k >= 0; k -= 6)
            out += alphabet[(n >> k) & 63];
    }
    out += alphabet[raw[15] >> 2];
    out += alphabet[(raw[15] & 3) << 4];
    return out + "==";
}

class generator
{
public:
    explicit generator(options o)
        : o_(std::move(o))
    {
        ep_ = epoll_create1(0);
        pad_.assign(std::size_t(std::max(0, o_.size)), 'p');
        if (!o_.trace.empty() && !(trace_ = file_ptr(std::fopen(o_.trace.c_str(), "w"))))
            die("cannot write " + o_.trace);
    }

    void run()
    {
        auto before = sample(o_);
        connect_all();
        join_all();
        auto connected = sample(o_);
        // Senders: the first member(s) of each room, spread evenly.
        pick_senders();
        auto t0 = now_ns() + 100'000'000;
        auto period = std::int64_t(1e9 * double(senders_.size()) / o_.rate);
        auto measure_from = t0 + std::int64_t(o_.warmup * 1e9);
        auto send_until = measure_from + std::int64_t(o_.duration * 1e9);
        auto stop_at = send_until + std::int64_t(o_.drain * 1e9);
        st_.measured_from_ns = measure_from;
        std::vector<std::int64_t> next(senders_.size());
        for (std::size_t i = 0; i < senders_.size(); ++i)
            next[i] = t0 + std::int64_t(i) * period / std::int64_t(senders_.size());
        std::vector<std::int64_t> seq(senders_.size(), 0);
        proc_sample s0;
        double c0 = 0;
        bool measuring = false;
        proc_sample s1;
        double c1 = 0;
        bool sampled_end = false;
        for (;;) {
            auto now = now_ns();
            if (!measuring && now >= measure_from) {
                measuring = true;
                s0 = sample(o_);
                c0 = self_cpu();
            }
            if (now >= send_until && !sampled_end) {
                s1 = sample(o_);
                c1 = self_cpu();
                sampled_end = true;
            }
            if (now >= stop_at)
                break;
            std::int64_t soonest = sampled_end ? stop_at : send_until;
            for (std::size_t i = 0; i < senders_.size(); ++i) {
                while (next[i] <= now && next[i] < send_until) {
                    send_one(*senders_[i], int(i), ++seq[i], next[i]);
                    next[i] += period;
                }
                if (next[i] < send_until)
                    soonest = std::min(soonest, next[i]);
            }
            poll_io_ns(std::max<std::int64_t>(0, soonest - now_ns()));
        }
        report(before, connected, s0, s1, c0, c1);
    }

private:
    void open_one(int i, sockaddr_in const& addr)
    {
        auto& c = conns_[std::size_t(i)];
        c.index = i;
        c.room = o_.room_size > 0 ? i / o_.room_size : 0;
        c.fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        if (c.fd < 0)
            die("socket: " + std::string(std::strerror(errno)));
        int one = 1;
        setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        c.connect_ns = now_ns();
        if (::connect(c.fd, reinterpret_cast<sockaddr const*>(&addr), sizeof addr) < 0 &&
            errno != EINPROGRESS)
            die("connect: " + std::string(std::strerror(errno)));
        epoll_event ev{};
        ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP |
                    EPOLLET; // edge-triggered: we read and write until EAGAIN
        ev.data.u32 = std::uint32_t(i);
        epoll_ctl(ep_, EPOLL_CTL_ADD, c.fd, &ev);
        std::string query = o_.proto == "chatd"      ? "?name=u" + std::to_string(i)
                            : o_.proto == "socketio" ? "?EIO=4&transport=websocket"
                                                     : "";
        c.out = "GET " + o_.path + query + " HTTP/1.1\r\nHost: " + o_.host + ":" +
                std::to_string(o_.port) +
                "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                "Sec-WebSocket-Key: " +
                ws_key(i) + "\r\nSec-WebSocket-Version: 13\r\n\r\n";
    }

    void connect_all()
    {
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_port = htons(std::uint16_t(o_.port));
        inet_pton(AF_INET, o_.host == "localhost" ? "127.0.0.1" : o_.host.c_str(), &addr.sin_addr);
        conns_.resize(std::size_t(o_.clients));
        auto start = now_ns();
        auto wait_open = [&](int opened) {
            auto deadline = now_ns() + 30'000'000'000LL;
            while (open_count_ < opened) {
                if (now_ns() > deadline)
                    die("only " + std::to_string(open_count_) + " of " + std::to_string(opened) +
                        " connections opened");
                poll_io(10);
            }
        };
        if (o_.connect_rate > 0) {
            // A steady, open-loop connect rate: connection i starts at i / rate seconds,
            // whatever happened to the ones before it.
            for (int i = 0; i < o_.clients; ++i) {
                auto due = start + std::int64_t(double(i) * 1e9 / o_.connect_rate);
                for (auto t = now_ns(); t < due; t = now_ns())
                    poll_io_ns(due - t);
                open_one(i, addr);
            }
            wait_open(o_.clients);
        } else {
            // Connect in waves that stay under the listen backlog.
            int opened = 0;
            while (opened < o_.clients) {
                int wave = std::min(o_.clients - opened, 500);
                for (int i = opened; i < opened + wave; ++i)
                    open_one(i, addr);
                opened += wave;
                wait_open(opened);
            }
        }
        connect_seconds_ = double(now_ns() - start) / 1e9;
    }

    void join_all()
    {
        if (o_.room_size <= 0) {
            for (auto& c : conns_)
                c.ready = true;
            return;
        }
        // The first member of each room creates it; everyone joins.
        for (auto& c : conns_) {
            auto room = "r" + std::to_string(c.room);
            if (o_.proto == "chatd" && c.index % o_.room_size == 0)
                queue(c, R"({"action":"createRoom","roomId":")" + room + R"("})");
        }
        for (auto& c : conns_)
            queue(c, R"({"action":"joinRoom","roomId":"r)" + std::to_string(c.room) + R"("})");
        auto deadline = now_ns() + 60'000'000'000LL;
        while (ready_count_ < int(conns_.size())) {
            if (now_ns() > deadline)
                die("only " + std::to_string(ready_count_) + " clients joined their rooms");
            poll_io(10);
        }
        // Let memberJoined floods settle before measuring.
        auto settle = now_ns() + 300'000'000;
        while (now_ns() < settle)
            poll_io(10);
    }

    void pick_senders()
    {
        int rooms = o_.room_size > 0 ? (o_.clients + o_.room_size - 1) / o_.room_size : 1;
        for (int s = 0; s < o_.senders; ++s) {
            int room = s % rooms;
            int member = s / rooms;
            int idx = o_.room_size > 0 ? room * o_.room_size + member : s;
            if (idx < o_.clients)
                senders_.push_back(&conns_[std::size_t(idx)]);
        }
    }

    int room_members(int room) const
    {
        if (o_.room_size <= 0)
            return o_.clients;
        return std::min(o_.room_size, o_.clients - room * o_.room_size);
    }

    void send_one(conn& c, int sender, std::int64_t seq, std::int64_t scheduled)
    {
        char marker[64];
        std::snprintf(
            marker, sizeof marker, "~%d.%" PRId64 ".%" PRId64 "~", sender, seq, scheduled);
        std::string msg;
        if (o_.room_size > 0)
            msg = R"({"action":"sendMessage","roomId":"r)" + std::to_string(c.room) +
                  R"(","message":")" + marker + pad_ + "\"}";
        else
            msg = R"({"action":"sendmessage","message":")" + std::string(marker) + pad_ + "\"}";
        queue(c, msg);
        if (scheduled >= st_.measured_from_ns) {
            ++st_.sent;
            st_.expected += room_members(c.room);
        }
    }

    void queue(conn& c, std::string const& text)
    {
        bool was_empty = c.out.empty();
        // Socket.IO: every request is an event "chat" whose argument is the same JSON object.
        c.out += frame(o_.proto == "socketio" ? "42[\"chat\"," + text + "]" : text);
        if (was_empty)
            flush(c);
    }

    void flush(conn& c)
    {
        while (!c.out.empty()) {
            auto n = ::send(c.fd, c.out.data(), c.out.size(), MSG_NOSIGNAL);
            if (n < 0) {
                if (errno == EAGAIN)
                    return;
                return fail(c, "send");
            }
            c.out.erase(0, std::size_t(n));
        }
    }

    void fail(conn& c, char const* what)
    {
        if (c.fd >= 0) {
            std::fprintf(
                stderr, "loadgen: connection %d: %s: %s\n", c.index, what, std::strerror(errno));
            close(c.fd);
            c.fd = -1;
            ++failed_;
        }
    }

    void poll_io(int timeout_ms) { poll_io_ns(std::int64_t(timeout_ms) * 1'000'000); }

    void poll_io_ns(std::int64_t timeout_ns)
    {
        epoll_event events[512];
        timespec ts{time_t(timeout_ns / 1'000'000'000), long(timeout_ns % 1'000'000'000)};
        int n = epoll_pwait2(ep_, events, 512, &ts, nullptr);
        for (int i = 0; i < n; ++i) {
            auto& c = conns_[events[i].data.u32];
            if (c.fd < 0)
                continue;
            if (events[i].events & EPOLLOUT)
                flush(c);
            if (events[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
                read_from(c);
        }
    }

    void read_from(conn& c)
    {
        char buf[65536];
        for (;;) {
            auto n = ::recv(c.fd, buf, sizeof buf, 0);
            if (n == 0)
                return fail(c, "closed by server");
            if (n < 0) {
                if (errno == EAGAIN)
                    break;
                return fail(c, "recv");
            }
            c.in.append(buf, std::size_t(n));
        }
        if (!c.open) {
            auto end = c.in.find("\r\n\r\n");
            if (end == std::string::npos)
                return;
            if (c.in.compare(0, 12, "HTTP/1.1 101") != 0)
                die("handshake refused: " + c.in.substr(0, c.in.find('\r')));
            c.in.erase(0, end + 4);
            c.open = true;
            if (o_.proto != "socketio") { // Socket.IO is open once its namespace answers
                ++open_count_;
                st_.handshake_us.push_back(std::uint32_t((now_ns() - c.connect_ns) / 1000));
                if (trace_) // h <connection> <connect() time, µs> <latency, µs>
                    std::fprintf(trace_.get(),
                                 "h %d %lld %u\n",
                                 c.index,
                                 static_cast<long long>(c.connect_ns / 1000),
                                 st_.handshake_us.back());
                if (o_.room_size <= 0)
                    ++ready_count_;
            }
        }
        std::size_t pos = 0;
        std::int64_t now = now_ns();
        while (c.in.size() - pos >= 2) {
            auto b1 = std::uint8_t(c.in[pos + 1]) & 0x7f;
            std::size_t off = 2;
            std::uint64_t len = b1;
            if (b1 == 126) {
                if (c.in.size() - pos < 4)
                    break;
                len =
                    (std::uint64_t(std::uint8_t(c.in[pos + 2])) << 8) | std::uint8_t(c.in[pos + 3]);
                off = 4;
            } else if (b1 == 127) {
                if (c.in.size() - pos < 10)
                    break;
                len = 0;
                for (int k = 0; k < 8; ++k)
                    len = (len << 8) | std::uint8_t(c.in[pos + 2 + std::size_t(k)]);
                off = 10;
            }
            if (c.in.size() - pos < off + len)
                break;
            on_message(c, std::string_view(c.in).substr(pos + off, len), now);
            pos += off + len;
        }
        c.in.erase(0, pos);
    }

    void on_message(conn& c, std::string_view text, std::int64_t now)
    {
        if (o_.proto == "socketio") {
            if (text.size() >= 1 && text[0] == '0') { // Engine.IO open: connect to "/"
                c.out += frame("40");
                flush(c);
                return;
            }
            if (text.size() >= 2 && text.substr(0, 2) == "40") { // namespace connected
                ++open_count_;
                st_.handshake_us.push_back(std::uint32_t((now_ns() - c.connect_ns) / 1000));
                if (o_.room_size <= 0)
                    ++ready_count_;
                return;
            }
            if (text == "2") { // Engine.IO ping
                c.out += frame("3");
                flush(c);
                return;
            }
        }
        auto m = text.find('~');
        if (m == std::string_view::npos) {
            if (!c.ready &&
                (text.find("\"type\":\"joined\"") != std::string_view::npos ||
                 (o_.proto != "chatd" && text.find("joined") != std::string_view::npos))) {
                c.ready = true;
                ++ready_count_;
            }
            return;
        }
        int sender = 0;
        std::int64_t seq = 0, scheduled = 0;
        if (std::sscanf(
                text.data() + m, "~%d.%" SCNd64 ".%" SCNd64 "~", &sender, &seq, &scheduled) != 3)
            return;
        bool own = sender >= 0 && std::size_t(sender) < senders_.size() &&
                   senders_[std::size_t(sender)] == &c;
        if (own)
            ++total_acked_;
        if (scheduled < st_.measured_from_ns)
            return;
        if (own && st_.ack_latency_us.size() < 5'000'000)
            st_.ack_latency_us.push_back(
                std::uint32_t(std::min<std::int64_t>((now - scheduled) / 1000, UINT32_MAX)));
        ++st_.delivered;
        auto& last = c.last_seq[sender];
        if (o_.unordered) {
            if (!c.seen.insert(std::uint64_t(sender) << 40 | std::uint64_t(seq)).second)
                ++st_.duplicates;
        } else if (seq == last + 1 || last == 0)
            ;
        else if (seq <= last)
            ++st_.duplicates;
        else
            ++st_.gaps;
        if (seq < last)
            ++st_.out_of_order;
        last = std::max(last, seq);
        if (st_.latency_us.size() < 20'000'000)
            st_.latency_us.push_back(
                std::uint32_t(std::min<std::int64_t>((now - scheduled) / 1000, UINT32_MAX)));
        if (trace_) // d <sender> <seq> <scheduled, µs> <latency, µs> <1: the sender's own copy>
            std::fprintf(trace_.get(),
                         "d %d %" PRId64 " %lld %lld %d\n",
                         sender,
                         seq,
                         static_cast<long long>(scheduled / 1000),
                         static_cast<long long>((now - scheduled) / 1000),
                         own ? 1 : 0);
    }

    void report(proc_sample before,
                proc_sample connected,
                proc_sample s0,
                proc_sample s1,
                double c0,
                double c1)
    {
        auto& l = st_.latency_us;
        std::sort(l.begin(), l.end());
        auto& a = st_.ack_latency_us;
        std::sort(a.begin(), a.end());
        auto pct_of = [](std::vector<std::uint32_t> const& v, double p) -> double {
            if (v.empty())
                return -1;
            return double(v[std::min(v.size() - 1, std::size_t(p * double(v.size())))]) / 1000.0;
        };
        auto& h = st_.handshake_us;
        std::sort(h.begin(), h.end());
        auto pct = [&](double p) {
            return pct_of(l, p);
        };
        double window = o_.duration;
        double server_cpu = s1.cpu - s0.cpu;
        double client_cpu = (c1 - c0) / window;
        std::printf(
            "{\"label\":\"%s\",\"clients\":%d,\"senders\":%zu,\"room_size\":%d,\"offered_msgs_per_"
            "s\":%.1f,"
            "\"sent\":%" PRId64 ",\"expected\":%" PRId64 ",\"delivered\":%" PRId64
            ",\"lost\":%" PRId64 ",\"duplicates\":%" PRId64 ",\"gaps\":%" PRId64
            ",\"failed_connections\":%d,"
            "\"delivered_per_s\":%.1f,\"server_cpu_s\":%.3f,\"deliveries_per_server_cpu_s\":%.1f,"
            "\"server_cpu_share\":%.3f,\"client_cpu_share\":%.3f,"
            "\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"p999_ms\":%.3f,\"max_ms\":%.3f,"
            "\"ack_p50_ms\":%.3f,\"ack_p99_ms\":%.3f,\"ack_p999_ms\":%.3f,"
            "\"handshake_p50_ms\":%.3f,\"handshake_p99_ms\":%.3f,"
            "\"connect_s\":%.3f,\"acked_total\":%" PRId64
            ",\"server_rss_before\":%ld,\"server_rss_connected\":%ld,\"rss_per_conn\":%.1f}\n",
            o_.label.c_str(),
            o_.clients,
            senders_.size(),
            o_.room_size,
            o_.rate,
            st_.sent,
            st_.expected,
            st_.delivered,
            st_.expected - st_.delivered,
            st_.duplicates,
            st_.gaps,
            failed_,
            double(st_.delivered) / window,
            server_cpu,
            server_cpu > 0 ? double(st_.delivered) / server_cpu : 0.0,
            server_cpu / window,
            client_cpu,
            pct(0.5),
            pct(0.99),
            pct(0.999),
            l.empty() ? -1.0 : double(l.back()) / 1000.0,
            pct_of(a, 0.5),
            pct_of(a, 0.99),
            pct_of(a, 0.999),
            pct_of(h, 0.5),
            pct_of(h, 0.99),
            connect_seconds_,
            total_acked_,
            before.rss,
            connected.rss,
            o_.clients ? double(connected.rss - before.rss) / o_.clients : 0.0);
        std::fflush(stdout);
    }

    options o_;
    int ep_ = -1;

    struct file_closer
    {
        void operator()(std::FILE* f) const { std::fclose(f); }
    };

    using file_ptr = std::unique_ptr<std::FILE, file_closer>;
    file_ptr trace_; // --trace
    std::string pad_;
    std::vector<conn> conns_;
    std::vector<conn*> senders_;
    int open_count_ = 0;
    int ready_count_ = 0;
    int failed_ = 0;
    std::int64_t total_acked_ = 0; // including warm-up
    double connect_seconds_ = 0;
    stats st_;
};

} // namespace

int main(int argc, char** argv)
{
    generator g(parse(argc, argv));
    g.run();
    return 0;
}
