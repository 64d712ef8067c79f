#include "ops/descriptors.hpp"

#include <algorithm>

#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

namespace chatd::server {

std::size_t prepare_descriptors(std::size_t presize)
{
    rlimit lim{};
    if (getrlimit(RLIMIT_NOFILE, &lim) != 0)
        return presize;
    if (lim.rlim_cur != RLIM_INFINITY &&
        (lim.rlim_max == RLIM_INFINITY || lim.rlim_cur < lim.rlim_max)) {
        rlimit raised = lim;
        // An unlimited hard limit is still capped by the kernel (fs.nr_open, 1048576 by default).
        raised.rlim_cur = lim.rlim_max == RLIM_INFINITY ? 1048576 : lim.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &raised) == 0)
            lim = raised;
    }
    auto soft = lim.rlim_cur == RLIM_INFINITY ? presize : std::size_t(lim.rlim_cur);

    // Any open descriptor will do as the source; stdin may have been closed by whoever
    // started us, /dev/null is the fallback.
    int source = -1;
    for (int fd : {0, 1, 2})
        if (fcntl(fd, F_GETFD) != -1) {
            source = fd;
            break;
        }
    bool opened = false;
    if (source < 0) {
        source = open("/dev/null", O_RDONLY | O_CLOEXEC);
        opened = source >= 0;
    }
    auto top = std::min(soft, presize);
    if (source >= 0 && top > 1) {
        // The lowest free descriptor at or above top - 1: the table grows to hold it.
        int high = fcntl(source, F_DUPFD_CLOEXEC, int(top - 1));
        if (high >= 0)
            close(high);
    }
    if (opened)
        close(source);
    return soft;
}

} // namespace chatd::server
