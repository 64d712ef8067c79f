#include "integrations/dynamodb_local.hpp"

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <vector>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace chatd::server {

dynamodb_local::dynamodb_local(std::string const& node,
                               std::string const& runtimes_dir,
                               std::string const& tables_json,
                               std::vector<std::pair<std::string, std::string>> const& ttl,
                               std::string const& data_dir,
                               std::string const& region)
{
    char name[] = "/tmp/chatd-tables-XXXXXX";
    int fd = ::mkstemp(name);
    if (fd < 0)
        throw std::runtime_error(std::string("cannot write the table list: ") +
                                 std::strerror(errno));
    ::close(fd);
    tables_file_ = name;
    std::ofstream(tables_file_) << tables_json;

    int in[2];
    int out[2];
    if (::pipe2(in, O_CLOEXEC) != 0 || ::pipe2(out, O_CLOEXEC) != 0)
        throw std::runtime_error(std::string("pipe: ") + std::strerror(errno));
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in[0], 0);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    posix_spawn_file_actions_addclosefrom_np(&fa, 3); // nothing of chatd's (see lambda_function)
    auto script = runtimes_dir + "/dynamodb/server.mjs";
    std::vector<std::string> args = {node, script, "--tables", tables_file_};
    for (auto const& [table, attribute] : ttl) {
        args.push_back("--ttl");
        args.push_back(table + "=" + attribute);
    }
    if (!data_dir.empty()) {
        args.push_back("--path");
        args.push_back(data_dir);
    }
    std::vector<char*> argv;
    for (auto& a : args)
        argv.push_back(a.data());
    argv.push_back(nullptr);
    std::vector<std::string> env = {
        "AWS_REGION=" + region,
        "AWS_ACCOUNT_ID=123456789012",
        std::string("PATH=") + (std::getenv("PATH") ? std::getenv("PATH") : "/usr/bin:/bin")};
    std::vector<char*> envp;
    for (auto& e : env)
        envp.push_back(e.data());
    envp.push_back(nullptr);
    int rc = ::posix_spawn(&pid_, node.c_str(), &fa, nullptr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&fa);
    ::close(in[0]);
    ::close(out[1]);
    stdin_ = in[1];
    stdout_ = out[0];
    if (rc != 0) {
        pid_ = -1;
        shut();
        throw std::runtime_error("cannot start " + node + ": " + std::strerror(rc));
    }
    auto fail = [this](std::string why) {
        shut();
        throw std::runtime_error(std::move(why));
    };
    // Its first line is "listening <port>", once the tables exist.
    std::string line;
    auto until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (line.find('\n') == std::string::npos) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            until - std::chrono::steady_clock::now());
        pollfd p{stdout_, POLLIN, 0};
        if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0)
            fail("the local DynamoDB did not start within 30 s");
        char buf[256];
        auto n = ::read(stdout_, buf, sizeof buf);
        if (n <= 0)
            fail("the local DynamoDB stopped at start (its error is above)");
        line.append(buf, static_cast<std::size_t>(n));
    }
    if (line.rfind("listening ", 0) != 0)
        fail("the local DynamoDB said: " + line.substr(0, line.find('\n')));
    endpoint_ = "http://127.0.0.1:" + line.substr(10, line.find('\n') - 10);
}

dynamodb_local::~dynamodb_local()
{
    shut();
}

void dynamodb_local::shut()
{
    if (stdin_ >= 0)
        ::close(stdin_);
    stdin_ = -1;
    if (pid_ > 0) {
        // It exits when its stdin closes; wait a moment for it to let go of its files.
        for (int i = 0; i < 50 && ::waitpid(pid_, nullptr, WNOHANG) == 0; ++i)
            ::usleep(20000);
        if (::kill(pid_, 0) == 0) {
            ::kill(pid_, SIGKILL);
            ::waitpid(pid_, nullptr, 0);
        }
        pid_ = -1;
    }
    if (stdout_ >= 0)
        ::close(stdout_);
    stdout_ = -1;
    if (!tables_file_.empty())
        ::unlink(tables_file_.c_str());
    tables_file_.clear();
}

} // namespace chatd::server
