// Doing things inside another process's namespaces without leaving ours.
//
// Node is multi-threaded, so it can never setns() into a user namespace. A
// short-lived helper is cloned instead (CLONE_VM | CLONE_VFORK | CLONE_FILES:
// no copy of Node's memory, and every fd it opens lands in our own fd table):
// it setns()es into the given namespaces (user first), runs a list of ops with
// raw system calls only, and exits. A tap device or a socket made there keeps
// its namespace after the helper is gone, so the caller (a JS call, the relay
// thread, the NAT engine) uses it from the host side.
#pragma once
#include <net/if.h>
#include <netinet/in.h>
#include <stdint.h>

namespace rk {

// The namespaces to enter, in order: fds of /proc/PID/ns/{user,net,mnt} (or
// of a bind-mounted ns file). -1 entries are skipped. The user namespace must
// come first; leave it out when it is the caller's own.
struct NsTarget {
  int fds[4] = {-1, -1, -1, -1};
};

enum class NsOpKind : int32_t {
  kTap,       // name, flags(IFF_* extra, e.g. IFF_VNET_HDR) -> fd of /dev/net/tun attached to the tap
  kSocket,    // family, type, proto -> fd (close-on-exec, non-blocking)
  kLink,      // name, mtu (0: keep), up (1: set IFF_UP)
  kAddr,      // name, family, addr, prefix
  kRoute,     // family, dst/prefix (prefix 0: default), gw (all-zero: none), name (oif; "" none), table, rtype
  kRule,      // family, table, priority, ipproto, sport_lo..sport_hi, del
  kWrite,     // path, data: write a file (a sysctl of the namespace)
  kOpen,      // path, flags -> fd (close-on-exec)
  kUnshareNet,// unshare(CLONE_NEWNET): the ops after it act on a new network namespace
  kBind,      // path (source), path2 (target): bind mount
  kConnectUnix,// path: a sockaddr_un of data_len bytes -> fd of a non-blocking AF_UNIX stream socket connected to it
};

struct NsOp {
  NsOpKind kind;
  char name[IFNAMSIZ] = {0};
  char path[256] = {0};
  char path2[256] = {0};
  char data[128] = {0};
  int32_t data_len = 0;
  int32_t family = 0, type = 0, proto = 0, flags = 0;
  int32_t mtu = 0, up = 0, prefix = 0, table = 0, rtype = 0;
  int32_t priority = 0, ipproto = 0, sport_lo = 0, sport_hi = 0, del = 0;
  uint8_t addr[16] = {0};
  uint8_t gw[16] = {0};
  // Out: the fd an op made (tap, socket, open), or -1.
  int32_t result = -1;
};

// Runs ops[0..n) inside the target's namespaces. Returns 0, or an errno and
// sets *failed to the index of the failing op (-1: entering the namespaces,
// -2: cloning the helper). Fds made by ops before a failure are closed.
// Safe to call from any thread; the calling thread waits (microseconds).
int NsRun(const NsTarget& target, NsOp* ops, int n, int* failed);

// Makes `count` sockets inside the target's network namespace (the relay's
// namespace side): socket(family, type | SOCK_CLOEXEC | SOCK_NONBLOCK, proto).
// Returns 0 and fills fds[0..count), or an errno. At most 64 per call.
int NsSockets(const NsTarget& target, int family, int type, int proto, int count, int* fds);

}  // namespace rk
