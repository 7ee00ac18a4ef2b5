// Destination checks: fixed rules, then the namespace's own routes.
#include "bypass/bypass_policy.h"

#include <arpa/inet.h>
#include <linux/rtnetlink.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "netlink/route_query.h"

namespace rk {
namespace bypass {

namespace {

// The address bytes routes and rules compare: v4 (4) or v6 (16).
int Bytes(const Dest& d, uint8_t out[16]) {
  if (d.family == AF_INET || d.mapped) {
    memcpy(out, &d.v4, 4);
    return AF_INET;
  }
  memcpy(out, &reinterpret_cast<const sockaddr_in6*>(&d.ss)->sin6_addr, 16);
  return AF_INET6;
}

bool InCidr(int family, const uint8_t* a, const Cidr& c) {
  if (family != c.family) return false;
  int bits = c.prefix;
  for (int i = 0; bits > 0; i++, bits -= 8) {
    uint8_t mask = bits >= 8 ? 0xff : (uint8_t)(0xff << (8 - bits));
    if ((a[i] & mask) != (c.addr[i] & mask)) return false;
  }
  return true;
}

}  // namespace

std::string Dest::ToString() const {
  char ip[INET6_ADDRSTRLEN] = "?";
  int port;
  if (family == AF_INET) {
    const sockaddr_in* s = reinterpret_cast<const sockaddr_in*>(&ss);
    inet_ntop(AF_INET, &s->sin_addr, ip, sizeof ip);
    port = ntohs(s->sin_port);
    return std::string(ip) + ":" + std::to_string(port);
  }
  const sockaddr_in6* s = reinterpret_cast<const sockaddr_in6*>(&ss);
  inet_ntop(AF_INET6, &s->sin6_addr, ip, sizeof ip);
  port = ntohs(s->sin6_port);
  return "[" + std::string(ip) + "]:" + std::to_string(port);
}

bool AlwaysLeft(const Dest& d, const std::vector<Cidr>& ignore) {
  uint8_t b[16];
  int fam = Bytes(d, b);
  if (fam == AF_INET) {
    uint32_t a = ntohl(d.v4.s_addr);
    if ((a >> 24) == 127 || (a >> 24) == 0 || (a >> 28) == 0xe || a == 0xffffffffu) return true;
    if ((a >> 16) == 0xa9fe) return true;  // 169.254/16: link-local
  } else {
    const in6_addr* a = reinterpret_cast<const in6_addr*>(b);
    if (IN6_IS_ADDR_LOOPBACK(a) || IN6_IS_ADDR_UNSPECIFIED(a) || IN6_IS_ADDR_MULTICAST(a) || IN6_IS_ADDR_LINKLOCAL(a) ||
        IN6_IS_ADDR_V4COMPAT(a) || IN6_IS_ADDR_SITELOCAL(a))
      return true;
  }
  for (const Cidr& c : ignore) {
    if (InCidr(fam, b, c)) return true;
  }
  return false;
}

bool Routes::ViaDefault(const Dest& d) {
  uint8_t b[16];
  int fam = Bytes(d, b);
  int i = fam == AF_INET6 ? 1 : 0;
  int n = fam == AF_INET ? 4 : 16;
  int64_t now = NowMs();
  if (now - gw_at_[i] >= 1000) {  // the namespace's network may change: at most 1 s stale
    gw_at_[i] = now;
    gw_ok_[i] = false;
    NlRouteDump(fd_, fam, [&](const RouteAnswer& a) {
      if (gw_ok_[i] || a.table != RT_TABLE_MAIN || a.dst_len != 0 || a.type != RTN_UNICAST || !a.has_gw) return;
      memcpy(gw_[i], a.gw, n);
      gw_ok_[i] = true;
    });
  }
  if (!gw_ok_[i]) return false;
  RouteAnswer got;
  if (NlRouteLookup(fd_, fam, b, &got) != 0) return false;
  return got.type == RTN_UNICAST && got.has_gw && memcmp(got.gw, gw_[i], n) == 0;
}

bool Routes::HostUnicast(const Dest& d, int* oif) {
  uint8_t b[16];
  int fam = Bytes(d, b);
  RouteAnswer got;
  if (NlRouteLookup(fd_, fam, b, &got) != 0) return false;
  *oif = got.oif;
  return got.type == RTN_UNICAST && got.oif > 0;
}

bool ParseCidr(const std::string& s, Cidr* out) {
  size_t slash = s.find('/');
  std::string ip = s.substr(0, slash);
  Cidr c;
  if (inet_pton(AF_INET, ip.c_str(), c.addr) == 1) {
    c.family = AF_INET;
    c.prefix = 32;
  } else if (inet_pton(AF_INET6, ip.c_str(), c.addr) == 1) {
    c.family = AF_INET6;
    c.prefix = 128;
  } else {
    return false;
  }
  if (slash != std::string::npos) {
    std::string p = s.substr(slash + 1);
    if (p.empty() || p.size() > 3 || p.find_first_not_of("0123456789") != std::string::npos) return false;
    int v = std::stoi(p);
    if (v > c.prefix) return false;
    c.prefix = v;
  }
  *out = c;
  return true;
}

}  // namespace bypass
}  // namespace rk
