#include "transport/ws_session.ipp"

namespace chatd::server {

template class basic_ws_session<transport>;

} // namespace chatd::server
