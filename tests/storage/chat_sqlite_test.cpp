// The chat protocol's cases again, now over the real SQLite store.
#include <chatd/storage/sqlite_store.hpp>

#include "../support/chat_cases.hpp"

namespace {

struct sqlite_memory : chatd::storage::sqlite_store
{
    sqlite_memory()
        : sqlite_store(":memory:")
    {}
};

} // namespace

TEST_CASE_TEMPLATE_INVOKE(chat_connect, sqlite_memory);
TEST_CASE_TEMPLATE_INVOKE(chat_broadcast, sqlite_memory);
TEST_CASE_TEMPLATE_INVOKE(chat_create, sqlite_memory);
TEST_CASE_TEMPLATE_INVOKE(chat_join, sqlite_memory);
TEST_CASE_TEMPLATE_INVOKE(chat_send, sqlite_memory);
TEST_CASE_TEMPLATE_INVOKE(chat_leave, sqlite_memory);
TEST_CASE_TEMPLATE_INVOKE(chat_history, sqlite_memory);
TEST_CASE_TEMPLATE_INVOKE(chat_default, sqlite_memory);
TEST_CASE_TEMPLATE_INVOKE(chat_disconnect, sqlite_memory);
