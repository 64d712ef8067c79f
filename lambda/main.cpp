// chat-lambda: chatd's chat app as an AWS Lambda function (runtime provided.al2023). Lambda,
// or chatd --template, starts it through the package's bootstrap script.
#include "chat_function.hpp"
#include "runtime_client.hpp"

int main()
{
    return chatd::lambda::run([] {
        auto fn = std::make_shared<chatd::lambda::chat_function>();
        return [fn](chatd::lambda::invocation const& inv) {
            return (*fn)(inv);
        };
    });
}
