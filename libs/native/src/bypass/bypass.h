// Socket bypass: connect() calls of the namespace's processes, trapped by a
// seccomp user-notification filter, answered by a supervisor outside with a
// socket made and connected in the host's network namespace, put in place
// under the same fd number. See docs/bypass.md.
#pragma once
#include <netinet/in.h>
#include <stdint.h>
#include <sys/socket.h>

#include <atomic>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace rk {
namespace bypass {

// Installs the filter on the calling thread (connect of the native arch goes
// to user notification, every other call is allowed) and sends the listener
// fd over the unix socket `sock` (SCM_RIGHTS), then closes the listener and
// sock. Raw system calls only, no allocation: callable between fork and exec.
// Returns 0 or an errno.
int InstallAndSend(int sock);

struct Cidr {
  int family = 0;
  uint8_t addr[16] = {0};
  int prefix = 0;
};

struct Config {
  int listen_fd = -1;   // bypass.sock, listening: each connection brings one listener fd (owned)
  int netlink_fd = -1;  // NETLINK_ROUTE socket made inside the namespace (owned)
  uint64_t netns_dev = 0, netns_ino = 0;  // the namespace's net ns
  std::vector<Cidr> ignore;  // destinations left in the namespace
  bool nested = false;       // bypass sockets of nested network namespaces too
  int max_in_flight = 1024;  // connects waiting in the supervisor; past it, the namespace path
};

struct Event {
  enum Kind { kBypass, kLimit, kIdle } kind = kBypass;
  int pid = 0;
  int type = 0;  // SOCK_STREAM / SOCK_DGRAM
  std::string dst, what;
  int err = 0;  // the connect's result (0 or an errno, EINPROGRESS)
};

struct Stats {
  std::atomic<uint64_t> bypassed{0}, left{0}, fallback{0}, failed{0}, in_flight{0}, listeners{0}, budget_hits{0};
};

// The supervisor: one thread, one epoll loop.
class Supervisor {
 public:
  explicit Supervisor(Config c);
  ~Supervisor();
  void Start();
  void Stop();
  Stats stats;
  std::atomic<bool> debug{false};
  std::function<void(std::vector<Event>&&)> sink;  // batches of events, from the supervisor's thread

 private:
  struct Impl;
  Impl* impl_;
  std::thread thread_;
};

// Parses "192.0.2.0/24" or "2001:db8::/32" (no prefix: a single address).
bool ParseCidr(const std::string& s, Cidr* out);

}  // namespace bypass
}  // namespace rk
