#include "netlink/netlink.h"

#include <errno.h>
#include <linux/fib_rules.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

namespace rk {

namespace {

// A request being built: header, family-specific struct, then attributes.
struct Req {
  alignas(NLMSG_ALIGNTO) char buf[512];
  struct nlmsghdr* h() { return reinterpret_cast<struct nlmsghdr*>(buf); }

  void Start(int type, int flags, const void* body, size_t len) {
    memset(buf, 0, sizeof buf);
    h()->nlmsg_type = (uint16_t)type;
    h()->nlmsg_flags = (uint16_t)(NLM_F_REQUEST | NLM_F_ACK | flags);
    h()->nlmsg_seq = 1;
    h()->nlmsg_len = NLMSG_LENGTH(len);
    memcpy(NLMSG_DATA(h()), body, len);
  }

  void Attr(int type, const void* data, size_t len) {
    size_t at = NLMSG_ALIGN(h()->nlmsg_len);
    struct rtattr* rta = reinterpret_cast<struct rtattr*>(buf + at);
    rta->rta_type = (uint16_t)type;
    rta->rta_len = (uint16_t)RTA_LENGTH(len);
    memcpy(RTA_DATA(rta), data, len);
    h()->nlmsg_len = (uint32_t)(at + RTA_ALIGN(rta->rta_len));
  }
  void U32(int type, uint32_t v) { Attr(type, &v, sizeof v); }
  void U8(int type, uint8_t v) { Attr(type, &v, sizeof v); }
};

// Sends the request and reads the kernel's ack: 0 or the errno it carries.
int Talk(Req& r) {
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0) return errno;
  struct sockaddr_nl sa;
  memset(&sa, 0, sizeof sa);
  sa.nl_family = AF_NETLINK;
  int err = 0;
  ssize_t n;
  do n = sendto(fd, r.buf, r.h()->nlmsg_len, 0, (struct sockaddr*)&sa, sizeof sa); while (n < 0 && errno == EINTR);
  if (n < 0) {
    err = errno;
  } else {
    alignas(NLMSG_ALIGNTO) char ans[1024];
    do n = recv(fd, ans, sizeof ans, 0); while (n < 0 && errno == EINTR);
    if (n < 0) {
      err = errno;
    } else {
      struct nlmsghdr* h = reinterpret_cast<struct nlmsghdr*>(ans);
      if (NLMSG_OK(h, (unsigned)n) && h->nlmsg_type == NLMSG_ERROR) {
        struct nlmsgerr* e = reinterpret_cast<struct nlmsgerr*>(NLMSG_DATA(h));
        err = -e->error;
      } else {
        err = EPROTO;
      }
    }
  }
  close(fd);
  return err;
}

size_t AddrLen(int family) { return family == AF_INET6 ? 16 : 4; }

}  // namespace

int IfIndex(const char* name, int* index) {
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return errno;
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
  int r = ioctl(fd, SIOCGIFINDEX, &ifr);
  int err = r < 0 ? errno : 0;
  close(fd);
  if (err == 0) *index = ifr.ifr_ifindex;
  return err;
}

int NlLinkSet(int index, int mtu, bool up) {
  struct ifinfomsg ifi;
  memset(&ifi, 0, sizeof ifi);
  ifi.ifi_family = AF_UNSPEC;
  ifi.ifi_index = index;
  if (up) {
    ifi.ifi_flags = IFF_UP;
    ifi.ifi_change = IFF_UP;
  }
  Req r;
  r.Start(RTM_NEWLINK, 0, &ifi, sizeof ifi);
  if (mtu > 0) r.U32(IFLA_MTU, (uint32_t)mtu);
  return Talk(r);
}

int NlAddrAdd(int index, int family, const uint8_t* addr, int prefix) {
  struct ifaddrmsg ifa;
  memset(&ifa, 0, sizeof ifa);
  ifa.ifa_family = (uint8_t)family;
  ifa.ifa_prefixlen = (uint8_t)prefix;
  ifa.ifa_index = (uint32_t)index;
  ifa.ifa_scope = RT_SCOPE_UNIVERSE;
  if (family == AF_INET6) ifa.ifa_flags = IFA_F_NODAD;
  Req r;
  r.Start(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, &ifa, sizeof ifa);
  r.Attr(IFA_LOCAL, addr, AddrLen(family));
  r.Attr(IFA_ADDRESS, addr, AddrLen(family));
  if (family == AF_INET6) r.U32(IFA_FLAGS, IFA_F_NODAD);
  return Talk(r);
}

int NlRoute(bool del, int family, const uint8_t* dst, int prefix, const uint8_t* gw, int oif, int table, int rtype) {
  struct rtmsg rt;
  memset(&rt, 0, sizeof rt);
  rt.rtm_family = (uint8_t)family;
  rt.rtm_dst_len = (uint8_t)prefix;
  rt.rtm_table = table > 0 && table < 256 ? (uint8_t)table : (uint8_t)(table == 0 ? RT_TABLE_MAIN : RT_TABLE_UNSPEC);
  rt.rtm_protocol = RTPROT_BOOT;
  rt.rtm_type = (uint8_t)(rtype ? rtype : RTN_UNICAST);
  rt.rtm_scope = rt.rtm_type == RTN_LOCAL ? RT_SCOPE_HOST : RT_SCOPE_UNIVERSE;
  Req r;
  // Replace: a route the kernel already made (e.g. from a router advertisement) is not an error.
  r.Start(del ? RTM_DELROUTE : RTM_NEWROUTE, del ? 0 : (NLM_F_CREATE | NLM_F_REPLACE), &rt, sizeof rt);
  size_t len = AddrLen(family);
  if (prefix > 0) r.Attr(RTA_DST, dst, len);
  bool has_gw = false;
  for (size_t i = 0; i < len; i++) has_gw = has_gw || gw[i] != 0;
  if (has_gw) r.Attr(RTA_GATEWAY, gw, len);
  if (oif > 0) r.U32(RTA_OIF, (uint32_t)oif);
  if (table >= 256) r.U32(RTA_TABLE, (uint32_t)table);
  return Talk(r);
}

int NlRule(bool del, int family, int table, int priority, int ipproto, int sport_lo, int sport_hi) {
  RuleSpec spec;
  spec.del = del;
  spec.family = family;
  spec.table = table;
  spec.priority = priority;
  spec.ipproto = ipproto;
  spec.sport_lo = sport_lo;
  spec.sport_hi = sport_hi;
  Req r;
  NlRuleRequest(spec, 1, r.buf, sizeof r.buf);
  return Talk(r);
}

size_t NlRuleRequest(const RuleSpec& s, uint32_t seq, void* buf, size_t cap) {
  struct fib_rule_hdr fr;
  memset(&fr, 0, sizeof fr);
  fr.family = (uint8_t)s.family;
  fr.action = FR_ACT_TO_TBL;
  fr.table = s.table < 256 ? (uint8_t)s.table : (uint8_t)RT_TABLE_UNSPEC;
  fr.dst_len = (uint8_t)(s.dst ? s.dst_len : 0);
  Req r;
  r.Start(s.del ? RTM_DELRULE : RTM_NEWRULE, s.del ? 0 : (NLM_F_CREATE | NLM_F_EXCL), &fr, sizeof fr);
  r.h()->nlmsg_seq = seq;
  r.U32(FRA_TABLE, (uint32_t)s.table);
  if (s.priority > 0) r.U32(FRA_PRIORITY, (uint32_t)s.priority);
  if (s.ipproto > 0) r.U8(FRA_IP_PROTO, (uint8_t)s.ipproto);
  if (s.dst && s.dst_len > 0) r.Attr(FRA_DST, s.dst, AddrLen(s.family));
  if (s.sport_lo > 0) {
    struct fib_rule_port_range pr = {(uint16_t)s.sport_lo, (uint16_t)(s.sport_hi > 0 ? s.sport_hi : s.sport_lo)};
    r.Attr(FRA_SPORT_RANGE, &pr, sizeof pr);
  }
  if (s.dport_lo > 0) {
    struct fib_rule_port_range pr = {(uint16_t)s.dport_lo, (uint16_t)(s.dport_hi > 0 ? s.dport_hi : s.dport_lo)};
    r.Attr(FRA_DPORT_RANGE, &pr, sizeof pr);
  }
  size_t len = r.h()->nlmsg_len;
  if (len > cap) return 0;
  memcpy(buf, r.buf, len);
  return len;
}

}  // namespace rk
