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

/// id_source backed by the operating system's CSPRNG (getrandom), read 256 bytes at a time.
/// Connection ids are capabilities for the management API, so they must not be predictable
/// from ids seen before. A mutex makes it callable from the I/O and storage threads alike.
class system_id_source final : public id_source
{
public:
    std::string next_id() override;
    std::string hex(std::size_t n) override;

private:
    /// `n` bytes from the pool, refilled from getrandom when empty. Call with mutex_ held.
    void take(std::uint8_t* out, std::size_t n);

    std::mutex mutex_;
    std::array<std::uint8_t, 256> pool_{};
    std::size_t used_ = 256;
};

/// A reproducible id_source: a 64-bit Mersenne Twister from a fixed seed, for tests only
/// (its ids are predictable).
class random_id_source final : public id_source
{
public:
    explicit random_id_source(std::uint64_t seed);

    std::string next_id() override;
    std::string hex(std::size_t n) override;

private:
    std::mutex mutex_;
    std::mt19937_64 rng_;
};

} // namespace chatd::core
