#pragma once

// Every statement the store runs on the chat path, by name. Kept here so tests can check each
// one's query plan against the real schema.
namespace chatd::storage::sql {

inline constexpr char const* put_connection =
    "INSERT OR REPLACE INTO connections"
    " (connection_id, name, connected_at, source_ip, user_agent)"
    " VALUES (?1, ?2, ?3, ?4, ?5)";
inline constexpr char const* get_connection =
    "SELECT connection_id, name, connected_at, source_ip, user_agent"
    " FROM connections WHERE connection_id = ?1";
inline constexpr char const* rooms_of =
    "SELECT room_id FROM memberships WHERE connection_id = ?1 ORDER BY rowid";
inline constexpr char const* delete_memberships_of =
    "DELETE FROM memberships WHERE connection_id = ?1";
inline constexpr char const* delete_connection = "DELETE FROM connections WHERE connection_id = ?1";
inline constexpr char const* connection_ids = "SELECT connection_id FROM connections";
inline constexpr char const* create_room = "INSERT INTO rooms (room_id, created_at) VALUES (?1, ?2)"
                                           " ON CONFLICT (room_id) DO NOTHING";
inline constexpr char const* room_exists = "SELECT 1 FROM rooms WHERE room_id = ?1";
inline constexpr char const* list_rooms =
    "SELECT r.room_id, r.created_at,"
    " (SELECT count(*) FROM memberships m WHERE m.room_id = r.room_id)"
    " FROM rooms r ORDER BY r.created_at, r.room_id";
inline constexpr char const* add_member =
    "INSERT INTO memberships (room_id, connection_id, joined_at)"
    " VALUES (?1, ?2, ?3) ON CONFLICT (room_id, connection_id) DO NOTHING";
inline constexpr char const* remove_member =
    "DELETE FROM memberships WHERE room_id = ?1 AND connection_id = ?2";
inline constexpr char const* is_member =
    "SELECT 1 FROM memberships WHERE room_id = ?1 AND connection_id = ?2";
inline constexpr char const* members = "SELECT m.connection_id, c.name FROM memberships m"
                                       " JOIN connections c ON c.connection_id = m.connection_id"
                                       " WHERE m.room_id = ?1 ORDER BY m.rowid";
inline constexpr char const* max_seq = "SELECT max(seq) FROM messages WHERE room_id = ?1";
inline constexpr char const* insert_message =
    "INSERT INTO messages (room_id, seq, connection_id, name, body, sent_at)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
inline constexpr char const* messages_newest =
    "SELECT seq, connection_id, name, body, sent_at FROM messages"
    " WHERE room_id = ?1 ORDER BY seq DESC LIMIT ?2";
inline constexpr char const* messages_before =
    "SELECT seq, connection_id, name, body, sent_at FROM messages"
    " WHERE room_id = ?1 AND seq < ?2 ORDER BY seq DESC LIMIT ?3";

/// The statements above, for plan checks.
inline constexpr char const* const all[] = {put_connection,
                                            get_connection,
                                            rooms_of,
                                            delete_memberships_of,
                                            delete_connection,
                                            connection_ids,
                                            create_room,
                                            room_exists,
                                            list_rooms,
                                            add_member,
                                            remove_member,
                                            is_member,
                                            members,
                                            max_seq,
                                            insert_message,
                                            messages_newest,
                                            messages_before};

} // namespace chatd::storage::sql
