#pragma once

#include <chatd/core/clock.hpp>

namespace chatd::test {

/// A clock tests set by hand.
class fixed_clock final : public core::clock
{
public:
    explicit fixed_clock(core::epoch_ms t)
        : t_(t)
    {}

    core::epoch_ms now() const override { return t_; }

    void advance(core::epoch_ms by) { t_ += by; }

private:
    core::epoch_ms t_;
};

} // namespace chatd::test
