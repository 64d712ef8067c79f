#include "../support/chat_cases.hpp"
#include "../support/memory_store.hpp"

using chatd::test::memory_store;
namespace core = chatd::core;

TEST_CASE_TEMPLATE_INVOKE(chat_connect, memory_store);
TEST_CASE_TEMPLATE_INVOKE(chat_broadcast, memory_store);
TEST_CASE_TEMPLATE_INVOKE(chat_create, memory_store);
TEST_CASE_TEMPLATE_INVOKE(chat_join, memory_store);
TEST_CASE_TEMPLATE_INVOKE(chat_send, memory_store);
TEST_CASE_TEMPLATE_INVOKE(chat_leave, memory_store);
TEST_CASE_TEMPLATE_INVOKE(chat_history, memory_store);
TEST_CASE_TEMPLATE_INVOKE(chat_default, memory_store);
TEST_CASE_TEMPLATE_INVOKE(chat_disconnect, memory_store);

namespace {

/// A store whose every write fails, as a full disk would.
class failing_store final : public memory_store
{
public:
    core::message_record append_message(std::string_view,
                                        std::string_view,
                                        std::string_view,
                                        std::string_view,
                                        core::epoch_ms) override
    {
        throw core::store_error("disk I/O error");
    }
};

} // namespace

TEST_CASE("chat: a store failure propagates as a function error - not an error frame")
{
    chatd::test::chat_harness<failing_store> h;
    chatd::test::lobby_with_alice_and_bob(h);
    CHECK_THROWS_AS(
        h.frame(chatd::test::A, R"({"action":"sendMessage","roomId":"lobby","message":"x"})"),
        core::store_error);
}
