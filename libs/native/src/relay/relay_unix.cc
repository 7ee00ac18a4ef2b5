// UNIX stream sockets in the relay: listening on a socket file or an
// abstract name, connecting to one (on the host, or in a namespace's mount
// namespace through the short-lived helper of process/nsexec.h).
//
// A socket file is made race-free: bind(2) creates it like O_CREAT|O_EXCL
// and never follows a symlink at the last component, so whatever another
// user planted at the path makes bind fail (EADDRINUSE) instead of being
// used. mode= is applied by bind itself: a short thread with its own
// filesystem attributes (unshare(CLONE_FS), so the process's umask is left
// alone) sets the umask to the complement of mode and binds; the file never
// exists with other bits. user=/group= then fchownat(AT_SYMLINK_NOFOLLOW)
// the file just made (checked to be our socket by its inode).
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <thread>

#include "relay/relay.h"

namespace rk {
namespace relay {

bool ParseUnixAddr(const std::string& name, bool abstract, Addr* out) {
  *out = Addr();
  sockaddr_un* u = reinterpret_cast<sockaddr_un*>(&out->ss);
  u->sun_family = AF_UNIX;
  if (name.empty() || name.find('\0') != std::string::npos) return false;
  if (abstract) {
    if (name.size() + 1 > sizeof u->sun_path) return false;
    memcpy(u->sun_path + 1, name.data(), name.size());
    out->len = (socklen_t)(offsetof(sockaddr_un, sun_path) + 1 + name.size());
  } else {
    if (name.size() + 1 > sizeof u->sun_path) return false;  // room for the NUL
    memcpy(u->sun_path, name.data(), name.size());
    out->len = (socklen_t)(offsetof(sockaddr_un, sun_path) + name.size() + 1);
  }
  return true;
}

static std::string UnixPath(const Addr& a) {
  const sockaddr_un* u = reinterpret_cast<const sockaddr_un*>(&a.ss);
  size_t n = a.len > offsetof(sockaddr_un, sun_path) ? a.len - offsetof(sockaddr_un, sun_path) : 0;
  if (n == 0) return "";
  if (u->sun_path[0] == '\0') return "@" + std::string(u->sun_path + 1, n - 1);
  return std::string(u->sun_path, strnlen(u->sun_path, n));
}

std::string UnixAddrString(const Addr& a) {
  std::string p = UnixPath(a);
  return p.empty() ? "unix:(unnamed)" : "unix:" + p;
}

int OpenUnixListener(const Addr& a, const UnixFileOpts& o, uint64_t* dev, uint64_t* ino) {
  *dev = *ino = 0;
  std::string path = UnixPath(a);
  bool abstract = !path.empty() && path[0] == '@';
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -errno;
  if (!abstract && o.unlink_early && unlink(path.c_str()) < 0 && errno != ENOENT) {
    int err = errno;
    close(fd);
    return -err;
  }
  int err = 0;
  if (!abstract && o.mode >= 0) {
    // bind on a thread of its own filesystem attributes, under umask ~mode.
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    std::thread t([&]() {
      if (unshare(CLONE_FS) < 0) {
        err = errno;
        return;
      }
      umask((mode_t)(~o.mode & 0777));
      if (bind(fd, reinterpret_cast<const sockaddr*>(&a.ss), a.len) < 0) err = errno;
    });
    t.join();
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
  } else if (bind(fd, reinterpret_cast<const sockaddr*>(&a.ss), a.len) < 0) {
    err = errno;
  }
  if (err != 0) {
    close(fd);
    return -err;
  }
  if (!abstract) {
    struct stat st;
    if (lstat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode)) {
      *dev = st.st_dev;
      *ino = st.st_ino;
    }
    if ((o.uid >= 0 || o.gid >= 0) &&
        (*ino == 0 || fchownat(AT_FDCWD, path.c_str(), (uid_t)o.uid, (gid_t)o.gid, AT_SYMLINK_NOFOLLOW) < 0)) {
      err = *ino == 0 ? EEXIST : errno;
      RemoveUnixFile(path, *dev, *ino);
      close(fd);
      return -err;
    }
  }
  if (listen(fd, SOMAXCONN) < 0) {
    err = errno;
    if (!abstract) RemoveUnixFile(path, *dev, *ino);
    close(fd);
    return -err;
  }
  return fd;
}

void RemoveUnixFile(const std::string& path, uint64_t dev, uint64_t ino) {
  if (path.empty() || ino == 0) return;
  struct stat st;
  if (lstat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode) && st.st_dev == dev && st.st_ino == ino) unlink(path.c_str());
}

int ConnectUnix(const Addr& a, const NsTarget* ns) {
  if (ns) {
    NsOp op;
    op.kind = NsOpKind::kConnectUnix;
    memcpy(op.path, &a.ss, a.len);
    op.data_len = (int32_t)a.len;
    int failed = 0;
    int err = NsRun(*ns, &op, 1, &failed);
    return err != 0 ? -err : op.result;
  }
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -errno;
  if (connect(fd, reinterpret_cast<const sockaddr*>(&a.ss), a.len) < 0) {
    int err = errno;
    close(fd);
    return -err;
  }
  return fd;
}

bool Port::Allowed(const Addr& client) const {
  if (ranges.empty()) return true;
  Addr c = client.Unmapped();
  for (const auto& r : ranges) {
    const Addr& n = r.first;
    if (n.family() != c.family()) continue;
    const uint8_t* x;
    const uint8_t* y;
    int bits = r.second;
    if (c.family() == AF_INET) {
      x = reinterpret_cast<const uint8_t*>(&reinterpret_cast<const sockaddr_in*>(&c.ss)->sin_addr);
      y = reinterpret_cast<const uint8_t*>(&reinterpret_cast<const sockaddr_in*>(&n.ss)->sin_addr);
    } else {
      x = reinterpret_cast<const sockaddr_in6*>(&c.ss)->sin6_addr.s6_addr;
      y = reinterpret_cast<const sockaddr_in6*>(&n.ss)->sin6_addr.s6_addr;
    }
    int i = 0;
    for (; bits >= 8; bits -= 8, i++)
      if (x[i] != y[i]) break;
    if (bits >= 8) continue;
    if (bits == 0 || ((x[i] ^ y[i]) & (0xff << (8 - bits)) & 0xff) == 0) return true;
  }
  return false;
}

}  // namespace relay
}  // namespace rk
