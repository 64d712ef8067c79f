#include "frame_guard.hpp"

#include <algorithm>

namespace chatd::server {

void frame_limit::header_done()
{
    // RFC 6455 section 5.2: the payload length is known once the extended length is read.
    if (length_ > max_)
        exceeded_ = true;
    if (masked_) {
        mask_bytes_ = 4;
        state_ = state::mask;
        return;
    }
    remaining_ = length_;
    state_ = remaining_ ? state::payload : state::first;
}

void frame_limit::feed(unsigned char const* p, std::size_t n)
{
    std::size_t i = 0;
    while (i < n) {
        switch (state_) {
        case state::first:
            ++i;
            state_ = state::second;
            break;
        case state::second: {
            auto c = p[i++];
            masked_ = (c & 0x80) != 0;
            length_ = c & 0x7f;
            if (length_ == 126 || length_ == 127) {
                length_bytes_ = length_ == 126 ? 2 : 8;
                length_ = 0;
                state_ = state::length;
            } else {
                header_done();
            }
            break;
        }
        case state::length:
            length_ = (length_ << 8) | p[i++];
            if (--length_bytes_ == 0)
                header_done();
            break;
        case state::mask:
            ++i;
            if (--mask_bytes_ == 0) {
                remaining_ = length_;
                state_ = remaining_ ? state::payload : state::first;
            }
            break;
        case state::payload: {
            auto skip = static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, n - i));
            i += skip;
            remaining_ -= skip;
            if (remaining_ == 0)
                state_ = state::first;
            break;
        }
        }
    }
}

} // namespace chatd::server
