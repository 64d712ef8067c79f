#pragma once

#include <chatd/core/store.hpp>

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace chatd::storage::detail {

struct db_closer
{
    void operator()(sqlite3* p) const noexcept { sqlite3_close_v2(p); }
};

struct stmt_closer
{
    void operator()(sqlite3_stmt* p) const noexcept { sqlite3_finalize(p); }
};

using db_ptr = std::unique_ptr<sqlite3, db_closer>;
using stmt_ptr = std::unique_ptr<sqlite3_stmt, stmt_closer>;

[[noreturn]] inline void fail(sqlite3* db, std::string_view what)
{
    throw core::store_error(std::string(what) + ": " + sqlite3_errmsg(db));
}

/// Throws store_error when an SQLite call that returns a result code did not succeed.
inline void check(sqlite3* db, int rc, std::string_view what)
{
    if (rc != SQLITE_OK)
        throw core::store_error(std::string(what) + ": " + sqlite3_errstr(rc) +
                                (db ? std::string(" (") + sqlite3_errmsg(db) + ")" : ""));
}

/// Run SQL with no results (schema, pragmas); throws store_error.
inline void exec(sqlite3* db, char const* sql)
{
    char* err = nullptr;
    if (sqlite3_exec(db, sql, nullptr, nullptr, &err) != SQLITE_OK) {
        std::string msg = err ? err : "unknown error";
        sqlite3_free(err);
        throw core::store_error(std::string("sqlite: ") + msg);
    }
}

/// A statement prepared once and reused. Each use: bind, step until done, and the scope
/// guard returned by run() resets it and clears its bindings.
class statement
{
public:
    statement(sqlite3* db, char const* sql)
        : db_(db)
    {
        sqlite3_stmt* raw = nullptr;
        if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &raw, nullptr) != SQLITE_OK)
            fail(db, std::string("prepare '") + sql + "'");
        stmt_.reset(raw);
    }

    /// Resets the statement when a use ends, whether it finished or threw.
    class use
    {
    public:
        explicit use(statement& s)
            : s_(s)
        {}

        ~use()
        {
            sqlite3_reset(s_.stmt_.get());
            sqlite3_clear_bindings(s_.stmt_.get());
        }

        use(use const&) = delete;
        use& operator=(use const&) = delete;

        /// Bind text without a copy: SQLite reads `v` in place, so it must stay valid for as
        /// long as this use lasts (its end clears the bindings). A temporary string would not.
        use& bind(int i, std::string_view v)
        {
            check(sqlite3_bind_text(
                s_.stmt_.get(), i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC));
            return *this;
        }

        use& bind(int i, std::string&& v) = delete;

        use& bind(int i, std::int64_t v)
        {
            check(sqlite3_bind_int64(s_.stmt_.get(), i, v));
            return *this;
        }

        /// Step once: true when a row is available, false when done.
        bool step()
        {
            int rc = sqlite3_step(s_.stmt_.get());
            if (rc == SQLITE_ROW)
                return true;
            if (rc == SQLITE_DONE)
                return false;
            fail(s_.db_, "step");
        }

        std::string text(int col) const
        {
            auto const* p = sqlite3_column_text(s_.stmt_.get(), col);
            auto n = sqlite3_column_bytes(s_.stmt_.get(), col);
            return p ? std::string(reinterpret_cast<char const*>(p), std::size_t(n))
                     : std::string();
        }

        std::int64_t integer(int col) const { return sqlite3_column_int64(s_.stmt_.get(), col); }

        /// Rows changed by the last step of an INSERT/UPDATE/DELETE.
        int changes() const { return sqlite3_changes(s_.db_); }

    private:
        void check(int rc)
        {
            if (rc != SQLITE_OK)
                fail(s_.db_, "bind");
        }

        statement& s_;
    };

    use run() { return use(*this); }

private:
    sqlite3* db_;
    stmt_ptr stmt_;
};

} // namespace chatd::storage::detail
