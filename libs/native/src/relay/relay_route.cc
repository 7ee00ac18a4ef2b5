// Which address the server inside sees a client come from (builtin driver,
// source addresses kept): the client's own, unless it cannot be shown there:
// another family than the target, an IPv6 link-local address, or an address
// the namespace reaches without a gateway (its own addresses, its on-link
// networks such as 10.0.2.2/.3/.100: a spoofed source would impersonate
// them). Those are shown as the namespace's default gateway, as slirp4netns's
// port driver shows every client; never as loopback. Route lookups go to a
// netlink socket made inside the namespace (one per namespace, on first use).
#include <errno.h>
#include <linux/rtnetlink.h>
#include <string.h>

#include "netlink/netlink.h"
#include "netlink/route_query.h"
#include "relay/relay.h"

namespace rk {
namespace relay {

namespace {

constexpr int64_t kGatewayCacheMs = 1000;  // the namespace's network may be set up after its ports

bool IsLinkLocal6(const Addr& a) {
  return a.family() == AF_INET6 && IN6_IS_ADDR_LINKLOCAL(&reinterpret_cast<const sockaddr_in6*>(&a.ss)->sin6_addr);
}

const void* IpBytes(const Addr& a, size_t* len) {
  if (a.family() == AF_INET) {
    *len = 4;
    return &reinterpret_cast<const sockaddr_in*>(&a.ss)->sin_addr;
  }
  *len = 16;
  return &reinterpret_cast<const sockaddr_in6*>(&a.ss)->sin6_addr;
}

void SetIp(Addr* a, int family, const void* bytes) {
  *a = Addr();
  if (family == AF_INET) {
    sockaddr_in* s = reinterpret_cast<sockaddr_in*>(&a->ss);
    s->sin_family = AF_INET;
    memcpy(&s->sin_addr, bytes, 4);
    a->len = sizeof *s;
  } else {
    sockaddr_in6* s = reinterpret_cast<sockaddr_in6*>(&a->ss);
    s->sin6_family = AF_INET6;
    memcpy(&s->sin6_addr, bytes, 16);
    a->len = sizeof *s;
  }
}

}  // namespace

int NsShared::Netlink() {
  if (nl < 0) {
    int fd;
    if (NsSockets(ns, AF_NETLINK, SOCK_RAW, NETLINK_ROUTE, 1, &fd) == 0) nl = fd;
  }
  return nl;
}

bool NsShared::Gateway(int family, Addr* out) {
  int i = family == AF_INET6 ? 1 : 0;
  int64_t now = NowMs();
  if (now - gw_at[i] >= kGatewayCacheMs) {
    gw_at[i] = now;
    gw_ok[i] = false;
    int fd = Netlink();
    if (fd >= 0) {
      NlRouteDump(fd, family, [&](const RouteAnswer& rt) {
        if (gw_ok[i] || rt.table != RT_TABLE_MAIN || rt.dst_len != 0 || !rt.has_gw) return;
        Addr via;
        SetIp(&via, rt.family, rt.gw);
        if (IsLinkLocal6(via)) return;
        gw[i] = via;
        gw_ok[i] = true;
      });
    }
  }
  if (gw_ok[i]) *out = gw[i];
  return gw_ok[i];
}

int NsShared::FlowRoute(bool del, const Addr& seen) {
  std::lock_guard<std::mutex> g(mu);
  int fd = Netlink();
  if (fd < 0) return EBADF;
  size_t alen;
  const void* ip = IpBytes(seen, &alen);
  RuleSpec spec;
  spec.del = del;
  spec.family = seen.family();
  spec.table = kSourceIpTable;
  spec.priority = kSourceIpPriority;
  spec.ipproto = IPPROTO_UDP;
  spec.dport_lo = spec.dport_hi = seen.port();
  spec.dst = static_cast<const uint8_t*>(ip);
  spec.dst_len = (int)alen * 8;
  alignas(nlmsghdr) char req[256];
  uint32_t seq = ++nl_seq;
  size_t len = NlRuleRequest(spec, seq, req, sizeof req);
  if (len == 0) return EINVAL;
  return NlExchange(fd, req, len, [&](const nlmsghdr* h) -> int {
    if (h->nlmsg_seq != seq || h->nlmsg_type != NLMSG_ERROR) return -1;
    return -reinterpret_cast<const nlmsgerr*>(NLMSG_DATA(h))->error;
  });
}

int NsShared::SourceFor(const Addr& client, int target_family, Addr* out) {
  std::lock_guard<std::mutex> g(mu);
  if (client.family() == target_family && !IsLinkLocal6(client)) {
    int fd = Netlink();
    size_t alen;
    const void* ip = IpBytes(client, &alen);
    RouteAnswer rt;
    int err = fd < 0 ? EBADF : NlRouteLookup(fd, client.family(), static_cast<const uint8_t*>(ip), &rt);
    // Reached through a gateway, or not at all (a namespace with only lo):
    // nothing inside has that address; show the client as itself.
    if ((err == 0 && rt.type == RTN_UNICAST && rt.has_gw) || err == ENETUNREACH || err == EHOSTUNREACH) {
      *out = client;
      return 1;
    }
  }
  if (!Gateway(target_family, out)) return -1;
  out->SetPort(0);
  return 0;
}

}  // namespace relay
}  // namespace rk

namespace rk {
namespace relay {

int BindSource(Worker* w, Port* p, int fd, const Addr& peer, bool* bound) {
  *bound = false;
  if (!p->transparent || !p->transparent_ok.load(std::memory_order_relaxed) || !p->net || peer.family() == AF_UNIX) return 0;
  Addr client = peer.Unmapped();
  if (client.IsLoopback()) return 0;  // a loopback client is shown as loopback
  Addr src;
  if (p->net->SourceFor(client, p->target.family(), &src) < 0) {
    w->Limit(p->no_gateway_logged, p->id,
             std::string("refusing clients that cannot be shown inside with their own address (e.g. ") + client.ToString() +
                 "): the namespace has no default gateway of the target's family to show them as");
    return ENETUNREACH;
  }
  int err = BindTransparent(fd, src);
  // The client's port is bound inside (e.g. it chose the service's own
  // port): keep the address, let the kernel pick the port.
  if (err == EADDRINUSE && src.port() != 0) {
    src.SetPort(0);
    err = BindTransparent(fd, src);
  }
  if (err == EPERM || err == ENOPROTOOPT || err == EACCES) {
    p->transparent_ok = false;  // warned when the port was added
    return 0;
  }
  if (err == 0) *bound = true;
  return err;
}

}  // namespace relay
}  // namespace rk
