#include <chatd/core/chars.hpp>
#include <chatd/core/ids.hpp>

#include <cerrno>
#include <system_error>
#include <vector>

#include <sys/random.h>

namespace chatd::core {
namespace {

constexpr std::string_view url_alphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

} // namespace

std::string encode_id(id_bytes const& bytes)
{
    // 88 bits -> 14 full sextets plus 4 bits (padded with two zero bits), then one '='.
    // Written into a fixed buffer and copied into the string once.
    char out[16];
    std::size_t k = 0;
    std::uint32_t acc = 0;
    int bits = 0;
    for (auto b : bytes) {
        acc = (acc << 8) | b;
        bits += 8;
        while (bits >= 6) {
            bits -= 6;
            out[k++] = url_alphabet[(acc >> bits) & 0x3f];
        }
    }
    out[k++] = url_alphabet[(acc << (6 - bits)) & 0x3f];
    out[k++] = '=';
    return std::string(out, k);
}

bool is_valid_id(std::string_view id)
{
    if (id.size() != 16 || id.back() != '=')
        return false;
    for (std::size_t i = 0; i < 15; ++i)
        if (!is_base64url_char(id[i]))
            return false;
    return true;
}

void system_id_source::take(std::uint8_t* out, std::size_t n)
{
    for (std::size_t i = 0; i < n; ++i) {
        if (used_ == pool_.size()) {
            std::size_t filled = 0;
            while (filled < pool_.size()) {
                auto got = ::getrandom(pool_.data() + filled, pool_.size() - filled, 0);
                if (got < 0 && errno != EINTR)
                    throw std::system_error(errno, std::generic_category(), "getrandom");
                if (got > 0)
                    filled += static_cast<std::size_t>(got);
            }
            used_ = 0;
        }
        out[i] = pool_[used_];
        pool_[used_++] = 0; // a byte handed out is not kept
    }
}

std::string system_id_source::next_id()
{
    id_bytes bytes{};
    {
        std::lock_guard lock(mutex_);
        take(bytes.data(), bytes.size());
    }
    return encode_id(bytes);
}

std::string system_id_source::hex(std::size_t n)
{
    static constexpr std::string_view digits = "0123456789abcdef";
    std::string out(n, '0');
    std::vector<std::uint8_t> raw((n + 1) / 2);
    {
        std::lock_guard lock(mutex_);
        take(raw.data(), raw.size());
    }
    for (std::size_t i = 0; i < n; ++i)
        out[i] = digits[(raw[i / 2] >> (i % 2 ? 4 : 0)) & 0xf];
    return out;
}

random_id_source::random_id_source(std::uint64_t seed)
    : rng_(seed)
{}

std::string random_id_source::next_id()
{
    id_bytes bytes{};
    {
        std::lock_guard lock(mutex_);
        auto a = rng_();
        auto b = rng_();
        for (std::size_t i = 0; i < 8; ++i)
            bytes[i] = static_cast<std::uint8_t>(a >> (8 * i));
        for (std::size_t i = 8; i < bytes.size(); ++i)
            bytes[i] = static_cast<std::uint8_t>(b >> (8 * (i - 8)));
    }
    return encode_id(bytes);
}

std::string random_id_source::hex(std::size_t n)
{
    static constexpr std::string_view digits = "0123456789abcdef";
    std::string out(n, '0');
    std::lock_guard lock(mutex_);
    for (auto& c : out)
        c = digits[rng_() & 0xf];
    return out;
}

} // namespace chatd::core
