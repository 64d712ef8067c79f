// W5's reference: how many chat messages per second SQLite can store on chatd's own schema,
// with chatd's own statements and transaction shape (one transaction per batch; chatd adds a
// savepoint per message only when a task in the batch fails), with nothing else running. chatd's
// persisted rate is compared to it. Usage: sqlite_ceiling DB_FILE ROOMS SECONDS_PER_POINT
#include <chatd/storage/sqlite_store.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

int main(int argc, char** argv)
{
    if (argc != 4) {
        std::fprintf(stderr, "usage: sqlite_ceiling DB_FILE ROOMS SECONDS\n");
        return 2;
    }
    std::string path = argv[1];
    int rooms = std::atoi(argv[2]);
    double seconds = std::atof(argv[3]);
    chatd::storage::sqlite_store db(path);
    db.put_connection({"AAAAAAAAAAAAAAA=", "bench", 1, "127.0.0.1", ""});
    std::vector<std::string> names;
    for (int r = 0; r < rooms; ++r) {
        names.push_back("r" + std::to_string(r));
        db.create_room(names.back(), 1);
    }
    std::string text(100, 'x');
    for (int batch : {1, 10, 100, 1000}) {
        auto start = std::chrono::steady_clock::now();
        auto until = start + std::chrono::duration<double>(seconds);
        long stored = 0;
        int room = 0;
        while (std::chrono::steady_clock::now() < until) {
            db.begin_batch();
            for (int i = 0; i < batch; ++i) {
                db.append_message(names[std::size_t(room)], "AAAAAAAAAAAAAAA=", "bench", text, 1);
                room = (room + 1) % rooms;
            }
            db.commit_batch();
            stored += batch;
        }
        double secs =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        std::printf("{\"workload\":\"W5-sqlite-ceiling\",\"rooms\":%d,\"batch\":%d,\"stored_per_"
                    "s\":%.0f}\n",
                    rooms,
                    batch,
                    double(stored) / secs);
        std::fflush(stdout);
    }
}
