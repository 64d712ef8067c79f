#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "integrations/integration.hpp"
#include "transport/net.hpp"

namespace chatd::server {

/// What a function needs to run the way Lambda runs it.
struct lambda_config
{
    std::string name;     ///< the function's name (its Ref value)
    std::string runtime;  ///< nodejs20.x, provided.al2023, ...
    std::string handler;  ///< _HANDLER
    std::string code_dir; ///< LAMBDA_TASK_ROOT, the working directory
    std::vector<std::pair<std::string, std::string>> environment; ///< the template's variables
    std::chrono::milliseconds timeout{3000};
    /// How long API Gateway waits for the function (--integration-timeout, 29 s): past it the
    /// client gets the timeout error while the function runs on to its own `timeout`.
    std::chrono::milliseconds integration_timeout{29000};
    int memory_mb = 128;
    std::string region = "us-east-1";
    std::string account_id = "123456789012";
    std::string runtimes_dir; ///< chatd's runtime clients (runtimes/node/ric.mjs, ...)
    std::string node;         ///< the node binary, for nodejs* runtimes
    std::string python;       ///< the python3 binary, for python* runtimes
    /// chatd's own plain address (http://127.0.0.1:PORT) for the runtime clients to send the
    /// @connections API to, and the host:port names clients reach chatd by.
    std::string management_url;
    std::string own_hosts;
    std::size_t max_instances = 10;
    std::size_t max_queue = 1000;                ///< invocations waiting for an instance
    std::chrono::milliseconds idle_stop{300000}; ///< an idle instance is stopped after this
};

/// One Lambda function, run for real: chatd plays the Lambda service for it. Each instance is
/// a process of the function's runtime (the code directory's `bootstrap` for provided.*, chatd's
/// runtime clients for Node.js and Python) talking to a Runtime API (2018-06-01) that chatd serves
/// for that instance alone on a loopback port. Instances start on demand, take one invocation at a
/// time, are reused while warm and stopped when idle; more start while invocations overlap,
/// up to `max_instances`, and the rest wait in a bounded queue.
///
/// One difference from Lambda, where each instance brings its own CPU: here every instance
/// shares this machine's cores, and a cold start costs as much CPU as many warm invocations.
/// So an invocation that finds every instance busy (or still starting) first waits, for as long
/// as this function's last cold start took, for one of them; only then does another start. It
/// is never later than a cold start would have made it by more than that, and an instance
/// stuck in a long invocation never holds the others up.
///
/// Lambda's failures are reproduced: a function error (the runtime's /error), an init error
/// (/init/error, reported on the invocation that was waiting), a timeout (the instance is
/// killed: "Task timed out after N.NN seconds") and a crash (the process exits mid-invocation:
/// Runtime.ExitError) all reach the gateway as function errors. The function's output and
/// the START, END and REPORT lines go to chatd's log, tagged with the function's name.
///
/// A change under the code directory (a file written, created, removed or renamed) is picked up
/// by the next invocation: idle instances are stopped at once, busy ones once they answer.
///
/// Runs on the I/O thread; processes are started on `spawner`, a thread of their own, since
/// starting one blocks.
class lambda_function final : public integration, public raw_invoker
{
public:
    lambda_function(net::any_io_executor io, net::any_io_executor spawner, lambda_config cfg);
    ~lambda_function() override;

    lambda_function(lambda_function const&) = delete;
    lambda_function& operator=(lambda_function const&) = delete;

    void invoke(core::event ev, completion done) override;

    /// A raw invocation: `payload` in, the function's response body (or its error) out.
    /// (The gateway's events go through invoke(); authorizers use this.)
    using raw_result = raw_invoker::result;
    void invoke_raw(std::string payload, raw_completion done) override;

    /// Stop every instance (SIGKILL to its process group) and fail what waits. Called at
    /// shutdown, after the last $disconnect has been handed over.
    void stop();

    /// Where the runtime clients send @connections calls (see lambda_config), once chatd's
    /// port is bound; instances started afterwards get it.
    /// A custom runtime (provided.*) has no runtime client of chatd's to redirect its calls,
    /// so it gets the endpoint the SDKs read, AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI
    /// (`url`/`stage`), unless the template sets it.
    void set_management(std::string url, std::string own_hosts, std::string const& stage);

private:
    struct invocation
    {
        std::string id;
        std::string payload;
        raw_completion done;
        std::chrono::steady_clock::time_point queued_at = std::chrono::steady_clock::now();
    };
    struct instance;

    void watch_code();
    void read_code_events();
    void code_changed(std::string const& what);
    void dispatch();
    void scale_out();
    void start_instance();
    void spawned(
        std::shared_ptr<instance> const& in, int pid, int out_fd, int err_fd, std::string error);
    net::awaitable<void> accept_loop(std::shared_ptr<instance> in);
    net::awaitable<void> serve(std::shared_ptr<instance> in, tcp::socket socket);
    net::awaitable<http::response<http::string_body>>
    answer(std::shared_ptr<instance> const& in, http::request<http::string_body> const& req);
    net::awaitable<void> read_lines(int fd);
    void watch_exit(std::shared_ptr<instance> const& in);
    void exited(std::shared_ptr<instance> const& in, std::string how);
    void finish(std::shared_ptr<instance> const& in, raw_result r);
    void retire(std::shared_ptr<instance> const& in);
    void arm_idle(std::shared_ptr<instance> const& in);
    std::vector<std::string> environment(unsigned short port) const;
    std::vector<std::string> command() const;
    std::string new_request_id();

    net::any_io_executor io_;
    net::any_io_executor spawner_;
    lambda_config cfg_;
    std::deque<invocation> queue_;
    std::vector<std::shared_ptr<instance>> instances_;
    std::size_t starting_ = 0; ///< instances started that have not asked for work yet
    /// How long the last cold start took (0 before the first): an invocation that finds every
    /// instance busy waits this long for one to finish before another instance starts.
    std::chrono::duration<double, std::milli> cold_start_{0};
    /// The last cold start of any function (all of them run on the one I/O thread).
    static inline std::chrono::duration<double, std::milli> last_cold_start{0};
    net::steady_timer scale_timer_;
    std::mt19937_64 random_{std::random_device{}()};
    bool stopped_ = false;
    /// Code directory changes (inotify): each bumps the generation, and instances of an older
    /// one are replaced, so the next invocation runs the edited code.
    net::posix::stream_descriptor code_events_;
    std::map<int, std::string> watched_; ///< watch descriptor -> directory
    std::uint64_t generation_ = 0;

    /// The processes started and not yet reaped, shared with the spawner thread: stop() ends
    /// every one, including a process whose start the I/O thread has not heard of yet, and a
    /// start queued before stop() starts nothing after it.
    struct live_processes
    {
        std::mutex m;
        bool halted = false;
        std::set<int> pids;
    };

    std::shared_ptr<live_processes> live_ = std::make_shared<live_processes>();
};

} // namespace chatd::server
