// The options an application set on its socket before connect(), copied to
// the host socket that replaces it: read back from the original (through
// pidfd_getfd), set where they differ from a fresh socket's defaults.
#include "bypass/bypass_sockopt.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>

namespace rk {
namespace bypass {

namespace {

struct Opt {
  int level, name;
  bool tcp_only, udp_only, v4_only, v6_only, halve;
};

// halve: the kernel reports twice what was set (SO_SNDBUF, SO_RCVBUF).
const Opt kOpts[] = {
    {SOL_SOCKET, SO_REUSEADDR, false, false, false, false, false},
    {SOL_SOCKET, SO_REUSEPORT, false, false, false, false, false},
    {SOL_SOCKET, SO_KEEPALIVE, true, false, false, false, false},
    {SOL_SOCKET, SO_LINGER, false, false, false, false, false},
    {SOL_SOCKET, SO_SNDBUF, false, false, false, false, true},
    {SOL_SOCKET, SO_RCVBUF, false, false, false, false, true},
    {SOL_SOCKET, SO_SNDTIMEO_OLD, false, false, false, false, false},
    {SOL_SOCKET, SO_RCVTIMEO_OLD, false, false, false, false, false},
    {SOL_SOCKET, SO_BROADCAST, false, true, false, false, false},
    {SOL_SOCKET, SO_PRIORITY, false, false, false, false, false},
    {SOL_SOCKET, SO_RCVLOWAT, false, false, false, false, false},
    {SOL_SOCKET, SO_OOBINLINE, true, false, false, false, false},
    {SOL_SOCKET, SO_TIMESTAMP_OLD, false, false, false, false, false},
    {SOL_SOCKET, SO_BUSY_POLL, false, false, false, false, false},
    {IPPROTO_TCP, TCP_NODELAY, true, false, false, false, false},
    {IPPROTO_TCP, TCP_KEEPIDLE, true, false, false, false, false},
    {IPPROTO_TCP, TCP_KEEPINTVL, true, false, false, false, false},
    {IPPROTO_TCP, TCP_KEEPCNT, true, false, false, false, false},
    {IPPROTO_TCP, TCP_USER_TIMEOUT, true, false, false, false, false},
    {IPPROTO_TCP, TCP_MAXSEG, true, false, false, false, false},
    {IPPROTO_TCP, TCP_CORK, true, false, false, false, false},
    {IPPROTO_TCP, TCP_QUICKACK, true, false, false, false, false},
    {IPPROTO_TCP, TCP_NOTSENT_LOWAT, true, false, false, false, false},
    {IPPROTO_TCP, TCP_CONGESTION, true, false, false, false, false},
    {IPPROTO_TCP, TCP_FASTOPEN_CONNECT, true, false, false, false, false},
    {IPPROTO_IP, IP_TOS, false, false, true, false, false},
    {IPPROTO_IP, IP_TTL, false, false, true, false, false},
    {IPPROTO_IP, IP_MTU_DISCOVER, false, false, true, false, false},
    {IPPROTO_IP, IP_RECVERR, false, false, true, false, false},
    {IPPROTO_IP, IP_PKTINFO, false, true, true, false, false},
    {IPPROTO_IP, IP_RECVTOS, false, false, true, false, false},
    {IPPROTO_IPV6, IPV6_V6ONLY, false, false, false, true, false},
    {IPPROTO_IPV6, IPV6_TCLASS, false, false, false, true, false},
    {IPPROTO_IPV6, IPV6_UNICAST_HOPS, false, false, false, true, false},
    {IPPROTO_IPV6, IPV6_MTU_DISCOVER, false, false, false, true, false},
    {IPPROTO_IPV6, IPV6_RECVERR, false, false, false, true, false},
    {IPPROTO_IPV6, IPV6_RECVPKTINFO, false, true, false, true, false},
    {IPPROTO_IPV6, IPV6_RECVTCLASS, false, false, false, true, false},
};

}  // namespace

int CopySockopts(int from, int to, int family, int type) {
  int copied = 0;
  bool tcp = type == SOCK_STREAM;
  for (const Opt& o : kOpts) {
    if ((o.tcp_only && !tcp) || (o.udp_only && tcp) || (o.v4_only && family != AF_INET) ||
        (o.v6_only && family != AF_INET6))
      continue;
    char a[64], b[64];
    socklen_t alen = sizeof a, blen = sizeof b;
    if (getsockopt(from, o.level, o.name, a, &alen) < 0) continue;
    if (getsockopt(to, o.level, o.name, b, &blen) < 0) continue;
    if (alen == blen && memcmp(a, b, alen) == 0) continue;
    if (o.halve && alen == sizeof(int)) {
      int v;
      memcpy(&v, a, sizeof v);
      v /= 2;
      memcpy(a, &v, sizeof v);
    }
    // TCP_CONGESTION reads back a NUL-padded name: set the name itself.
    if (o.name == TCP_CONGESTION && o.level == IPPROTO_TCP) alen = (socklen_t)strnlen(a, alen);
    if (setsockopt(to, o.level, o.name, a, alen) == 0) copied++;
  }
  return copied;
}

}  // namespace bypass
}  // namespace rk
