#pragma once

#include <string>
#include <utility>
#include <vector>

namespace chatd::server {

/// The local DynamoDB of `chatd --template`: dynalite (runtimes/dynamodb/server.mjs) as a
/// child process on a loopback port, with the template's tables created. Started before
/// chatd serves (the start blocks until the emulator listens, at most 30 s) and stopped with
/// it: closing the pipe on its stdin ends it, and the destructor makes sure.
class dynamodb_local
{
public:
    /// `tables_json`: a JSON list of CreateTable inputs. `ttl`: (table, attribute) for each
    /// table with a TimeToLiveSpecification; their expired items are deleted. `data_dir`: where
    /// the data lives; empty keeps it in memory. Throws std::runtime_error with a one-line reason.
    dynamodb_local(std::string const& node,
                   std::string const& runtimes_dir,
                   std::string const& tables_json,
                   std::vector<std::pair<std::string, std::string>> const& ttl,
                   std::string const& data_dir,
                   std::string const& region);
    ~dynamodb_local();

    dynamodb_local(dynamodb_local const&) = delete;
    dynamodb_local& operator=(dynamodb_local const&) = delete;

    /// http://127.0.0.1:PORT, for AWS_ENDPOINT_URL_DYNAMODB.
    std::string const& endpoint() const { return endpoint_; }

private:
    void shut(); ///< end the process, close the pipes, remove the table list

    int pid_ = -1;
    int stdin_ = -1;
    int stdout_ = -1;
    std::string tables_file_;
    std::string endpoint_;
};

} // namespace chatd::server
