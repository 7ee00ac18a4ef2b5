// The PROXY protocol header (haproxy's proxy-protocol.txt, versions 1 and 2)
// that the relay writes to a target before the client's first byte, so a
// server behind a host-to-host forward or a UNIX socket sees the client.
#include <arpa/inet.h>
#include <string.h>

#include "relay/relay.h"

namespace rk {
namespace relay {

std::string ProxyHeader(int version, const Addr& client, const Addr& local) {
  Addr c = client.Unmapped(), l = local.Unmapped();
  bool ip = (c.family() == AF_INET || c.family() == AF_INET6) && c.family() == l.family();
  if (version == 1) {
    if (!ip) return "PROXY UNKNOWN\r\n";
    char a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN];
    if (c.family() == AF_INET) {
      inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&c.ss)->sin_addr, a, sizeof a);
      inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&l.ss)->sin_addr, b, sizeof b);
    } else {
      inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&c.ss)->sin6_addr, a, sizeof a);
      inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&l.ss)->sin6_addr, b, sizeof b);
    }
    return std::string("PROXY ") + (c.family() == AF_INET ? "TCP4 " : "TCP6 ") + a + " " + b + " " + std::to_string(c.port()) + " " +
           std::to_string(l.port()) + "\r\n";
  }
  static const char sig[12] = {'\r', '\n', '\r', '\n', '\0', '\r', '\n', 'Q', 'U', 'I', 'T', '\n'};
  std::string h(sig, sizeof sig);
  if (!ip) {
    h += '\x20';  // version 2, LOCAL: the server uses the connection's own addresses
    h += '\x00';
    h += '\x00';
    h += '\x00';
    return h;
  }
  h += '\x21';  // version 2, PROXY
  uint16_t len;
  std::string body;
  auto port = [](uint16_t p) { return std::string{(char)(p >> 8), (char)(p & 0xff)}; };
  if (c.family() == AF_INET) {
    h += '\x11';  // TCP over IPv4
    len = 12;
    body.append(reinterpret_cast<const char*>(&reinterpret_cast<const sockaddr_in*>(&c.ss)->sin_addr), 4);
    body.append(reinterpret_cast<const char*>(&reinterpret_cast<const sockaddr_in*>(&l.ss)->sin_addr), 4);
  } else {
    h += '\x21';  // TCP over IPv6
    len = 36;
    body.append(reinterpret_cast<const char*>(reinterpret_cast<const sockaddr_in6*>(&c.ss)->sin6_addr.s6_addr), 16);
    body.append(reinterpret_cast<const char*>(reinterpret_cast<const sockaddr_in6*>(&l.ss)->sin6_addr.s6_addr), 16);
  }
  body += port(c.port());
  body += port(l.port());
  h += (char)(len >> 8);
  h += (char)(len & 0xff);
  return h + body;
}

}  // namespace relay
}  // namespace rk
