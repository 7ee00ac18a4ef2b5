// TCP over loopback, shared by the relay (relay_*.cc) and the NAT engine
// (slirp_loop.cc): both make connections to the host's own addresses.
#pragma once
#include <sys/socket.h>

namespace rk {

// Over loopback a connection has no path to probe, yet BBR (a common system
// default) paces it with an hrtimer per burst (tcp_pace_kick: tens of
// thousands of timer interrupts a second), which halved what the relay moved.
// Puts cubic on the socket, else reno: cubic needs CAP_NET_ADMIN in the
// socket's namespace unless the admin allowed it (we have it in the child's
// namespace); reno is always allowed.
void UseLoopbackCongestion(int fd);

// Whether an address is a loopback address: 127.0.0.0/8, ::1, or a
// v4-mapped 127.x.
bool IsLoopbackAddress(const struct sockaddr_storage& ss);

// Whether the socket's own (bound or connect-chosen) address is one.
bool LocalAddressIsLoopback(int fd);

}  // namespace rk
