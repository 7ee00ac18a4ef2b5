// The supervisor's loop: listener fds arrive on bypass.sock; each
// notification of a listener is one trapped connect(). See handle below for
// the order of checks; anything unexpected lets the call go on in the
// namespace (CONTINUE), which is what would have happened without bypass.
#include <errno.h>
#include <fcntl.h>
#include <linux/kcmp.h>
#include <linux/netlink.h>
#include <linux/nsfs.h>
#include <linux/seccomp.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <dirent.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <map>
#include <memory>

#include "bypass/bypass.h"
#include "bypass/bypass_policy.h"
#include "bypass/bypass_sockopt.h"
#include "common/clock.h"
#include "process/nsexec.h"

namespace rk {
namespace bypass {

namespace {

constexpr int kMaxListeners = 64;   // filters handed over (one per rk-bypass run)
constexpr int kMaxHandoffs = 16;    // bypass.sock connections not yet done
constexpr size_t kMaxNested = 64;   // nested namespaces whose routes are kept at hand
constexpr int64_t kSweepMs = 1000;  // pending connects re-checked (caller gone)
constexpr int kMaxScanFds = 4096;   // a caller's fds looked through for epoll instances, per connect
constexpr size_t kMaxEpollInfo = 1 << 20;  // bytes of epoll fdinfo read, per connect

struct Fd {
  int fd = -1;
  Fd() = default;
  explicit Fd(int f) : fd(f) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { Reset(); }
  void Reset(int f = -1) {
    if (fd >= 0) close(fd);
    fd = f;
  }
  int Release() {
    int f = fd;
    fd = -1;
    return f;
  }
};

enum Tag : uint64_t { kStop = 1, kListen = 2, kHandoff = 3, kNotify = 4, kPending = 5 };
uint64_t Key(Tag t, uint64_t id) { return (id << 3) | t; }

// A blocking connect() going on in the supervisor: answered when it completes.
struct Pending {
  int listener;
  uint64_t notif_id;
  int pid, type;
  Fd host;  // also the caller's fd already (installed at once)
  Dest dst;
  int64_t deadline_ms;  // from the caller's SO_SNDTIMEO; 0: none
};

}  // namespace

struct Supervisor::Impl {
  Supervisor* self;
  Config cfg;
  Fd ep, stop_ev, host_nl;
  std::unique_ptr<Routes> inside, host;
  std::map<int, int> handoffs;   // fd -> unused
  std::map<int, bool> listeners;  // fd
  std::map<uint64_t, std::unique_ptr<Pending>> pending;
  uint64_t next_pending = 1;
  bool had_listener = false;
  bool budget_logged = false;
  bool scan_logged = false;
  int64_t NextWake(int64_t next_sweep) const;
  seccomp_notif_sizes sizes{};
  std::vector<Event> batch;
  uint64_t host_dev = 0, host_ino = 0;  // our own net ns
  // Nested namespaces' routes (with --bypass-nested), by inode; the ns fd
  // is held so that the inode is not reused while cached.
  struct Nested {
    Fd ns, nl;
    std::unique_ptr<Routes> routes;
  };
  std::map<uint64_t, std::unique_ptr<Nested>> nested;
  Routes* NestedRoutes(int ns_fd, uint64_t ino);

  void Emit(Event&& e) { batch.push_back(std::move(e)); }
  void Flush() {
    if (batch.empty()) return;
    if (self->sink) self->sink(std::move(batch));
    batch.clear();
  }
  void Add(int fd, uint32_t events, uint64_t key) {
    epoll_event ev{};
    ev.events = events;
    ev.data.u64 = key;
    epoll_ctl(ep.fd, EPOLL_CTL_ADD, fd, &ev);
  }

  void Run();
  void Accept();
  void Handoff(int fd);
  void Notification(int listener);
  void Handle(int listener, seccomp_notif* req);
  void Finish(uint64_t key, int err);
  void Sweep();
};

namespace {

void Continue(int listener, uint64_t id) {
  seccomp_notif_resp r{};
  r.id = id;
  r.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
  ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, &r);
}

// The host socket in place of the caller's fd (same number, close-on-exec as
// it was). False: the call is no longer there (the caller was interrupted or gone).
bool Install(int listener, uint64_t id, int host_fd, int target_fd, bool cloexec) {
  seccomp_notif_addfd add{};
  add.id = id;
  add.flags = SECCOMP_ADDFD_FLAG_SETFD;
  add.srcfd = (uint32_t)host_fd;
  add.newfd = (uint32_t)target_fd;
  add.newfd_flags = cloexec ? O_CLOEXEC : 0;
  return ioctl(listener, SECCOMP_IOCTL_NOTIF_ADDFD, &add) >= 0;
}

void Answer(int listener, uint64_t id, int err) {
  seccomp_notif_resp r{};
  r.id = id;
  r.error = err ? -err : 0;
  ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, &r);
}

int GetInt(int fd, int level, int name) {
  int v = -1;
  socklen_t l = sizeof v;
  if (getsockopt(fd, level, name, &v, &l) < 0) return -1;
  return v;
}

// O_CLOEXEC of the caller's fd, from /proc/PID/fdinfo/FD ("flags: 02000002").
bool CloexecOf(int pid, int fd, bool* ok) {
  char path[64], buf[256];
  snprintf(path, sizeof path, "/proc/%d/fdinfo/%d", pid, fd);
  *ok = false;
  int f = open(path, O_RDONLY | O_CLOEXEC);
  if (f < 0) return false;
  ssize_t n = read(f, buf, sizeof buf - 1);
  close(f);
  if (n <= 0) return false;
  buf[n] = 0;
  const char* p = strstr(buf, "flags:");
  if (!p) return false;
  *ok = true;
  return (strtoul(p + 6, nullptr, 8) & O_CLOEXEC) != 0;
}

// The process (thread group) of a thread: seccomp names the calling thread,
// pidfd_open wants a process. /proc/TID/status "Tgid:"; 0 when unknown.
int TgidOf(int tid) {
  char path[64], buf[512];
  snprintf(path, sizeof path, "/proc/%d/status", tid);
  int f = open(path, O_RDONLY | O_CLOEXEC);
  if (f < 0) return 0;
  ssize_t n = read(f, buf, sizeof buf - 1);
  close(f);
  if (n <= 0) return 0;
  buf[n] = 0;
  const char* p = strstr(buf, "\nTgid:");
  return p ? atoi(p + 6) : 0;
}

// Whether the socket (inode ino) is registered in one of the caller's epoll
// instances: each "anon_inode:[eventpoll]" fd of /proc/PID/fd, then its
// fdinfo's "tfd: N ... ino:HEX" lines. Swapping such a socket would leave the
// registration on the old one (gone once we drop it): the caller would wait
// forever. 1: registered, 0: not, -1: not known (past a budget, /proc
// unreadable): treated as registered.
int EpollHolds(int pid, uint64_t ino, bool* over_budget) {
  char path[64 + sizeof(dirent::d_name)];
  snprintf(path, sizeof path, "/proc/%d/fd", pid);
  int dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return -1;
  DIR* d = fdopendir(dfd);
  if (!d) {
    close(dfd);
    return -1;
  }
  int found = 0, n = 0;
  size_t info_bytes = 0;
  static const char kEpoll[] = "anon_inode:[eventpoll]";
  for (dirent* e; found == 0 && (e = readdir(d));) {
    if (e->d_name[0] == '.') continue;
    if (++n > kMaxScanFds) {
      *over_budget = true;
      found = -1;
      break;
    }
    char link[sizeof kEpoll + 1];
    ssize_t l = readlinkat(dfd, e->d_name, link, sizeof link);
    if (l != (ssize_t)sizeof kEpoll - 1 || memcmp(link, kEpoll, l) != 0) continue;
    snprintf(path, sizeof path, "/proc/%d/fdinfo/%s", pid, e->d_name);
    int f = open(path, O_RDONLY | O_CLOEXEC);
    if (f < 0) {
      found = -1;
      break;
    }
    // Line by line ("tfd: %8d events: %8x data: %16llx  pos:%lli ino:%lx sdev:%x").
    char buf[4096];
    size_t have = 0;
    for (;;) {
      ssize_t got = read(f, buf + have, sizeof buf - 1 - have);
      if (got <= 0) break;
      info_bytes += (size_t)got;
      have += (size_t)got;
      buf[have] = 0;
      char* line = buf;
      for (char* nl; (nl = strchr(line, '\n')); line = nl + 1) {
        *nl = 0;
        const char* ip = strncmp(line, "tfd:", 4) == 0 ? strstr(line, " ino:") : nullptr;
        if (ip && strtoull(ip + 5, nullptr, 16) == ino) found = 1;
      }
      have = (size_t)(buf + have - line);
      memmove(buf, line, have);
      if (found || have == sizeof buf - 1) break;
      if (info_bytes > kMaxEpollInfo) {
        *over_budget = true;
        found = -1;
        break;
      }
    }
    close(f);
  }
  closedir(d);
  return found;
}

// The namespace the socket lives in (SIOCGSKNS): its fd, and dev:ino.
int SocketNetns(int sock, uint64_t* dev, uint64_t* ino) {
  int ns = ioctl(sock, SIOCGSKNS);
  if (ns < 0) return -1;
  struct stat st;
  if (fstat(ns, &st) < 0) {
    close(ns);
    return -1;
  }
  *dev = st.st_dev;
  *ino = st.st_ino;
  return ns;
}

// Bound to an address or a port, or to a device: the host socket could not be
// the same socket. Returns true when the socket is as socket() made it.
bool Unbound(int sock) {
  sockaddr_storage ss{};
  socklen_t l = sizeof ss;
  if (getsockname(sock, reinterpret_cast<sockaddr*>(&ss), &l) < 0) return false;
  if (ss.ss_family == AF_INET) {
    const sockaddr_in* s = reinterpret_cast<const sockaddr_in*>(&ss);
    if (s->sin_port != 0 || s->sin_addr.s_addr != htonl(INADDR_ANY)) return false;
  } else if (ss.ss_family == AF_INET6) {
    const sockaddr_in6* s = reinterpret_cast<const sockaddr_in6*>(&ss);
    if (s->sin6_port != 0 || !IN6_IS_ADDR_UNSPECIFIED(&s->sin6_addr)) return false;
  } else {
    return false;
  }
  char dev[32];
  socklen_t dl = sizeof dev;
  if (getsockopt(sock, SOL_SOCKET, SO_BINDTODEVICE, dev, &dl) < 0 || dl > 0) return false;
  sockaddr_storage peer{};
  l = sizeof peer;
  if (getpeername(sock, reinterpret_cast<sockaddr*>(&peer), &l) == 0) return false;  // already connected
  return true;
}

// Reads the caller's sockaddr once, into d. False: not something we bypass
// (the kernel judges it on the namespace path).
bool ReadDest(int pid, uint64_t ptr, uint64_t len, int sock_family, Dest* d) {
  if (len < sizeof(sa_family_t) || len > sizeof(sockaddr_storage)) return false;
  size_t want = len < sizeof(sockaddr_in6) ? (size_t)len : sizeof(sockaddr_in6);
  iovec local{&d->ss, want};
  iovec remote{reinterpret_cast<void*>(ptr), want};
  if (process_vm_readv(pid, &local, 1, &remote, 1, 0) != (ssize_t)want) return false;
  int fam = d->ss.ss_family;
  if (fam == AF_INET && sock_family == AF_INET && want >= sizeof(sockaddr_in)) {
    d->family = AF_INET;
    d->len = sizeof(sockaddr_in);
    d->v4 = reinterpret_cast<sockaddr_in*>(&d->ss)->sin_addr;
    memset(reinterpret_cast<sockaddr_in*>(&d->ss)->sin_zero, 0, 8);
    return reinterpret_cast<sockaddr_in*>(&d->ss)->sin_port != 0;
  }
  if (fam == AF_INET6 && sock_family == AF_INET6 && want >= 24) {
    sockaddr_in6* s = reinterpret_cast<sockaddr_in6*>(&d->ss);
    if (want < sizeof(sockaddr_in6)) s->sin6_scope_id = 0;
    d->family = AF_INET6;
    d->len = sizeof(sockaddr_in6);
    if (IN6_IS_ADDR_V4MAPPED(&s->sin6_addr)) {
      d->mapped = true;
      memcpy(&d->v4, &s->sin6_addr.s6_addr[12], 4);
    }
    return s->sin6_port != 0 && s->sin6_scope_id == 0;
  }
  return false;
}

}  // namespace

Routes* Supervisor::Impl::NestedRoutes(int ns_fd, uint64_t ino) {
  auto it = nested.find(ino);
  if (it != nested.end()) return it->second->routes.get();
  if (nested.size() >= kMaxNested) nested.erase(nested.begin());
  auto n = std::make_unique<Nested>();
  n->ns.Reset(fcntl(ns_fd, F_DUPFD_CLOEXEC, 3));
  Fd user(ioctl(ns_fd, NS_GET_USERNS));
  if (n->ns.fd < 0 || user.fd < 0) return nullptr;
  NsTarget t;
  t.fds[0] = user.fd;
  t.fds[1] = n->ns.fd;
  int nl = -1;
  if (NsSockets(t, AF_NETLINK, SOCK_RAW, NETLINK_ROUTE, 1, &nl) != 0) return nullptr;
  n->nl.Reset(nl);
  n->routes.reset(new Routes(nl));
  Routes* r = n->routes.get();
  nested[ino] = std::move(n);
  return r;
}

void Supervisor::Impl::Accept() {
  for (;;) {
    int c = accept4(cfg.listen_fd, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (c < 0) return;
    if ((int)handoffs.size() >= kMaxHandoffs) {
      close(c);
      continue;
    }
    handoffs[c] = 0;
    Add(c, EPOLLIN, Key(kHandoff, (uint64_t)c));
  }
}

void Supervisor::Impl::Handoff(int c) {
  char data;
  iovec iov{&data, 1};
  alignas(cmsghdr) char ctl[CMSG_SPACE(sizeof(int) * 4)];
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = ctl;
  msg.msg_controllen = sizeof ctl;
  ssize_t n = recvmsg(c, &msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
  int got = -1;
  for (cmsghdr* h = CMSG_FIRSTHDR(&msg); h; h = CMSG_NXTHDR(&msg, h)) {
    if (h->cmsg_level != SOL_SOCKET || h->cmsg_type != SCM_RIGHTS) continue;
    int nfds = (int)((h->cmsg_len - CMSG_LEN(0)) / sizeof(int));
    for (int i = 0; i < nfds; i++) {
      int f;
      memcpy(&f, CMSG_DATA(h) + i * sizeof(int), sizeof f);
      if (got < 0) got = f;
      else close(f);
    }
  }
  if (got >= 0) {
    // Only a seccomp listener is kept.
    char path[64], link[64] = {0};
    snprintf(path, sizeof path, "/proc/self/fd/%d", got);
    ssize_t l = readlink(path, link, sizeof link - 1);
    bool ok = l > 0 && strcmp(link, "anon_inode:seccomp notify") == 0 && (int)listeners.size() < kMaxListeners;
    if (ok) {
      fcntl(got, F_SETFL, O_NONBLOCK);
      listeners[got] = true;
      had_listener = true;
      self->stats.listeners = listeners.size();
      Add(got, EPOLLIN, Key(kNotify, (uint64_t)got));
      char ack = 'K';
      (void)!write(c, &ack, 1);
    } else {
      close(got);
    }
  }
  epoll_ctl(ep.fd, EPOLL_CTL_DEL, c, nullptr);
  handoffs.erase(c);
  close(c);
}

void Supervisor::Impl::Notification(int listener) {
  std::vector<char> buf(sizes.seccomp_notif > sizeof(seccomp_notif) ? sizes.seccomp_notif : sizeof(seccomp_notif));
  // NOTIF_RECV blocks (O_NONBLOCK or not) when nothing is pending: each one
  // after the first is preceded by a poll that says one is.
  for (int i = 0; i < 64; i++) {
    if (i > 0) {
      pollfd p{listener, POLLIN, 0};
      if (poll(&p, 1, 0) <= 0 || !(p.revents & POLLIN)) return;
    }
    memset(buf.data(), 0, buf.size());
    seccomp_notif* req = reinterpret_cast<seccomp_notif*>(buf.data());
    if (ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, req) < 0) return;  // EAGAIN (none), ENOENT (caller gone)
    Handle(listener, req);
  }
}

void Supervisor::Impl::Handle(int listener, seccomp_notif* req) {
  Stats& st = self->stats;
  uint64_t id = req->id;
  int pid = (int)req->pid;
  auto left = [&]() {
    st.left++;
    Continue(listener, id);
  };
  auto fallback = [&]() {
    st.fallback++;
    Continue(listener, id);
  };
  if (req->data.nr != __NR_connect) return fallback();
  if (pending.size() >= (size_t)cfg.max_in_flight) {
    st.budget_hits++;
    if (!budget_logged) {
      budget_logged = true;
      Event e;
      e.kind = Event::kLimit;
      e.pid = pid;
      e.what = "bypass: " + std::to_string(cfg.max_in_flight) +
               " connects already waiting in the supervisor; more go through the namespace until some complete";
      Emit(std::move(e));
    }
    return fallback();
  }
  int target_fd = (int)req->data.args[0];
  if ((uint64_t)target_fd != req->data.args[0] || target_fd < 0) return fallback();
  // pid is the calling thread; its process's fd table is the thread's
  // (checked with kcmp for a thread that is not the leader: one that
  // unshared its fd table falls back).
  int tgid = TgidOf(pid);
  if (tgid <= 0) return fallback();
  Fd pidfd((int)syscall(SYS_pidfd_open, tgid, 0));
  if (pidfd.fd < 0) return fallback();
  Fd sock((int)syscall(SYS_pidfd_getfd, pidfd.fd, target_fd, 0));
  if (sock.fd < 0) return fallback();
  if (tgid != pid && syscall(SYS_kcmp, pid, getpid(), KCMP_FILE, target_fd, sock.fd) != 0) return fallback();
  struct stat sst;
  if (fstat(sock.fd, &sst) < 0 || !S_ISSOCK(sst.st_mode)) return fallback();
  int family = GetInt(sock.fd, SOL_SOCKET, SO_DOMAIN);
  int type = GetInt(sock.fd, SOL_SOCKET, SO_TYPE);
  int proto = GetInt(sock.fd, SOL_SOCKET, SO_PROTOCOL);
  if (family != AF_INET && family != AF_INET6) return fallback();
  if (!((type == SOCK_STREAM && proto == IPPROTO_TCP) || (type == SOCK_DGRAM && proto == IPPROTO_UDP))) return fallback();
  uint64_t dev = 0, ino = 0;
  Fd sns(SocketNetns(sock.fd, &dev, &ino));
  if (sns.fd < 0) return fallback();
  Routes* nested_routes = nullptr;
  if (dev != cfg.netns_dev || ino != cfg.netns_ino) {
    // A socket of the host (bypassed before: a UDP re-connect, a TCP retry
    // after a failure) is bound to its outgoing device, so even the
    // namespace path cannot take it to the host's loopback. A nested
    // namespace's socket is left to it unless asked; when asked, its own
    // routes must send the destination through its default gateway too.
    if (!cfg.nested || (dev == host_dev && ino == host_ino)) return left();
    nested_routes = NestedRoutes(sns.fd, ino);
    if (!nested_routes) return left();
  }
  if (!Unbound(sock.fd)) return fallback();
  Dest d;
  if (!ReadDest(pid, req->data.args[1], req->data.args[2], family, &d)) return fallback();
  // From here on, only d is used: the caller's memory is never read again.
  if (ioctl(listener, SECCOMP_IOCTL_NOTIF_ID_VALID, &id) < 0) return;  // the caller is gone
  if (AlwaysLeft(d, cfg.ignore) || !inside->ViaDefault(d)) return left();
  if (nested_routes && !nested_routes->ViaDefault(d)) return left();
  int oif = 0;
  if (!host->HostUnicast(d, &oif)) return left();
  int flags = fcntl(sock.fd, F_GETFL);
  if (flags < 0) return fallback();
  bool nonblock = (flags & O_NONBLOCK) != 0;
  bool cloexec_ok;
  bool cloexec = CloexecOf(pid, target_fd, &cloexec_ok);
  if (!cloexec_ok) return fallback();
  bool over = false;
  if (EpollHolds(pid, sst.st_ino, &over) != 0) {
    if (over && !scan_logged) {
      scan_logged = true;
      Event e;
      e.kind = Event::kLimit;
      e.pid = tgid;
      e.what = "bypass: process " + std::to_string(tgid) + " has more than " + std::to_string(kMaxScanFds) +
               " fds (or epoll registrations) to look through; its connects go through the namespace";
      Emit(std::move(e));
    }
    return fallback();
  }
  Fd hs(socket(family, type | SOCK_CLOEXEC | SOCK_NONBLOCK, proto));
  if (hs.fd < 0) return fallback();
  CopySockopts(sock.fd, hs.fd, family, type);
  // Pinned to the route's device: whatever the caller does with this socket
  // later (sendto another address, connect again), the host's loopback is
  // not reachable from it.
  char ifname[IF_NAMESIZE + 1] = {0};
  if (!if_indextoname((unsigned)oif, ifname) || setsockopt(hs.fd, SOL_SOCKET, SO_BINDTODEVICE, ifname, strlen(ifname)) < 0)
    return fallback();
  int err = 0;
  if (connect(hs.fd, reinterpret_cast<sockaddr*>(&d.ss), d.len) < 0) err = errno;
  if (err == EINPROGRESS && !nonblock) {
    // A blocking caller: its fd is the host socket from now on, while the
    // connection goes on, as in the kernel: a signal that interrupts the
    // caller (EINTR) leaves the connection going on its socket, a restarted
    // connect() waits on that socket (the namespace path: it is a host socket
    // now). The answer waits here for completion.
    fcntl(hs.fd, F_SETFL, 0);
    if (!Install(listener, id, hs.fd, target_fd, cloexec)) return;  // interrupted or gone: the call comes again
    timeval tv{};
    socklen_t tl = sizeof tv;
    int64_t deadline = 0;
    if (getsockopt(sock.fd, SOL_SOCKET, SO_SNDTIMEO_OLD, &tv, &tl) == 0 && (tv.tv_sec || tv.tv_usec))
      deadline = NowMs() + tv.tv_sec * 1000 + tv.tv_usec / 1000;
    auto p = std::make_unique<Pending>();
    p->listener = listener;
    p->notif_id = id;
    p->pid = tgid;
    p->type = type;
    p->dst = d;
    p->deadline_ms = deadline;
    uint64_t key = Key(kPending, next_pending++);
    Add(hs.fd, EPOLLOUT, key);
    p->host.Reset(hs.Release());
    pending[key] = std::move(p);
    st.in_flight = pending.size();
    return;
  }
  if (err != 0 && err != EINPROGRESS) {
    // Not swapped: the caller's socket stays as it was, as after a failed connect.
    st.failed++;
    return Answer(listener, id, err);
  }
  if (!nonblock) fcntl(hs.fd, F_SETFL, 0);
  if (!Install(listener, id, hs.fd, target_fd, cloexec)) return;  // the caller is gone
  st.bypassed++;
  Answer(listener, id, err);
  if (self->debug) {
    Event e;
    e.pid = tgid;
    e.type = type;
    e.dst = d.ToString();
    e.err = err;
    Emit(std::move(e));
  }
}

// A waiting blocking connect completed (or timed out: err ETIMEDOUT from the sweep).
void Supervisor::Impl::Finish(uint64_t key, int err) {
  auto it = pending.find(key);
  if (it == pending.end()) return;
  std::unique_ptr<Pending> p = std::move(it->second);
  pending.erase(it);
  self->stats.in_flight = pending.size();
  epoll_ctl(ep.fd, EPOLL_CTL_DEL, p->host.fd, nullptr);
  if (err == 0) {
    socklen_t l = sizeof err;
    if (getsockopt(p->host.fd, SOL_SOCKET, SO_ERROR, &err, &l) < 0) err = errno;
  }
  // The caller's fd is the host socket already (see Handle). SO_SNDTIMEO ran
  // out (EINPROGRESS): the connection goes on, as the kernel's would.
  if (ioctl(p->listener, SECCOMP_IOCTL_NOTIF_ID_VALID, &p->notif_id) < 0) return;
  if (err != 0 && err != EINPROGRESS) {
    self->stats.failed++;
    return Answer(p->listener, p->notif_id, err);
  }
  self->stats.bypassed++;
  Answer(p->listener, p->notif_id, err);
  if (self->debug) {
    Event e;
    e.pid = p->pid;
    e.type = p->type;
    e.dst = p->dst.ToString();
    e.err = err;
    Emit(std::move(e));
  }
}

void Supervisor::Impl::Sweep() {
  int64_t now = NowMs();
  std::vector<std::pair<uint64_t, int>> done;
  for (auto& kv : pending) {
    Pending* p = kv.second.get();
    if (ioctl(p->listener, SECCOMP_IOCTL_NOTIF_ID_VALID, &p->notif_id) < 0) done.push_back({kv.first, -1});
    else if (p->deadline_ms && now >= p->deadline_ms) done.push_back({kv.first, EINPROGRESS});
  }
  for (auto& k : done) {
    if (k.second < 0) {  // the caller is gone (a signal, an exit): drop it
      auto it = pending.find(k.first);
      epoll_ctl(ep.fd, EPOLL_CTL_DEL, it->second->host.fd, nullptr);
      pending.erase(it);
      self->stats.in_flight = pending.size();
    } else {
      Finish(k.first, k.second);
    }
  }
}

// The next time the loop must look at the pending connects: the sweep, or an
// earlier SO_SNDTIMEO deadline.
int64_t Supervisor::Impl::NextWake(int64_t next_sweep) const {
  int64_t t = next_sweep;
  for (auto& kv : pending)
    if (kv.second->deadline_ms && kv.second->deadline_ms < t) t = kv.second->deadline_ms;
  return t;
}

void Supervisor::Impl::Run() {
  int64_t next_sweep = NowMs() + kSweepMs;
  epoll_event evs[64];
  for (;;) {
    int64_t wait = NextWake(next_sweep) - NowMs();
    int n = epoll_wait(ep.fd, evs, 64, pending.empty() ? -1 : (int)(wait < 0 ? 0 : wait));
    if (n < 0 && errno != EINTR) break;
    for (int i = 0; i < n; i++) {
      uint64_t k = evs[i].data.u64;
      int id = (int)(k >> 3);
      switch (k & 7) {
        case kStop: return;
        case kListen: Accept(); break;
        case kHandoff: Handoff(id); break;
        case kNotify:
          if (evs[i].events & EPOLLIN) Notification(id);
          if ((evs[i].events & (EPOLLHUP | EPOLLERR)) && !(evs[i].events & EPOLLIN)) {
            // No process with this filter is left.
            epoll_ctl(ep.fd, EPOLL_CTL_DEL, id, nullptr);
            listeners.erase(id);
            close(id);
            self->stats.listeners = listeners.size();
            if (listeners.empty() && had_listener) {
              Event e;
              e.kind = Event::kIdle;
              Emit(std::move(e));
            }
          }
          break;
        case kPending: Finish(k, 0); break;
      }
    }
    if (!pending.empty() && NowMs() >= NextWake(next_sweep)) {
      Sweep();
      if (NowMs() >= next_sweep) next_sweep = NowMs() + kSweepMs;
    } else if (pending.empty()) {
      next_sweep = NowMs() + kSweepMs;
    }
    Flush();
  }
}

Supervisor::Supervisor(Config c) : impl_(new Impl()) {
  impl_->self = this;
  impl_->cfg = std::move(c);
  impl_->ep.Reset(epoll_create1(EPOLL_CLOEXEC));
  impl_->stop_ev.Reset(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  impl_->host_nl.Reset(socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE));
  impl_->inside.reset(new Routes(impl_->cfg.netlink_fd));
  struct stat own;
  if (stat("/proc/self/ns/net", &own) == 0) {
    impl_->host_dev = own.st_dev;
    impl_->host_ino = own.st_ino;
  }
  impl_->host.reset(new Routes(impl_->host_nl.fd));
  syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &impl_->sizes);
  impl_->Add(impl_->stop_ev.fd, EPOLLIN, Key(kStop, 0));
  fcntl(impl_->cfg.listen_fd, F_SETFL, O_NONBLOCK);
  impl_->Add(impl_->cfg.listen_fd, EPOLLIN, Key(kListen, 0));
}

void Supervisor::Start() {
  thread_ = std::thread([this] { impl_->Run(); });
}

void Supervisor::Stop() {
  if (thread_.joinable()) {
    uint64_t one = 1;
    (void)!write(impl_->stop_ev.fd, &one, sizeof one);
    thread_.join();
  }
}

Supervisor::~Supervisor() {
  Stop();
  Impl* d = impl_;
  for (auto& kv : d->handoffs) close(kv.first);
  for (auto& kv : d->listeners) close(kv.first);  // the callers' next connect: ENOSYS
  d->pending.clear();
  if (d->cfg.listen_fd >= 0) close(d->cfg.listen_fd);
  if (d->cfg.netlink_fd >= 0) close(d->cfg.netlink_fd);
  delete d;
}

}  // namespace bypass
}  // namespace rk
