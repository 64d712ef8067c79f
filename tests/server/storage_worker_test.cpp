#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <future>
#include <memory>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "integrations/storage_worker.hpp"

using namespace chatd::server;
namespace core = chatd::core;

namespace {

/// What became of one task: how often it ran, and how it ended.
struct record
{
    int runs = 0;
    bool done = false;
    std::string failed; ///< the reason, when it failed
};

/// Appends a message to room "r"; with `fail`, throws after the write, as a task would that
/// hit a full disk halfway.
class append_task final : public storage_task
{
public:
    append_task(record& rec, std::string text, bool fail = false)
        : rec_(rec)
        , text_(std::move(text))
        , fail_(fail)
    {}

    void run(core::store& db) override
    {
        ++rec_.runs;
        db.append_message("r", "AAAAAAAAAAAAAAA=", "t", text_, 1);
        if (fail_)
            throw core::store_error("disk full (test)");
    }

    void done() override { rec_.done = true; }

    void failed(std::string const& why) override { rec_.failed = why; }

private:
    record& rec_;
    std::string text_;
    bool fail_;
};

/// Runs first and holds the storage thread until released, so the tasks queued meanwhile
/// run as one batch.
class gate_task final : public storage_task
{
public:
    gate_task(std::promise<void>& entered, std::shared_future<void> release, record& rec)
        : entered_(entered)
        , release_(std::move(release))
        , rec_(rec)
    {}

    void run(core::store& db) override
    {
        ++rec_.runs;
        db.create_room("r", 1);
        entered_.set_value();
        release_.wait();
    }

    void done() override { rec_.done = true; }

    void failed(std::string const& why) override { rec_.failed = why; }

private:
    std::promise<void>& entered_;
    std::shared_future<void> release_;
    record& rec_;
};

struct fixture
{
    std::filesystem::path dir =
        std::filesystem::temp_directory_path() /
        ("chatd-worker-" +
         std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()));
    std::string db = (dir / "chat.db").string();
    net::io_context io;
    metrics stats;

    fixture() { std::filesystem::create_directories(dir); }

    ~fixture() { std::filesystem::remove_all(dir); }

    /// Run `tasks` (after a gate task) as one batch and wait for every completion.
    std::vector<record> run_batch(std::vector<std::pair<std::string, bool>> const& tasks)
    {
        std::vector<record> recs(tasks.size() + 1);
        {
            storage_worker worker(
                db, chatd::storage::durability::normal, 100, io.get_executor(), stats);
            std::promise<void> entered, release;
            worker.submit(
                std::make_unique<gate_task>(entered, release.get_future().share(), recs[0]));
            entered.get_future().wait();
            for (std::size_t i = 0; i < tasks.size(); ++i)
                worker.submit(
                    std::make_unique<append_task>(recs[i + 1], tasks[i].first, tasks[i].second));
            release.set_value();
            worker.stop();
        }
        io.run();
        return recs;
    }

    std::vector<core::message_record> stored()
    {
        chatd::storage::sqlite_store s(db);
        return s.messages_before("r", std::nullopt, 100);
    }
};

} // namespace

TEST_CASE("storage worker: a batch with no failure runs each task once and commits all")
{
    fixture f;
    auto recs = f.run_batch({{"a", false}, {"b", false}, {"c", false}});
    for (auto const& r : recs) {
        CHECK(r.runs == 1);
        CHECK(r.done);
        CHECK(r.failed.empty());
    }
    auto msgs = f.stored();
    REQUIRE(msgs.size() == 3);
    CHECK(msgs[0].text == "a");
    CHECK(msgs[2].seq == 3);
}

TEST_CASE("storage worker: a task that throws is undone alone - the rest of its batch commits")
{
    fixture f;
    auto recs = f.run_batch({{"a", false}, {"b", true}, {"c", false}});
    // The first attempt stopped at "b" and was rolled back; the second ran each task in its
    // own savepoint. "c" never ran in the first attempt.
    CHECK(recs[1].runs == 2);
    CHECK(recs[2].runs == 2);
    CHECK(recs[3].runs == 1);
    CHECK(recs[1].done);
    CHECK_FALSE(recs[2].done);
    CHECK(recs[2].failed == "disk full (test)");
    CHECK(recs[3].done);
    auto msgs = f.stored();
    REQUIRE(msgs.size() == 2);
    CHECK(msgs[0].text == "a");
    CHECK(msgs[0].seq == 1);
    CHECK(msgs[1].text == "c");
    CHECK(msgs[1].seq == 2); // no gap where "b" was undone
}

TEST_CASE("storage worker: under steady load the log file starts over at a few MB")
{
    // A log that keeps growing makes every commit's fdatasync write the file's inode as well,
    // so the worker has the log start over once it passes 4 MB. Here 1,000 commits of 64 KB
    // each (64 MB of log in all) arrive one after another, paced so that the 100 ms
    // checkpointer sees them: the -wal file must stay far below the 64 MB it would otherwise
    // reach.
    fixture f;
    chatd::storage::sqlite_store(f.db).create_room("r", 1);
    auto guard = net::make_work_guard(f.io);
    std::uintmax_t largest = 0;
    {
        storage_worker worker(
            f.db, chatd::storage::durability::normal, 100, f.io.get_executor(), f.stats);
        std::string body(64 * 1024, 'x');
        std::vector<record> recs(1000);
        for (auto& rec : recs) {
            worker.submit(std::make_unique<append_task>(rec, body));
            f.io.run_one(); // this task's completion: it is committed
            REQUIRE(rec.done);
            std::error_code ec;
            largest = std::max(largest, std::filesystem::file_size(f.db + "-wal", ec));
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
        worker.stop();
    }
    INFO("largest -wal file: " << largest << " bytes");
    CHECK(largest > 4u << 20); // the log did reach the restart point
    CHECK(largest < 16u << 20);
    auto newest = f.stored();
    REQUIRE_FALSE(newest.empty());
    CHECK(newest.back().seq == 1000);
}
