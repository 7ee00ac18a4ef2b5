// Which address the server inside sees a client come from (builtin driver,
// source addresses kept): the client's own, unless it cannot be shown there:
// another family than the target, an IPv6 link-local address, or an address
// the namespace reaches without a gateway (its own addresses, its on-link
// networks such as 10.0.2.2/.3/.100: a spoofed source would impersonate
// them). Those are shown as the namespace's default gateway, as slirp4netns's
// port driver shows every client; never as loopback. Route lookups go to a
// netlink socket made inside the namespace (one per namespace, on first use).
#include <errno.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "netlink/netlink.h"
#include "relay/relay.h"

namespace rk {
namespace relay {

namespace {

constexpr int64_t kGatewayCacheMs = 1000;  // the namespace's network may be set up after its ports

struct Route {
  int type = 0;
  bool has_gw = false;
  Addr gw;
};

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

// Sends a request on the namespace's netlink socket (dropping leftovers of an
// earlier one first) and calls fn for each message answered until fn returns
// a result >= 0 (0 or an errno); waits at most 200 ms for each read.
template <typename Fn>
int Exchange(int fd, const void* req, size_t len, Fn fn) {
  char buf[16384];
  while (recv(fd, buf, sizeof buf, MSG_DONTWAIT) > 0) {}
  ssize_t n;
  do n = send(fd, req, len, 0); while (n < 0 && errno == EINTR);
  if (n < 0) return errno;
  for (;;) {
    n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) {
      pollfd p{fd, POLLIN, 0};
      if (poll(&p, 1, 200) <= 0) return ETIMEDOUT;
      continue;
    }
    if (n <= 0) return n < 0 ? errno : EIO;
    for (nlmsghdr* h = reinterpret_cast<nlmsghdr*>(buf); NLMSG_OK(h, (unsigned)n); h = NLMSG_NEXT(h, n)) {
      int r = fn(h);
      if (r >= 0) return r;
    }
  }
}

// Sends an RTM_GETROUTE (dst: one lookup; none: a dump of family) and calls
// fn for each route answered. Returns 0 or an errno.
template <typename Fn>
int Query(int fd, int family, const Addr* dst, Fn fn) {
  struct {
    nlmsghdr h;
    rtmsg r;
    char attrs[64];
  } req{};
  req.h.nlmsg_type = RTM_GETROUTE;
  req.h.nlmsg_flags = NLM_F_REQUEST | (dst ? 0 : NLM_F_DUMP);
  req.h.nlmsg_seq = 1;
  req.r.rtm_family = (unsigned char)family;
  size_t len = NLMSG_LENGTH(sizeof(rtmsg));
  if (dst) {
    size_t n;
    const void* b = IpBytes(*dst, &n);
    rtattr* a = reinterpret_cast<rtattr*>(reinterpret_cast<char*>(&req) + NLMSG_ALIGN(len));
    a->rta_type = RTA_DST;
    a->rta_len = (unsigned short)RTA_LENGTH(n);
    memcpy(RTA_DATA(a), b, n);
    req.r.rtm_dst_len = (unsigned char)(n * 8);
    len = NLMSG_ALIGN(len) + RTA_ALIGN(a->rta_len);
  }
  req.h.nlmsg_len = (uint32_t)len;
  return Exchange(fd, &req, len, [&](nlmsghdr* h) -> int {
    if (h->nlmsg_type == NLMSG_DONE) return 0;
    if (h->nlmsg_type == NLMSG_ERROR) return -reinterpret_cast<nlmsgerr*>(NLMSG_DATA(h))->error;  // 0: an ack
    if (h->nlmsg_type != RTM_NEWROUTE) return -1;
    rtmsg* r = reinterpret_cast<rtmsg*>(NLMSG_DATA(h));
    Route route;
    route.type = r->rtm_type;
    int table = r->rtm_table;
    int alen = (int)RTM_PAYLOAD(h);
    for (rtattr* a = RTM_RTA(r); RTA_OK(a, alen); a = RTA_NEXT(a, alen)) {
      if (a->rta_type == RTA_GATEWAY) {
        route.has_gw = true;
        SetIp(&route.gw, r->rtm_family, RTA_DATA(a));
      } else if (a->rta_type == RTA_TABLE) {
        table = (int)*reinterpret_cast<uint32_t*>(RTA_DATA(a));
      }
    }
    fn(*r, table, route);
    return dst ? 0 : -1;
  });
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
      Query(fd, family, nullptr, [&](const rtmsg& r, int table, const Route& rt) {
        if (gw_ok[i] || table != RT_TABLE_MAIN || r.rtm_dst_len != 0 || !rt.has_gw || IsLinkLocal6(rt.gw)) return;
        gw[i] = rt.gw;
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
  return Exchange(fd, req, len, [&](nlmsghdr* h) -> int {
    return h->nlmsg_seq == seq && h->nlmsg_type == NLMSG_ERROR ? -reinterpret_cast<nlmsgerr*>(NLMSG_DATA(h))->error : -1;
  });
}

int NsShared::SourceFor(const Addr& client, int target_family, Addr* out) {
  std::lock_guard<std::mutex> g(mu);
  if (client.family() == target_family && !IsLinkLocal6(client)) {
    int fd = Netlink();
    Route rt;
    bool found = false;
    int err = fd < 0 ? EBADF : Query(fd, client.family(), &client, [&](const rtmsg&, int, const Route& r) {
      rt = r;
      found = true;
    });
    // Reached through a gateway, or not at all (a namespace with only lo):
    // nothing inside has that address; show the client as itself.
    if ((err == 0 && found && rt.type == RTN_UNICAST && rt.has_gw) || err == ENETUNREACH || err == EHOSTUNREACH) {
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
