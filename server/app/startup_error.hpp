#pragma once

#include <stdexcept>

namespace chatd::server {

/// A setting that cannot be used (bad routes file, unwritable event log, a template that
/// cannot run): chatd prints its one line and exits with 2.
struct startup_error : std::runtime_error
{
    using std::runtime_error::runtime_error;
};

} // namespace chatd::server
