#pragma once

#include <chatd/aws/dynamodb.hpp>
#include <chatd/core/store.hpp>

#include <boost/json/array.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <unordered_map>

namespace chatd::storage {

/// The four tables the chat app keeps in DynamoDB.
struct dynamodb_tables
{
    std::string connections; ///< connectionId; name, connectedAt, rooms (set), expiresAt (TTL)
    std::string rooms;       ///< roomId; createdAt, joins (a counter that orders joins)
    std::string members;     ///< roomId + connectionId; name, joinOrder, expiresAt (TTL)
    std::string messages;    ///< roomId + seq; connectionId, name, text, sentAt, writeId

    /// CONNECTIONS_TABLE, ROOMS_TABLE, MEMBERS_TABLE and MESSAGES_TABLE; throws naming the
    /// first one missing.
    static dynamodb_tables from_environment();

    /// The CreateTable inputs for these names (on-demand billing), as the template declares
    /// them: for tests and for local set-up.
    boost::json::array create_table_inputs() const;
};

/// core::store on DynamoDB, for the chat app running as a Lambda function. Every operation is
/// single-item conditional writes plus keyed reads (no transactions), ordered so that a
/// function that dies between two writes leaves nothing a reader would trust wrongly:
///
/// - Message seq is gapless per room with no counter: a message is written at seq n only if
///   no item has that key (attribute_not_exists); a writer that loses the race reads the
///   newest seq and tries the next one. A seq exists only once its message does, so a crash
///   cannot leave a hole, and many senders on many instances never share one.
/// - A connection's item lists its rooms, written before the membership item on join and
///   removed after it on leave, so the list always covers the memberships and $disconnect
///   finds every one.
/// - Connections and memberships carry expiresAt (epoch seconds; the tables' TTL attribute):
///   API Gateway closes every connection within 2 hours and $disconnect is best-effort, so a
///   connection whose $disconnect was lost expires. Reads skip expired items, which DynamoDB
///   may keep for a while after their time.
class dynamodb_store : public core::store
{
public:
    struct options
    {
        dynamodb_tables tables;
        /// How long a connection may be kept: API Gateway's 2-hour limit plus a margin.
        std::chrono::seconds connection_lifetime{2 * 3600 + 300};
    };

    dynamodb_store(aws::dynamodb_client& client, options opts);

    void put_connection(core::connection_record const& c) override;
    std::optional<core::connection_record> get_connection(std::string_view id) override;
    std::vector<std::string> remove_connection(std::string_view id) override;
    core::id_list connection_ids() override;
    bool create_room(std::string_view room_id, core::epoch_ms created_at) override;
    bool room_exists(std::string_view room_id) override;
    std::vector<core::room_summary> list_rooms() override;
    bool add_member(std::string_view room_id,
                    std::string_view connection_id,
                    core::epoch_ms at) override;
    bool remove_member(std::string_view room_id, std::string_view connection_id) override;
    bool is_member(std::string_view room_id, std::string_view connection_id) override;
    std::vector<core::member> members(std::string_view room_id) override;
    core::id_list member_ids(std::string_view room_id) override;
    core::message_record append_message(std::string_view room_id,
                                        std::string_view connection_id,
                                        std::string_view name,
                                        std::string_view text,
                                        core::epoch_ms sent_at) override;
    std::vector<core::message_record> messages_before(std::string_view room_id,
                                                      std::optional<std::int64_t> before,
                                                      std::size_t limit) override;

    /// Times append_message lost a race for a seq and tried again (for tests).
    std::uint64_t seq_retries() const { return seq_retries_; }

private:
    boost::json::object call(std::string_view op, boost::json::object const& body);

    /// Run `op` page by page (LastEvaluatedKey into ExclusiveStartKey), handing each answer
    /// to `page`, until the last page or until `page` returns false.
    void each_page(std::string_view op,
                   boost::json::object req,
                   std::function<bool(boost::json::object&)> const& page);
    std::int64_t newest_seq(std::string_view room_id);

    aws::dynamodb_client& db_;
    options opts_;
    std::unordered_map<std::string, std::int64_t> last_seq_; ///< hint: newest seq seen per room
    std::uint64_t seq_retries_ = 0;
};

} // namespace chatd::storage
