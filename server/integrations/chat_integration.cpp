#include "integrations/chat_integration.hpp"

namespace chatd::server {
namespace {

class chat_task final : public storage_task
{
public:
    chat_task(core::chat_app const& app, core::event ev, integration::completion done)
        : app_(app)
        , ev_(std::move(ev))
        , done_(std::move(done))
    {}

    void run(core::store& db) override { out_ = app_.handle(ev_, db); }

    void done() override
    {
        done_(invocation_result{invocation_result::status::ok, std::move(out_), {}});
    }

    void failed(std::string const& why) override
    {
        done_(invocation_result{invocation_result::status::function_error, {}, why});
    }

private:
    core::chat_app const& app_;
    core::event ev_;
    integration::completion done_;
    core::outcome out_;
};

} // namespace

chat_integration::chat_integration(core::chat_app const& app, storage_worker& worker)
    : app_(app)
    , worker_(worker)
{}

void chat_integration::invoke(core::event ev, completion done)
{
    worker_.submit(std::make_unique<chat_task>(app_, std::move(ev), std::move(done)));
}

} // namespace chatd::server
