#pragma once

// dynalite for tests: started once per test program (runtimes/dynamodb/server.mjs with no
// tables, on a loopback port), stopped when the program exits. Tests make their own tables.
#include <chatd/aws/dynamodb.hpp>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>

#include <sys/wait.h>
#include <unistd.h>

namespace chatd::test {

class dynalite_process
{
public:
    static dynalite_process& instance()
    {
        static dynalite_process p;
        return p;
    }

    aws::service_endpoint endpoint() const
    {
        return aws::service_endpoint{*aws::url::parse("http://127.0.0.1:" + port_), "us-east-1"};
    }

    ~dynalite_process()
    {
        if (pid_ > 0) {
            ::kill(pid_, SIGTERM);
            ::waitpid(pid_, nullptr, 0);
        }
    }

private:
    dynalite_process()
    {
        // The clients sign with these; dynalite checks the header's form, not the keys.
        ::setenv("AWS_ACCESS_KEY_ID", "AKIDTESTCHATD", 1);
        ::setenv("AWS_SECRET_ACCESS_KEY", "test-secret", 1);
        ::setenv("AWS_SESSION_TOKEN", "test-session-token", 1);
        char tables[] = "/tmp/chatd-dynalite-XXXXXX";
        int fd = ::mkstemp(tables);
        if (fd < 0 || ::write(fd, "[]", 2) != 2)
            throw std::runtime_error("cannot write the empty table list");
        ::close(fd);
        int out[2];
        int in[2];
        if (::pipe(out) != 0 || ::pipe(in) != 0)
            throw std::runtime_error("pipe failed");
        pid_ = ::fork();
        if (pid_ == 0) {
            ::dup2(in[0], 0);
            ::dup2(out[1], 1);
            ::close(in[1]);
            ::close(out[0]);
            std::string script = std::string(CHATD_TEST_RUNTIMES_DIR) + "/dynamodb/server.mjs";
            ::execlp(CHATD_TEST_NODE,
                     CHATD_TEST_NODE,
                     script.c_str(),
                     "--tables",
                     tables,
                     static_cast<char*>(nullptr));
            ::_exit(127);
        }
        ::close(in[0]);
        ::close(out[1]);
        stdin_ = in[1]; // kept open: the server stops when it closes
        std::string line;
        char c;
        while (::read(out[0], &c, 1) == 1 && c != '\n')
            line += c;
        ::close(out[0]);
        ::unlink(tables);
        if (!line.starts_with("listening "))
            throw std::runtime_error("dynalite did not start (" + line +
                                     "); run scripts/test.sh, which installs runtimes/");
        port_ = line.substr(10);
    }

    pid_t pid_ = -1;
    int stdin_ = -1;
    std::string port_;
};

} // namespace chatd::test
