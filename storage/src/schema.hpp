#pragma once

#include <sqlite3.h>

namespace chatd::storage::detail {

/// Number of the newest migration; PRAGMA user_version holds the applied one.
int latest_schema_version();

/// Apply every migration newer than the file's user_version, each in its own transaction.
/// Throws store_error; refuses a file written by a newer chatd.
void migrate(sqlite3* db);

} // namespace chatd::storage::detail
