// Which destinations a bypassed connect may go to.
#pragma once
#include <netinet/in.h>
#include <sys/socket.h>

#include "bypass/bypass.h"

namespace rk {
namespace bypass {

// A destination as read from the caller: family AF_INET or AF_INET6 (a
// v4-mapped IPv6 address is also seen as its IPv4 form in v4).
struct Dest {
  int family = 0;        // of the sockaddr
  sockaddr_storage ss{};  // what connect() will be given on the host socket
  socklen_t len = 0;
  bool mapped = false;  // IPv6 socket, v4-mapped address
  in_addr v4{};         // when family == AF_INET or mapped
  std::string ToString() const;
};

// Never bypassed, whatever the routes say: loopback, unspecified,
// multicast, broadcast, IPv6 link-local, and the ignored subnets.
bool AlwaysLeft(const Dest& d, const std::vector<Cidr>& ignore);

// Route lookups on a NETLINK_ROUTE socket.
class Routes {
 public:
  explicit Routes(int fd) : fd_(fd) {}
  // Inside the namespace: the destination leaves by the default route (a
  // unicast route through the same gateway as the main table's default).
  bool ViaDefault(const Dest& d);
  // On the host: a unicast route (not local); *oif gets its interface.
  bool HostUnicast(const Dest& d, int* oif);

 private:
  int fd_;
  int64_t gw_at_[2] = {-100000, -100000};
  bool gw_ok_[2] = {false, false};
  uint8_t gw_[2][16] = {};
};

}  // namespace bypass
}  // namespace rk
