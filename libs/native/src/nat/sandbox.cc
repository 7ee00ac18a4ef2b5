// See sandbox.h.
#include "nat/sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "nat/seccomp_filter.h"

namespace rk {

namespace {

bool WriteFile(const char* path, const char* text) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  size_t n = strlen(text);
  ssize_t w = write(fd, text, n);
  int err = errno;
  close(fd);
  errno = err;
  return w == (ssize_t)n;
}

// A user namespace mapping our uid and gid to themselves, and a mount
// namespace whose root is an empty tmpfs, read-only. false with errno and
// *what at the step that failed.
bool HideFileSystem(const char** what) {
  uid_t uid = getuid();
  gid_t gid = getgid();
  *what = "unshare(CLONE_NEWUSER|CLONE_NEWNS)";
  if (unshare(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS) < 0) return false;
  char map[64];
  *what = "write /proc/self/setgroups";
  if (!WriteFile("/proc/self/setgroups", "deny")) return false;
  snprintf(map, sizeof map, "%u %u 1\n", (unsigned)uid, (unsigned)uid);
  *what = "write /proc/self/uid_map";
  if (!WriteFile("/proc/self/uid_map", map)) return false;
  snprintf(map, sizeof map, "%u %u 1\n", (unsigned)gid, (unsigned)gid);
  *what = "write /proc/self/gid_map";
  if (!WriteFile("/proc/self/gid_map", map)) return false;
  *what = "mount --make-rprivate /";
  if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) < 0) return false;
  // Any directory serves as the mount point: the mount exists only in our
  // new namespace. The tmpfs becomes the root and the old root goes.
  *what = "mount tmpfs";
  if (mount("rk-nat-engine", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=4k,nr_inodes=2,mode=0555") < 0) return false;
  *what = "chdir to the new root";
  if (chdir("/tmp") < 0) return false;
  *what = "pivot_root";
  if (syscall(SYS_pivot_root, ".", ".") < 0) return false;
  *what = "umount the old root";
  if (umount2(".", MNT_DETACH) < 0) return false;
  *what = "chdir /";
  if (chdir("/") < 0) return false;
  *what = "remount / read-only";
  if (mount(nullptr, "/", nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) < 0) return false;
  return true;
}

bool DropCapabilities(const char** what) {
  *what = "prctl PR_CAPBSET_DROP";
  for (int cap = 0; cap <= 63; cap++) {
    if (prctl(PR_CAPBSET_READ, cap, 0, 0, 0) < 0) break;  // past the last capability
    // EPERM: no CAP_SETPCAP (no user namespace of our own), so nothing to drop
    // from a set we could not use anyway: the capset below still empties ours.
    if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EPERM) return false;
  }
  *what = "prctl PR_CAP_AMBIENT_CLEAR_ALL";
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL) return false;
  __user_cap_header_struct head{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2];
  memset(data, 0, sizeof data);
  *what = "capset";
  return syscall(SYS_capset, &head, data) == 0;
}

bool Limit(int resource, rlim_t value) {
  struct rlimit r{value, value};
  return setrlimit(resource, &r) == 0;
}

}  // namespace

SandboxResult EnterSandbox(const SandboxLimits& limits) {
  SandboxResult r;
  const char* what = "";
  auto fail = [&](const char* step) {
    r.err = errno;
    r.what = step;
    return r;
  };
  if (HideFileSystem(&what)) {
    r.fs_hidden = true;
  } else {
    r.note = std::string(what) + ": " + strerror(errno);
  }
  if (!DropCapabilities(&what)) return fail(what);
  if (!Limit(RLIMIT_NOFILE, limits.max_fds)) return fail("setrlimit RLIMIT_NOFILE");
  if (!Limit(RLIMIT_AS, limits.address_space)) return fail("setrlimit RLIMIT_AS");
  if (!Limit(RLIMIT_CORE, 0)) return fail("setrlimit RLIMIT_CORE");
  if (!Limit(RLIMIT_FSIZE, 0)) return fail("setrlimit RLIMIT_FSIZE");
  if (!Limit(RLIMIT_NPROC, 0)) return fail("setrlimit RLIMIT_NPROC");
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) return fail("prctl PR_SET_NO_NEW_PRIVS");
  if (InstallEngineSeccomp() < 0) return fail("seccomp");
  r.ok = true;
  return r;
}

}  // namespace rk
