// Requests on a NETLINK_ROUTE socket the caller made and keeps (often one
// made inside a namespace, reused for every lookup): the answer loop, and the
// route lookup (RTM_GETROUTE) the relay and the bypass supervisor share.
// Each returns 0 or an errno; the socket is never closed here.
#pragma once
#include <linux/netlink.h>
#include <stddef.h>
#include <stdint.h>

#include <functional>

namespace rk {

constexpr int kNlAnswerWaitMs = 200;  // the longest wait for each read of an answer

// Sends req on fd (dropping leftovers of an earlier request first) and calls
// fn for each message answered until fn returns a result >= 0 (0 or an
// errno), which is returned; ETIMEDOUT when nothing came for
// kNlAnswerWaitMs, EIO when the socket was closed.
int NlExchange(int fd, const void* req, size_t len, const std::function<int(const nlmsghdr*)>& fn);

// A route as the kernel answers it.
struct RouteAnswer {
  int family = 0;   // rtm_family
  int type = 0;     // rtm_type: RTN_UNICAST, RTN_LOCAL, RTN_UNREACHABLE, ...
  int table = 0;    // RTA_TABLE, else rtm_table
  int dst_len = 0;  // rtm_dst_len (0: a default route)
  int oif = 0;      // RTA_OIF (0: none)
  bool has_gw = false;
  uint8_t gw[16] = {};  // RTA_GATEWAY: 4 bytes (IPv4) or 16 (IPv6)
};

// RTM_GETROUTE on fd for dst (family's 4 or 16 address bytes): 0 and *out
// = the route the kernel chose, or an errno (the kernel's, e.g. ENETUNREACH
// when no route reaches dst; ENODATA when it answered no route; or
// NlExchange's).
int NlRouteLookup(int fd, int family, const uint8_t* dst, RouteAnswer* out);

// RTM_GETROUTE dump of family's routes on fd (every table): fn sees each
// route answered. Returns 0 or an errno.
int NlRouteDump(int fd, int family, const std::function<void(const RouteAnswer&)>& fn);

}  // namespace rk
