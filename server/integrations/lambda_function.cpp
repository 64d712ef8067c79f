#include "integrations/lambda_function.hpp"

#include <chatd/core/event_json.hpp>
#include <chatd/core/proxy_result.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>

#include "ops/log.hpp"
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/inotify.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace chatd::server {

namespace {

using steady = std::chrono::steady_clock;

constexpr std::string_view api_prefix = "/2018-06-01/runtime/";

std::string two_decimals(double v)
{
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.2f", v);
    return buf;
}

std::string error_json(std::string_view type, std::string_view message)
{
    boost::json::object o;
    o["errorType"] = type;
    o["errorMessage"] = message;
    return boost::json::serialize(o);
}

/// "Type: message" of a runtime's error body, for the log.
std::string describe_error(std::string const& body)
{
    boost::system::error_code ec;
    auto v = boost::json::parse(body, ec);
    if (ec || !v.is_object())
        return body.substr(0, 300);
    auto const& o = v.get_object();
    auto text = [&](char const* k) {
        auto const* e = o.if_contains(k);
        return e && e->is_string() ? std::string(e->get_string()) : std::string();
    };
    return text("errorType") + ": " + text("errorMessage");
}

/// The peak resident memory of a process in MB, for REPORT (0 when it is gone).
long max_memory_mb(int pid)
{
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind("VmHWM:", 0) == 0)
            return (std::atol(line.c_str() + 6) + 1023) / 1024;
    }
    return 0;
}

int pidfd_open(int pid)
{
    return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
}

} // namespace

/// One execution environment: a process and the Runtime API it alone talks to.
struct lambda_function::instance : std::enable_shared_from_this<instance>
{
    explicit instance(net::any_io_executor io)
        : acceptor(io)
        , wake(io)
        , idle(io)
        , deadline(io)
        , exit_watch(io)
    {}

    tcp::acceptor acceptor;
    net::steady_timer wake;                   ///< a parked GET /next waits on it
    net::steady_timer idle;                   ///< stops a warm instance nobody uses
    net::steady_timer deadline;               ///< the running invocation's timeout
    net::posix::stream_descriptor exit_watch; ///< a pidfd: readable once the process ends
    int pid = -1;
    bool waiting = false; ///< a GET /next is parked
    bool asked = false;   ///< it has asked for work at least once (init is over)
    bool gone = false;
    std::optional<invocation> current;
    std::optional<std::string> init_error; ///< the body of /init/error
    steady::time_point started_at = steady::now();
    steady::time_point invoked_at;
    double init_ms = 0; ///< on the first invocation: how long init took
    bool cold = true;
    std::uint64_t generation = 0; ///< of the code it loaded
    std::vector<std::shared_ptr<tcp::socket>> sockets;
};

lambda_function::lambda_function(net::any_io_executor io,
                                 net::any_io_executor spawner,
                                 lambda_config cfg)
    : io_(std::move(io))
    , spawner_(std::move(spawner))
    , cfg_(std::move(cfg))
    , scale_timer_(io_)
    , code_events_(io_)
{
    watch_code();
}

void lambda_function::watch_code()
{
    // At start (before chatd serves): one watch per directory of the code, dependencies'
    // folders left out (node_modules, __pycache__, .git), at most 2,000.
    int fd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (fd < 0) {
        log::warn(cfg_.name +
                  ": code edits will not be picked up (inotify: " + std::strerror(errno) + ")");
        return;
    }
    code_events_.assign(fd);
    std::vector<std::string> dirs = {cfg_.code_dir};
    std::error_code ec;
    for (auto it = std::filesystem::recursive_directory_iterator(
             cfg_.code_dir, std::filesystem::directory_options::skip_permission_denied, ec);
         !ec && it != std::filesystem::recursive_directory_iterator();
         it.increment(ec)) {
        if (!it->is_directory(ec))
            continue;
        auto name = it->path().filename().string();
        if (name == "node_modules" || name == "__pycache__" || name == ".git") {
            it.disable_recursion_pending();
            continue;
        }
        dirs.push_back(it->path().string());
        if (dirs.size() >= 2000) {
            log::warn(cfg_.name + ": watching the first 2,000 directories of its code for edits");
            break;
        }
    }
    constexpr auto mask = IN_CLOSE_WRITE | IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO;
    for (auto const& d : dirs) {
        int wd = ::inotify_add_watch(fd, d.c_str(), mask);
        if (wd >= 0)
            watched_[wd] = d;
    }
    read_code_events();
}

void lambda_function::read_code_events()
{
    code_events_.async_wait(net::posix::stream_descriptor::wait_read, [this](error_code ec) {
        if (ec)
            return;
        alignas(inotify_event) char buf[8192];
        std::string changed;
        for (;;) {
            auto n = ::read(code_events_.native_handle(), buf, sizeof buf);
            if (n <= 0)
                break;
            for (char* p = buf; p < buf + n;) {
                auto* e = reinterpret_cast<inotify_event*>(p);
                p += sizeof(inotify_event) + e->len;
                if (!(e->mask &
                      (IN_CLOSE_WRITE | IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO)))
                    continue;
                auto dir = watched_.count(e->wd) ? watched_[e->wd] : cfg_.code_dir;
                std::string name = e->len ? e->name : "";
                if (name == "node_modules" || name == "__pycache__" || name.ends_with(".pyc"))
                    continue;
                if ((e->mask & IN_CREATE) && (e->mask & IN_ISDIR)) {
                    int wd = ::inotify_add_watch(code_events_.native_handle(),
                                                 (dir + "/" + name).c_str(),
                                                 IN_CLOSE_WRITE | IN_CREATE | IN_DELETE |
                                                     IN_MOVED_FROM | IN_MOVED_TO);
                    if (wd >= 0)
                        watched_[wd] = dir + "/" + name;
                }
                if (changed.empty())
                    changed = dir + "/" + name;
            }
        }
        if (!changed.empty())
            code_changed(changed);
        read_code_events();
    });
}

void lambda_function::code_changed(std::string const& what)
{
    ++generation_;
    log::info("[" + cfg_.name + "] code changed (" + what +
              "): the next invocation runs it in a new instance");
    auto all = instances_;
    for (auto& in : all) {
        // Idle ones go now; busy ones once they have answered (finish()), starting ones when
        // they first ask for work (answer()), so that no invocation fails for the edit.
        if (in->asked && !in->current && in->pid > 0)
            ::kill(-in->pid, SIGKILL);
    }
}

lambda_function::~lambda_function()
{
    stop();
}

std::string lambda_function::new_request_id()
{
    // A UUID v4, as Lambda's request ids are.
    std::uint64_t a = random_(), b = random_();
    char buf[37];
    std::snprintf(buf,
                  sizeof buf,
                  "%08x-%04x-4%03x-%04x-%012llx",
                  static_cast<unsigned>(a >> 32),
                  static_cast<unsigned>((a >> 16) & 0xffff),
                  static_cast<unsigned>(a & 0xfff),
                  static_cast<unsigned>(((b >> 48) & 0x3fff) | 0x8000),
                  static_cast<unsigned long long>(b & 0xffffffffffffULL));
    return buf;
}

void lambda_function::invoke(core::event ev, completion done)
{
    using status = invocation_result::status;
    // Whichever comes first, the function's answer or API Gateway's integration timeout,
    // completes the event; the other finds `pending` empty.
    auto pending = std::make_shared<completion>(std::move(done));
    auto timer = std::make_shared<net::steady_timer>(io_, cfg_.integration_timeout);
    timer->async_wait([pending](error_code ec) {
        if (ec || !*pending)
            return;
        auto finish = std::exchange(*pending, nullptr);
        finish(invocation_result{
            status::timeout, {}, "the function did not answer within the integration timeout"});
    });
    invoke_raw(core::serialize(ev), [pending, timer](raw_result r) {
        timer->cancel();
        if (!*pending)
            return;
        auto finish = std::exchange(*pending, nullptr);
        if (!r.ok) {
            finish(invocation_result{status::function_error, {}, r.error});
            return;
        }
        auto parsed = core::parse_proxy_result(r.body);
        if (!parsed.out)
            finish(invocation_result{status::function_error, {}, parsed.error});
        else
            finish(invocation_result{status::ok, std::move(*parsed.out), {}});
    });
}

void lambda_function::invoke_raw(std::string payload, raw_completion done)
{
    if (stopped_) {
        done(raw_result{false, {}, "the function is stopped (chatd is shutting down)", false});
        return;
    }
    if (queue_.size() >= cfg_.max_queue) {
        done(raw_result{false,
                        error_json("TooManyRequestsException", "Rate Exceeded."),
                        cfg_.name + ": " + std::to_string(queue_.size()) +
                            " invocations are already waiting for an instance",
                        false});
        return;
    }
    queue_.push_back(invocation{new_request_id(), std::move(payload), std::move(done)});
    dispatch();
}

void lambda_function::dispatch()
{
    // A parked instance takes the oldest invocation; otherwise start one more instance when
    // every starting one already has an invocation to take.
    while (!queue_.empty()) {
        auto it = std::find_if(instances_.begin(), instances_.end(), [this](auto const& in) {
            return in->waiting && !in->current && !in->gone && in->generation == generation_;
        });
        if (it == instances_.end())
            break;
        auto& in = *it;
        in->waiting = false;
        in->current = std::move(queue_.front());
        queue_.pop_front();
        in->wake.cancel();
    }
    scale_out();
}

void lambda_function::scale_out()
{
    // The first `starting_` invocations are for instances already starting; each later one
    // that has waited longer than a cold start takes, for a busy instance or a starting one,
    // gets one more. Before this function's first cold start is over, another function's
    // stands in for it (they share the machine, and mostly the runtime).
    auto const estimate = std::chrono::duration_cast<steady::duration>(
        cold_start_.count() > 0 ? cold_start_ : last_cold_start);
    // With no instance at all, the first starts at once.
    auto patience = [&] {
        return instances_.empty() ? steady::duration::zero() : estimate;
    };
    auto const now = steady::now();
    while (queue_.size() > starting_ && instances_.size() < cfg_.max_instances &&
           now - queue_[starting_].queued_at >= patience())
        start_instance();
    if (queue_.size() <= starting_ || instances_.size() >= cfg_.max_instances)
        return;
    scale_timer_.expires_at(queue_[starting_].queued_at + patience());
    scale_timer_.async_wait([this](error_code ec) {
        if (!ec && !stopped_)
            scale_out();
    });
}

std::vector<std::string> lambda_function::command() const
{
    if (cfg_.runtime.starts_with("provided"))
        return {cfg_.code_dir + "/bootstrap"};
    if (cfg_.runtime.starts_with("nodejs")) {
        // Lambda's Node.js bootstrap sizes V8's heap from MemorySize: a tenth of it for the
        // young generation (two semi-spaces), the rest for the old one.
        int young = std::max(cfg_.memory_mb / 10, 2);
        return {cfg_.node,
                "--expose-gc",
                "--max-http-header-size=81920",
                "--max-semi-space-size=" + std::to_string(young / 2),
                "--max-old-space-size=" + std::to_string(cfg_.memory_mb - young),
                cfg_.runtimes_dir + "/node/ric.mjs"};
    }
    if (cfg_.runtime.starts_with("python"))
        return {cfg_.python, cfg_.runtimes_dir + "/python/ric.py"};
    return {};
}

void lambda_function::set_management(std::string url,
                                     std::string own_hosts,
                                     std::string const& stage)
{
    cfg_.management_url = std::move(url);
    cfg_.own_hosts = std::move(own_hosts);
    constexpr std::string_view var = "AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI";
    bool set = std::any_of(cfg_.environment.begin(), cfg_.environment.end(), [&](auto const& kv) {
        return kv.first == var;
    });
    if (cfg_.runtime.starts_with("provided") && !set)
        cfg_.environment.emplace_back(var, cfg_.management_url + "/" + stage);
}

std::vector<std::string> lambda_function::environment(unsigned short port) const
{
    // Lambda's variables first, then the template's, which may not replace the reserved ones.
    std::time_t now = std::time(nullptr);
    char day[16];
    std::strftime(day, sizeof day, "%Y/%m/%d", std::gmtime(&now));
    char const* path = std::getenv("PATH");
    std::vector<std::pair<std::string, std::string>> vars = {
        {"AWS_LAMBDA_RUNTIME_API", "127.0.0.1:" + std::to_string(port)},
        {"_HANDLER", cfg_.handler},
        {"LAMBDA_TASK_ROOT", cfg_.code_dir},
        {"LAMBDA_RUNTIME_DIR", cfg_.runtimes_dir},
        {"AWS_EXECUTION_ENV", "AWS_Lambda_" + cfg_.runtime},
        {"AWS_REGION", cfg_.region},
        {"AWS_DEFAULT_REGION", cfg_.region},
        {"AWS_LAMBDA_FUNCTION_NAME", cfg_.name},
        {"AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"},
        {"AWS_LAMBDA_FUNCTION_MEMORY_SIZE", std::to_string(cfg_.memory_mb)},
        {"AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/" + cfg_.name},
        {"AWS_LAMBDA_LOG_STREAM_NAME", std::string(day) + "/[$LATEST]" + std::to_string(port)},
        {"AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand"},
        {"AWS_ACCESS_KEY_ID", "AKIALOCALCHATD000000"},
        {"AWS_SECRET_ACCESS_KEY", "local-secret-access-key-not-checked"},
        {"AWS_SESSION_TOKEN", "local-session-token-not-checked"},
        {"TZ", ":UTC"},
        {"LANG", "en_US.UTF-8"},
        {"PATH", path ? path : "/usr/local/bin:/usr/bin:/bin"},
    };
    // The CAs this machine's operator trusts (a local CA for chatd's own TLS, say) are
    // trusted by the functions too.
    for (char const* name : {"SSL_CERT_FILE", "SSL_CERT_DIR", "NODE_EXTRA_CA_CERTS"})
        if (char const* v = std::getenv(name); v && *v)
            vars.emplace_back(name, v);
    if (!cfg_.management_url.empty()) {
        vars.emplace_back("CHATD_MANAGEMENT_URL", cfg_.management_url);
        vars.emplace_back("CHATD_OWN_HOSTS", cfg_.own_hosts);
    }
    if (cfg_.runtime.starts_with("nodejs")) {
        // The AWS SDK chatd provides, for CommonJS (ric.mjs does the same for ES modules).
        vars.emplace_back("NODE_PATH", cfg_.runtimes_dir + "/node_modules");
    }
    if (cfg_.runtime.starts_with("python")) {
        // Output reaches the log as it is written, as on Lambda.
        vars.emplace_back("PYTHONUNBUFFERED", "1");
        vars.emplace_back("PYTHONPATH", cfg_.code_dir);
    }
    std::vector<std::string> out;
    for (auto const& [k, v] : vars)
        out.push_back(k + "=" + v);
    for (auto const& [k, v] : cfg_.environment) {
        bool reserved = std::any_of(vars.begin(), vars.end(), [&](auto const& r) {
            return r.first == k && k != "PATH" && k != "LANG" && k != "TZ";
        });
        if (!reserved)
            out.push_back(k + "=" + v);
    }
    return out;
}

void lambda_function::start_instance()
{
    auto in = std::make_shared<instance>(io_);
    in->generation = generation_;
    error_code ec;
    in->acceptor.open(tcp::v4(), ec);
    if (!ec)
        in->acceptor.bind(tcp::endpoint(net::ip::make_address_v4("127.0.0.1"), 0), ec);
    if (!ec)
        in->acceptor.listen(16, ec);
    if (ec) {
        log::error(cfg_.name + ": cannot open a Runtime API port: " + ec.message());
        auto inv = std::move(queue_.front());
        queue_.pop_front();
        inv.done(
            raw_result{false, {}, cfg_.name + ": no Runtime API port: " + ec.message(), false});
        return;
    }
    instances_.push_back(in);
    ++starting_;
    net::co_spawn(io_, accept_loop(in), net::detached);
    auto argv = command();
    auto env = environment(in->acceptor.local_endpoint().port());
    auto dir = cfg_.code_dir;
    auto runtime = cfg_.runtime;
    // posix_spawn blocks until the child has exec'd: not on the I/O thread. The task touches
    // nothing of this object's but what it was given, and a process it starts after stop()
    // is killed at once.
    net::post(spawner_, [this, in, argv, env, dir, runtime, live = live_] {
        if (std::lock_guard lock(live->m); live->halted)
            return;
        int out_pipe[2] = {-1, -1};
        int err_pipe[2] = {-1, -1};
        std::string error;
        int pid = -1;
        if (::pipe2(out_pipe, O_CLOEXEC) != 0 || ::pipe2(err_pipe, O_CLOEXEC) != 0) {
            error = std::string("pipe: ") + std::strerror(errno);
        } else {
            posix_spawn_file_actions_t fa;
            posix_spawnattr_t attr;
            posix_spawn_file_actions_init(&fa);
            posix_spawnattr_init(&attr);
            posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
            posix_spawn_file_actions_adddup2(&fa, out_pipe[1], 1);
            posix_spawn_file_actions_adddup2(&fa, err_pipe[1], 2);
            // None of chatd's own descriptors (Asio's sockets are not close-on-exec): a
            // client's connection, the listener or another instance's Runtime API held open
            // by a function would outlive chatd's close of it.
            posix_spawn_file_actions_addclosefrom_np(&fa, 3);
            posix_spawn_file_actions_addchdir_np(&fa, dir.c_str());
            // Its own process group, so that a timeout can stop everything it started.
            posix_spawnattr_setpgroup(&attr, 0);
            sigset_t none;
            sigemptyset(&none);
            posix_spawnattr_setsigmask(&attr, &none);
            sigset_t all;
            sigfillset(&all);
            posix_spawnattr_setsigdefault(&attr, &all);
            posix_spawnattr_setflags(
                &attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
            std::vector<char*> args;
            for (auto const& a : argv)
                args.push_back(const_cast<char*>(a.c_str()));
            args.push_back(nullptr);
            std::vector<char*> envp;
            for (auto const& e : env)
                envp.push_back(const_cast<char*>(e.c_str()));
            envp.push_back(nullptr);
            int rc = argv.empty()
                         ? ENOEXEC
                         : ::posix_spawn(&pid, args[0], &fa, &attr, args.data(), envp.data());
            if (rc != 0) {
                error = argv.empty() ? "no runtime for " + runtime
                                     : "cannot start " + argv[0] + ": " + std::strerror(rc);
                pid = -1;
            }
            posix_spawn_file_actions_destroy(&fa);
            posix_spawnattr_destroy(&attr);
        }
        if (pid > 0) {
            std::lock_guard lock(live->m);
            if (live->halted) {
                ::kill(-pid, SIGKILL);
                ::waitpid(pid, nullptr, 0);
                pid = -1;
            } else {
                live->pids.insert(pid);
            }
        }
        if (out_pipe[1] >= 0)
            ::close(out_pipe[1]);
        if (err_pipe[1] >= 0)
            ::close(err_pipe[1]);
        if (pid < 0) {
            for (int fd : {out_pipe[0], err_pipe[0]})
                if (fd >= 0)
                    ::close(fd);
            out_pipe[0] = err_pipe[0] = -1;
        }
        net::post(io_, [this, in, pid, o = out_pipe[0], e = err_pipe[0], error] {
            spawned(in, pid, o, e, error);
        });
    });
}

void lambda_function::spawned(
    std::shared_ptr<instance> const& in, int pid, int out_fd, int err_fd, std::string error)
{
    if (pid < 0) {
        // Lambda reports a runtime that cannot start on the invocation that waited for it.
        log::error(cfg_.name + ": " + error);
        in->init_error = error_json("Runtime.InvalidEntrypoint", error);
        exited(in, "the runtime did not start");
        return;
    }
    in->pid = pid;
    if (stopped_ || in->gone) {
        ::kill(-pid, SIGKILL);
    }
    net::co_spawn(io_, read_lines(out_fd), net::detached);
    net::co_spawn(io_, read_lines(err_fd), net::detached);
    watch_exit(in);
}

void lambda_function::watch_exit(std::shared_ptr<instance> const& in)
{
    int fd = pidfd_open(in->pid);
    if (fd < 0) {
        log::error(cfg_.name + ": pidfd_open: " + std::strerror(errno));
        return;
    }
    in->exit_watch.assign(fd);
    in->exit_watch.async_wait(net::posix::stream_descriptor::wait_read, [this, in](error_code ec) {
        if (ec)
            return;
        int status = 0;
        std::string how = "exited";
        if (::waitpid(in->pid, &status, WNOHANG) == in->pid) {
            std::lock_guard lock(live_->m);
            live_->pids.erase(in->pid);
            if (WIFEXITED(status))
                how = "exit status " + std::to_string(WEXITSTATUS(status));
            else if (WIFSIGNALED(status))
                how = std::string("signal: ") + ::strsignal(WTERMSIG(status));
        }
        exited(in, how);
    });
}

net::awaitable<void> lambda_function::read_lines(int fd)
{
    if (fd < 0)
        co_return;
    net::posix::stream_descriptor pipe(io_, fd);
    std::string buffer;
    char chunk[4096];
    for (;;) {
        auto [ec, n] =
            co_await pipe.async_read_some(net::buffer(chunk), net::as_tuple(net::use_awaitable));
        if (ec)
            break;
        buffer.append(chunk, n);
        for (auto nl = buffer.find('\n'); nl != std::string::npos; nl = buffer.find('\n')) {
            log::info("[" + cfg_.name + "] " + buffer.substr(0, nl));
            buffer.erase(0, nl + 1);
        }
        if (buffer.size() > 256 * 1024) {
            log::info("[" + cfg_.name + "] " + buffer);
            buffer.clear();
        }
    }
    if (!buffer.empty())
        log::info("[" + cfg_.name + "] " + buffer);
}

net::awaitable<void> lambda_function::accept_loop(std::shared_ptr<instance> in)
{
    for (;;) {
        auto [ec, socket] = co_await in->acceptor.async_accept(net::as_tuple(net::use_awaitable));
        if (ec)
            co_return;
        net::co_spawn(io_, serve(in, std::move(socket)), net::detached);
    }
}

net::awaitable<void> lambda_function::serve(std::shared_ptr<instance> in, tcp::socket socket)
{
    auto sock = std::make_shared<tcp::socket>(std::move(socket));
    in->sockets.push_back(sock);
    beast::flat_buffer buffer;
    for (;;) {
        http::request_parser<http::string_body> parser;
        parser.body_limit(6 * 1024 * 1024); // Lambda's synchronous response limit
        auto [ec, n] =
            co_await http::async_read(*sock, buffer, parser, net::as_tuple(net::use_awaitable));
        if (ec)
            break;
        auto req = parser.release();
        auto res = co_await answer(in, req);
        res.keep_alive(req.keep_alive());
        res.prepare_payload();
        auto [wec, wn] = co_await http::async_write(*sock, res, net::as_tuple(net::use_awaitable));
        if (wec || !res.keep_alive())
            break;
    }
    error_code ignored;
    sock->close(ignored);
    // A runtime that opens a connection per call (curl in a shell loop) must not pile them up.
    std::erase(in->sockets, sock);
}

net::awaitable<http::response<http::string_body>>
lambda_function::answer(std::shared_ptr<instance> const& in,
                        http::request<http::string_body> const& req)
{
    http::response<http::string_body> res{http::status::accepted, req.version()};
    res.set(http::field::content_type, "application/json");
    res.body() = R"({"status":"OK"})";
    auto fail = [&](http::status st, std::string_view type, std::string_view message) {
        res.result(st);
        res.body() = error_json(type, message);
        return res;
    };
    std::string_view target = req.target();
    if (!target.starts_with(api_prefix))
        co_return fail(http::status::not_found, "NotFound", "not a Runtime API path");
    auto path = target.substr(api_prefix.size());

    if (req.method() == http::verb::get && path == "invocation/next") {
        if (in->current)
            co_return fail(http::status::forbidden,
                           "InvalidStateTransition",
                           "the invocation in progress has not been answered");
        if (in->asked == false) {
            in->asked = true;
            --starting_;
            in->init_ms =
                std::chrono::duration<double, std::milli>(steady::now() - in->started_at).count();
            cold_start_ = std::chrono::duration<double, std::milli>(in->init_ms);
            last_cold_start = cold_start_;
        }
        in->idle.cancel();
        if (in->generation != generation_) {
            // Started before the code changed: it goes, and a new instance takes the work.
            if (in->pid > 0)
                ::kill(-in->pid, SIGKILL);
            co_return fail(http::status::internal_server_error, "ServiceException", "code changed");
        }
        // Park until an invocation is handed over (dispatch cancels `wake`).
        in->waiting = true;
        dispatch();
        while (!in->current && !in->gone) {
            arm_idle(in);
            in->wake.expires_at(steady::time_point::max());
            auto [ec] = co_await in->wake.async_wait(net::as_tuple(net::use_awaitable));
            (void)ec;
        }
        in->idle.cancel();
        if (in->gone || !in->current)
            co_return fail(http::status::internal_server_error, "ServiceException", "stopping");
        auto const& inv = *in->current;
        in->invoked_at = steady::now();
        auto deadline_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                               std::chrono::system_clock::now().time_since_epoch() + cfg_.timeout)
                               .count();
        res.result(http::status::ok);
        res.set("Lambda-Runtime-Aws-Request-Id", inv.id);
        res.set("Lambda-Runtime-Deadline-Ms", std::to_string(deadline_ms));
        res.set("Lambda-Runtime-Invoked-Function-Arn",
                "arn:aws:lambda:" + cfg_.region + ":" + cfg_.account_id + ":function:" + cfg_.name);
        res.set("Lambda-Runtime-Trace-Id",
                "Root=1-" + inv.id.substr(0, 8) + "-" + inv.id.substr(9, 4) + inv.id.substr(14, 4) +
                    inv.id.substr(19, 4) + inv.id.substr(24, 4) + ";Sampled=0");
        res.body() = inv.payload;
        log::info("[" + cfg_.name + "] START RequestId: " + inv.id + " Version: $LATEST");
        in->deadline.expires_after(cfg_.timeout);
        in->deadline.async_wait([this, in, id = inv.id](error_code ec) {
            if (ec || !in->current || in->current->id != id)
                return;
            auto seconds = two_decimals(std::chrono::duration<double>(cfg_.timeout).count());
            raw_result r{false,
                         error_json("Sandbox.Timedout",
                                    "RequestId: " + id + " Error: Task timed out after " + seconds +
                                        " seconds"),
                         "Task timed out after " + seconds + " seconds",
                         true};
            finish(in, std::move(r));
            // A timeout ends the execution environment.
            if (in->pid > 0)
                ::kill(-in->pid, SIGKILL);
        });
        co_return res;
    }

    if (req.method() == http::verb::post && path == "init/error") {
        in->init_error = req.body();
        log::warn("[" + cfg_.name + "] init error: " + describe_error(req.body()));
        co_return res;
    }

    if (req.method() == http::verb::post && path.starts_with("invocation/")) {
        auto rest = path.substr(11);
        auto slash = rest.rfind('/');
        if (slash == std::string_view::npos)
            co_return fail(http::status::not_found, "NotFound", "not a Runtime API path");
        auto id = std::string(rest.substr(0, slash));
        auto what = rest.substr(slash + 1);
        if (!in->current || in->current->id != id)
            co_return fail(http::status::bad_request, "InvalidRequestID", "Invalid request ID");
        if (what == "response") {
            finish(in, raw_result{true, req.body(), {}, false});
            co_return res;
        }
        if (what == "error") {
            finish(in, raw_result{false, req.body(), describe_error(req.body()), false});
            co_return res;
        }
    }
    co_return fail(http::status::not_found, "NotFound", "not a Runtime API path");
}

void lambda_function::finish(std::shared_ptr<instance> const& in, raw_result r)
{
    if (!in->current)
        return;
    auto inv = std::move(*in->current);
    in->current.reset();
    in->deadline.cancel();
    double ms = std::chrono::duration<double, std::milli>(steady::now() - in->invoked_at).count();
    auto billed = static_cast<long>(std::ceil(ms + (in->cold ? in->init_ms : 0)));
    auto report = "REPORT RequestId: " + inv.id + "\tDuration: " + two_decimals(ms) +
                  " ms\tBilled Duration: " + std::to_string(billed) +
                  " ms\tMemory Size: " + std::to_string(cfg_.memory_mb) + " MB\tMax Memory Used: ";
    auto tail = std::string(" MB\t");
    if (in->cold)
        tail += "Init Duration: " + two_decimals(in->init_ms) + " ms\t";
    if (r.timed_out)
        tail += "Status: timeout";
    else if (!r.ok && r.error.starts_with("Runtime.ExitError"))
        tail += "Status: error\tError Type: Runtime.ExitError";
    in->cold = false;
    log::info("[" + cfg_.name + "] END RequestId: " + inv.id);
    // The peak memory is read from /proc: file I/O, so on the spawner thread.
    net::post(spawner_, [name = cfg_.name, pid = in->pid, report, tail] {
        log::info("[" + name + "] " + report + std::to_string(max_memory_mb(pid)) + tail);
    });
    if (!r.ok)
        log::warn("[" + cfg_.name + "] " + r.error);
    // An instance that loaded code edited since goes once it has answered.
    if (in->generation != generation_ && in->pid > 0)
        ::kill(-in->pid, SIGKILL);
    inv.done(std::move(r));
}

void lambda_function::arm_idle(std::shared_ptr<instance> const& in)
{
    in->idle.expires_after(cfg_.idle_stop);
    in->idle.async_wait([this, in](error_code ec) {
        if (ec || in->current || in->gone)
            return;
        log::debug("[" + cfg_.name + "] stopping an instance idle for " +
                   std::to_string(cfg_.idle_stop.count() / 1000) + " s");
        if (in->pid > 0)
            ::kill(-in->pid, SIGKILL);
    });
}

void lambda_function::exited(std::shared_ptr<instance> const& in, std::string how)
{
    if (in->gone)
        return;
    bool was_starting = !in->asked;
    if (in->current) {
        auto id = in->current->id;
        auto message = "RequestId: " + id + " Error: Runtime exited with error: " + how;
        log::warn("[" + cfg_.name + "] " + message);
        finish(in,
               raw_result{false,
                          error_json("Runtime.ExitError", message),
                          "Runtime.ExitError: " + how,
                          false});
    } else if (was_starting && !queue_.empty()) {
        // The runtime never asked for work: Lambda reports that (or the init error it posted)
        // on the invocation that was waiting for this environment.
        auto inv = std::move(queue_.front());
        queue_.pop_front();
        auto body =
            in->init_error
                ? *in->init_error
                : error_json("Runtime.ExitError",
                             "RequestId: " + inv.id + " Error: Runtime exited with error: " + how);
        log::warn("[" + cfg_.name + "] init failed (" + how + "): " + describe_error(body));
        inv.done(raw_result{false, body, "init failed: " + describe_error(body), false});
    }
    if (was_starting)
        --starting_;
    retire(in);
    if (!stopped_)
        dispatch();
}

void lambda_function::retire(std::shared_ptr<instance> const& in)
{
    in->gone = true;
    error_code ignored;
    in->acceptor.close(ignored);
    in->wake.cancel();
    in->idle.cancel();
    in->deadline.cancel();
    in->exit_watch.close(ignored);
    for (auto& s : in->sockets)
        s->close(ignored);
    in->sockets.clear();
    std::erase(instances_, in);
}

void lambda_function::stop()
{
    if (stopped_)
        return;
    stopped_ = true;
    scale_timer_.cancel();
    {
        std::lock_guard lock(live_->m);
        live_->halted = true;
        for (int pid : live_->pids) {
            ::kill(-pid, SIGKILL);
            ::waitpid(pid, nullptr, 0);
        }
        live_->pids.clear();
    }
    error_code ignored;
    code_events_.close(ignored);
    for (auto& in : instances_) {
        if (in->current) {
            auto inv = std::move(*in->current);
            in->current.reset();
            inv.done(raw_result{false, {}, "chatd is shutting down", false});
        }
    }
    for (auto& inv : queue_)
        inv.done(raw_result{false, {}, "chatd is shutting down", false});
    queue_.clear();
    auto all = instances_;
    for (auto& in : all)
        retire(in);
}

} // namespace chatd::server
