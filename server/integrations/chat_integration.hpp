#pragma once

#include <chatd/core/chat.hpp>

#include "integrations/integration.hpp"
#include "integrations/storage_worker.hpp"

namespace chatd::server {

/// The built-in chat app as an integration: each event runs core::chat_app::handle on the
/// storage thread, and its result is reported after the batch holding it commits.
class chat_integration final : public integration
{
public:
    chat_integration(core::chat_app const& app, storage_worker& worker);

    void invoke(core::event ev, completion done) override;

private:
    core::chat_app const& app_;
    storage_worker& worker_;
};

} // namespace chatd::server
