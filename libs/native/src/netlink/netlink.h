// rtnetlink requests built on the stack with raw system calls only (no
// allocation): safe in the nsexec helper between clone and exit. Each returns
// 0 or an errno.
#pragma once
#include <stddef.h>
#include <stdint.h>

namespace rk {

int IfIndex(const char* name, int* index);
// Sets the MTU (mtu > 0) and IFF_UP (up) of an interface.
int NlLinkSet(int index, int mtu, bool up);
// Adds address/prefix on an interface (IPv6: no duplicate address detection).
int NlAddrAdd(int index, int family, const uint8_t* addr, int prefix);
// Adds (or, del, removes) a route: dst/prefix (prefix 0: default) via gw
// (all-zero: none) out of oif (0: none) in table (0: main), of type rtype
// (RTN_UNICAST, RTN_LOCAL, ...; 0: unicast).
int NlRoute(bool del, int family, const uint8_t* dst, int prefix, const uint8_t* gw, int oif, int table, int rtype);
// Adds (or removes) a policy rule: "[ipproto P] [sport LO-HI] lookup TABLE", priority PRIO.
int NlRule(bool del, int family, int table, int priority, int ipproto, int sport_lo, int sport_hi);

// A policy rule: "[to DST/LEN] [ipproto P] [sport LO-HI] [dport LO-HI] lookup TABLE".
struct RuleSpec {
  bool del = false;
  int family = 0, table = 0, priority = 0, ipproto = 0;
  int sport_lo = 0, sport_hi = 0, dport_lo = 0, dport_hi = 0;
  const uint8_t* dst = nullptr;  // family's address length; with dst_len > 0
  int dst_len = 0;
};
// Builds the RTM_NEWRULE/RTM_DELRULE request for s into buf (at least 256
// bytes, aligned for nlmsghdr) with sequence number seq; returns its length.
size_t NlRuleRequest(const RuleSpec& s, uint32_t seq, void* buf, size_t cap);

}  // namespace rk
