// Addresses, listening sockets and the small socket helpers of the relay.
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/tcp.h>
#include <netinet/udp.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "relay/relay.h"

namespace rk {
namespace relay {

uint16_t Addr::port() const {
  if (ss.ss_family == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in*>(&ss)->sin_port);
  if (ss.ss_family == AF_INET6) return ntohs(reinterpret_cast<const sockaddr_in6*>(&ss)->sin6_port);
  return 0;
}

void Addr::SetPort(uint16_t p) {
  if (ss.ss_family == AF_INET) reinterpret_cast<sockaddr_in*>(&ss)->sin_port = htons(p);
  if (ss.ss_family == AF_INET6) reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port = htons(p);
}

bool Addr::IsLoopback() const { return IsLoopbackAddress(ss); }

Addr Addr::Unmapped() const {
  if (ss.ss_family != AF_INET6) return *this;
  const sockaddr_in6* s6 = reinterpret_cast<const sockaddr_in6*>(&ss);
  if (!IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) return *this;
  Addr out;
  sockaddr_in* s4 = reinterpret_cast<sockaddr_in*>(&out.ss);
  s4->sin_family = AF_INET;
  s4->sin_port = s6->sin6_port;
  memcpy(&s4->sin_addr, &s6->sin6_addr.s6_addr[12], 4);
  out.len = sizeof(sockaddr_in);
  return out;
}

std::string Addr::ToString() const {
  char buf[INET6_ADDRSTRLEN] = "?";
  if (ss.ss_family == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&ss)->sin_addr, buf, sizeof buf);
    return std::string(buf) + ":" + std::to_string(port());
  }
  if (ss.ss_family == AF_INET6) {
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&ss)->sin6_addr, buf, sizeof buf);
    return "[" + std::string(buf) + "]:" + std::to_string(port());
  }
  if (ss.ss_family == AF_UNIX) return UnixAddrString(*this);
  return "?";
}

bool Addr::SameHost(const Addr& o) const {
  Addr a = Unmapped(), b = o.Unmapped();
  if (a.family() != b.family()) return false;
  if (a.family() == AF_INET) {
    return reinterpret_cast<const sockaddr_in*>(&a.ss)->sin_addr.s_addr == reinterpret_cast<const sockaddr_in*>(&b.ss)->sin_addr.s_addr;
  }
  if (a.family() == AF_INET6) {
    return IN6_ARE_ADDR_EQUAL(&reinterpret_cast<const sockaddr_in6*>(&a.ss)->sin6_addr, &reinterpret_cast<const sockaddr_in6*>(&b.ss)->sin6_addr);
  }
  return false;
}

bool ParseAddr(const std::string& ip, int port, Addr* out) {
  *out = Addr();
  sockaddr_in* s4 = reinterpret_cast<sockaddr_in*>(&out->ss);
  if (inet_pton(AF_INET, ip.c_str(), &s4->sin_addr) == 1) {
    s4->sin_family = AF_INET;
    s4->sin_port = htons((uint16_t)port);
    out->len = sizeof(sockaddr_in);
    return true;
  }
  sockaddr_in6* s6 = reinterpret_cast<sockaddr_in6*>(&out->ss);
  if (inet_pton(AF_INET6, ip.c_str(), &s6->sin6_addr) == 1) {
    s6->sin6_family = AF_INET6;
    s6->sin6_port = htons((uint16_t)port);
    out->len = sizeof(sockaddr_in6);
    return true;
  }
  return false;
}

static bool IsWildcard(const Addr& a) {
  if (a.family() == AF_INET) return reinterpret_cast<const sockaddr_in*>(&a.ss)->sin_addr.s_addr == INADDR_ANY;
  return IN6_IS_ADDR_UNSPECIFIED(&reinterpret_cast<const sockaddr_in6*>(&a.ss)->sin6_addr);
}

int OpenListener(const Addr& a, int type, bool v6only, Addr* bound) {
  int fd = socket(a.family(), type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -errno;
  int one = 1, zero = 0;
  auto fail = [fd]() {
    int err = errno;
    close(fd);
    return -err;
  };
  if (type == SOCK_STREAM && setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0) return fail();
  if (a.family() == AF_INET6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, v6only ? &one : &zero, sizeof one) < 0) return fail();
  if (type == SOCK_DGRAM && IsWildcard(a)) {
    // Replies leave from the address the client sent to (a multi-homed host).
    if (a.family() == AF_INET) {
      if (setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof one) < 0) return fail();
    } else if (setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof one) < 0) {
      return fail();
    }
  }
  if (type == SOCK_DGRAM) {
    // Room for bursts while the worker is off the CPU: more datagrams per
    // recvmmsg, fewer lost (the kernel caps it at net.core.rmem_max).
    int size = 1 << 20;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
    // A client's run of same-size datagrams (a UDP GSO send, or what the
    // kernel's GRO merges) arrives as one message (relay_udp.h); where the
    // kernel lacks UDP_GRO (before 5.0), one by one as before.
    setsockopt(fd, SOL_UDP, UDP_GRO, &one, sizeof one);
  }
  if (bind(fd, reinterpret_cast<const sockaddr*>(&a.ss), a.len) < 0) return fail();
  if (type == SOCK_STREAM && listen(fd, SOMAXCONN) < 0) return fail();
  bound->len = sizeof bound->ss;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&bound->ss), &bound->len) < 0) return fail();
  return fd;
}


int BindTransparent(int fd, const Addr& client) {
  int one = 1;
  int r = client.family() == AF_INET ? setsockopt(fd, IPPROTO_IP, IP_TRANSPARENT, &one, sizeof one)
                                     : setsockopt(fd, IPPROTO_IPV6, IPV6_TRANSPARENT, &one, sizeof one);
  if (r < 0) return errno;
  // A previous connection from the same client port may linger in TIME_WAIT.
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind(fd, reinterpret_cast<const sockaddr*>(&client.ss), client.len) < 0) return errno;
  return 0;
}

bool IsLocalTarget(int udp, const Addr& target) {
  bool local = target.IsLoopback();
  if (!local && connect(udp, reinterpret_cast<const sockaddr*>(&target.ss), target.len) == 0) {
    Addr src;
    src.len = sizeof src.ss;
    local = getsockname(udp, reinterpret_cast<sockaddr*>(&src.ss), &src.len) == 0 && src.SameHost(target);
  }
  close(udp);
  return local;
}

void SetNoDelay(int fd) {
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

void ResetClose(int fd) {
  struct linger l = {1, 0};
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
  close(fd);
}

}  // namespace relay
}  // namespace rk
