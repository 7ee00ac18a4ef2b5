#include "netlink/route_query.h"

#include <errno.h>
#include <linux/rtnetlink.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>

namespace rk {

int NlExchange(int fd, const void* req, size_t len, const std::function<int(const nlmsghdr*)>& fn) {
  alignas(nlmsghdr) char buf[16384];
  while (recv(fd, buf, sizeof buf, MSG_DONTWAIT) > 0) {}
  ssize_t n;
  do n = send(fd, req, len, 0); while (n < 0 && errno == EINTR);
  if (n < 0) return errno;
  for (;;) {
    n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) {
      pollfd p{fd, POLLIN, 0};
      if (poll(&p, 1, kNlAnswerWaitMs) <= 0) return ETIMEDOUT;
      continue;
    }
    if (n <= 0) return n < 0 ? errno : EIO;
    for (const nlmsghdr* h = reinterpret_cast<nlmsghdr*>(buf); NLMSG_OK(h, (unsigned)n); h = NLMSG_NEXT(h, n)) {
      int r = fn(h);
      if (r >= 0) return r;
    }
  }
}

namespace {

// One RTM_GETROUTE: a lookup of dst, or (dst == nullptr) a dump of family;
// fn sees each route answered.
int Query(int fd, int family, const uint8_t* dst, const std::function<void(const RouteAnswer&)>& fn) {
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
    size_t n = family == AF_INET ? 4 : 16;
    rtattr* a = reinterpret_cast<rtattr*>(reinterpret_cast<char*>(&req) + NLMSG_ALIGN(len));
    a->rta_type = RTA_DST;
    a->rta_len = (unsigned short)RTA_LENGTH(n);
    memcpy(RTA_DATA(a), dst, n);
    req.r.rtm_dst_len = (unsigned char)(n * 8);
    len = NLMSG_ALIGN(len) + RTA_ALIGN(a->rta_len);
  }
  req.h.nlmsg_len = (uint32_t)len;
  return NlExchange(fd, &req, len, [&](const nlmsghdr* h) -> int {
    if (h->nlmsg_type == NLMSG_DONE) return 0;
    if (h->nlmsg_type == NLMSG_ERROR) return -reinterpret_cast<const nlmsgerr*>(NLMSG_DATA(h))->error;  // 0: an ack
    if (h->nlmsg_type != RTM_NEWROUTE) return -1;
    const rtmsg* r = reinterpret_cast<const rtmsg*>(NLMSG_DATA(h));
    RouteAnswer a;
    a.family = r->rtm_family;
    a.type = r->rtm_type;
    a.table = r->rtm_table;
    a.dst_len = r->rtm_dst_len;
    int alen = (int)RTM_PAYLOAD(h);
    for (const rtattr* at = RTM_RTA(r); RTA_OK(at, alen); at = RTA_NEXT(at, alen)) {
      if (at->rta_type == RTA_GATEWAY && RTA_PAYLOAD(at) <= sizeof a.gw) {
        a.has_gw = true;
        memcpy(a.gw, RTA_DATA(at), RTA_PAYLOAD(at));
      } else if (at->rta_type == RTA_TABLE) {
        a.table = (int)*reinterpret_cast<const uint32_t*>(RTA_DATA(at));
      } else if (at->rta_type == RTA_OIF) {
        a.oif = (int)*reinterpret_cast<const uint32_t*>(RTA_DATA(at));
      }
    }
    fn(a);
    return dst ? 0 : -1;  // a lookup answers one route; a dump ends with NLMSG_DONE
  });
}

}  // namespace

int NlRouteLookup(int fd, int family, const uint8_t* dst, RouteAnswer* out) {
  bool found = false;
  int err = Query(fd, family, dst, [&](const RouteAnswer& a) {
    *out = a;
    found = true;
  });
  return err != 0 ? err : found ? 0 : ENODATA;
}

int NlRouteDump(int fd, int family, const std::function<void(const RouteAnswer&)>& fn) {
  return Query(fd, family, nullptr, fn);
}

}  // namespace rk
