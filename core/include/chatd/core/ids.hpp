#pragma once

#include <array>
#include <cstdint>
#include <mutex>
#include <random>
#include <string>
#include <string_view>

namespace chatd::core {

/// The raw bytes behind an API Gateway id (connection, request, message): 11 bytes.
using id_bytes = std::array<std::uint8_t, 11>;

/// Encode 11 bytes the way API Gateway's ids look: URL-safe base64, 15 characters and one '='.
std::string encode_id(id_bytes const& bytes);

/// True when `id` has API Gateway's id shape: ^[A-Za-z0-9_-]{15}=$.
bool is_valid_id(std::string_view id);

/// Source of fresh ids. Implementations must be safe to call from any thread.
class id_source
{
public:
    virtual ~id_source() = default;

    /// A new id in API Gateway's shape; never the same value twice in practice (88 random bits).
    virtual std::string next_id() = 0;

    /// `n` random lower-case hex digits (X-Amzn-Trace-Id and similar).
    virtual std::string hex(std::size_t n) = 0;
};

/// id_source backed by a 64-bit Mersenne Twister seeded from std::random_device (or a fixed
/// seed, for tests). A mutex makes it callable from the I/O and storage threads alike.
class random_id_source final : public id_source
{
public:
    random_id_source();
    explicit random_id_source(std::uint64_t seed);

    std::string next_id() override;
    std::string hex(std::size_t n) override;

private:
    std::mutex mutex_;
    std::mt19937_64 rng_;
};

} // namespace chatd::core
