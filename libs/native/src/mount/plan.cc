#include "mount/plan.h"

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <fcntl.h>
#include <unistd.h>

#ifndef OPEN_TREE_CLONE
#define OPEN_TREE_CLONE 1
#endif
#ifndef AT_RECURSIVE
#define AT_RECURSIVE 0x8000
#endif
#ifndef MOVE_MOUNT_F_EMPTY_PATH
#define MOVE_MOUNT_F_EMPTY_PATH 0x00000004
#endif
#ifndef FSCONFIG_SET_FLAG
#define FSCONFIG_SET_FLAG 0
#define FSCONFIG_SET_STRING 1
#define FSCONFIG_CMD_CREATE 6
#endif
#ifndef FSOPEN_CLOEXEC
#define FSOPEN_CLOEXEC 0x00000001
#endif
#ifndef FSMOUNT_CLOEXEC
#define FSMOUNT_CLOEXEC 0x00000001
#endif

namespace rk {

static std::string Str(const Napi::Object& o, const char* key) {
  Napi::Value v = o.Get(key);
  return v.IsString() ? v.As<Napi::String>().Utf8Value() : std::string();
}

Plan ParsePlan(const Napi::Array& steps) {
  Plan plan;
  for (uint32_t i = 0; i < steps.Length(); i++) {
    Napi::Object o = steps.Get(i).As<Napi::Object>();
    std::string op = Str(o, "op");
    Step s;
    if (op == "mount") s.op = StepOp::kMount;
    else if (op == "umount") s.op = StepOp::kUmount;
    else if (op == "mkdir") s.op = StepOp::kMkdir;
    else if (op == "rmdir") s.op = StepOp::kRmdir;
    else if (op == "symlink") s.op = StepOp::kSymlink;
    else if (op == "ifup") s.op = StepOp::kIfUp;
    else if (op == "unlink") s.op = StepOp::kUnlink;
    else if (op == "mkfile") s.op = StepOp::kMkfile;
    else if (op == "cloneTree") s.op = StepOp::kCloneTree;
    else if (op == "moveTree") s.op = StepOp::kMoveTree;
    else if (op == "cloneFrom") s.op = StepOp::kCloneFrom;
    else if (op == "overlay") s.op = StepOp::kOverlay;
    else if (op == "skip") s.op = StepOp::kSkip;
    else throw Napi::TypeError::New(steps.Env(), "unknown plan op: " + op);
    s.source = Str(o, "source");
    s.target = Str(o, "target");
    s.fstype = Str(o, "fstype");
    s.data = Str(o, "data");
    s.path = Str(o, "path");
    s.name = Str(o, "name");
    if (o.Get("flags").IsNumber()) s.flags = o.Get("flags").As<Napi::Number>().Int64Value();
    if (o.Get("mode").IsNumber()) s.mode = o.Get("mode").As<Napi::Number>().Uint32Value();
    s.optional = o.Get("optional").ToBoolean();
    s.exist_ok = o.Get("existOk").ToBoolean();
    if (o.Get("slot").IsNumber()) s.slot = o.Get("slot").As<Napi::Number>().Int32Value();
    if (o.Get("from").IsNumber()) s.from = o.Get("from").As<Napi::Number>().Int32Value();
    if (o.Get("count").IsNumber()) s.count = o.Get("count").As<Napi::Number>().Int32Value();
    if (o.Get("elseSkip").IsNumber()) s.else_skip = o.Get("elseSkip").As<Napi::Number>().Int32Value();
    bool slotted = s.op == StepOp::kCloneTree || s.op == StepOp::kMoveTree || s.op == StepOp::kCloneFrom || s.op == StepOp::kOverlay;
    if ((slotted && (s.slot < 0 || s.slot >= kPlanSlots)) || (s.op == StepOp::kCloneFrom && (s.from < 0 || s.from >= kPlanSlots))) {
      throw Napi::RangeError::New(steps.Env(), "plan: slot must be 0.." + std::to_string(kPlanSlots - 1));
    }
    int skip = s.op == StepOp::kSkip ? s.count : s.else_skip;
    if ((s.op == StepOp::kSkip && skip < 0) || (skip >= 0 && i + 1 + (uint32_t)skip > steps.Length())) {
      throw Napi::RangeError::New(steps.Env(), "plan: step " + std::to_string(i) + " skips past the end of the plan");
    }
    plan.push_back(std::move(s));
  }
  return plan;
}

static const char* OrNull(const std::string& s) { return s.empty() ? nullptr : s.c_str(); }

// Sets IFF_UP on a network interface of the current network namespace.
static int IfUp(const std::string& name) {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  strncpy(ifr.ifr_name, name.c_str(), IFNAMSIZ - 1);
  int r = ioctl(fd, SIOCGIFFLAGS, &ifr);
  if (r == 0) {
    ifr.ifr_flags |= IFF_UP;
    r = ioctl(fd, SIOCSIFFLAGS, &ifr);
  }
  int err = errno;
  close(fd);
  errno = err;
  return r;
}

// "/proc/self/fd/<fd><rest>" into buf (no allocation: safe between fork and exec).
static const char* FdPath(char* buf, size_t size, int fd, const char* rest) {
  static const char kPrefix[] = "/proc/self/fd/";
  char digits[12];
  int n = 0;
  unsigned v = (unsigned)fd;
  do digits[n++] = (char)('0' + v % 10); while ((v /= 10) != 0 && n < 11);
  size_t at = 0;
  for (const char* p = kPrefix; *p && at + 1 < size; p++) buf[at++] = *p;
  while (n > 0 && at + 1 < size) buf[at++] = digits[--n];
  for (const char* p = rest; *p && at + 1 < size; p++) buf[at++] = *p;
  buf[at] = 0;
  return buf;
}

static int Fsconfig(int fd, unsigned cmd, const char* key, const char* value) {
  return (int)syscall(SYS_fsconfig, fd, cmd, key, value, 0);
}

// The overlay of kOverlay. Returns 0 or -1 with errno; closes what it opened.
static int Overlay(int lower, const Step& s) {
  char path[64];
  int tmpfs = -1, upper_mnt = -1, ovl = -1, ovl_mnt = -1, r = -1;
  tmpfs = (int)syscall(SYS_fsopen, "tmpfs", FSOPEN_CLOEXEC);
  if (tmpfs < 0) goto out;
  if (Fsconfig(tmpfs, FSCONFIG_SET_STRING, "mode", "0700") < 0 || Fsconfig(tmpfs, FSCONFIG_CMD_CREATE, nullptr, nullptr) < 0) goto out;
  upper_mnt = (int)syscall(SYS_fsmount, tmpfs, FSMOUNT_CLOEXEC, 0);
  if (upper_mnt < 0) goto out;
  if (mkdirat(upper_mnt, "upper", s.mode) < 0 || fchmodat(upper_mnt, "upper", s.mode, 0) < 0 || mkdirat(upper_mnt, "work", 0700) < 0) goto out;
  ovl = (int)syscall(SYS_fsopen, "overlay", FSOPEN_CLOEXEC);
  if (ovl < 0) goto out;
  if (Fsconfig(ovl, FSCONFIG_SET_STRING, "lowerdir", FdPath(path, sizeof path, lower, "")) < 0) goto out;
  if (Fsconfig(ovl, FSCONFIG_SET_STRING, "upperdir", FdPath(path, sizeof path, upper_mnt, "/upper")) < 0) goto out;
  if (Fsconfig(ovl, FSCONFIG_SET_STRING, "workdir", FdPath(path, sizeof path, upper_mnt, "/work")) < 0) goto out;
  if (Fsconfig(ovl, FSCONFIG_SET_FLAG, "userxattr", nullptr) < 0) goto out;
  if (Fsconfig(ovl, FSCONFIG_CMD_CREATE, nullptr, nullptr) < 0) goto out;
  ovl_mnt = (int)syscall(SYS_fsmount, ovl, FSMOUNT_CLOEXEC, 0);
  if (ovl_mnt < 0) goto out;
  r = (int)syscall(SYS_move_mount, ovl_mnt, "", AT_FDCWD, s.target.c_str(), MOVE_MOUNT_F_EMPTY_PATH);
out:
  int err = errno;
  for (int fd : {ovl_mnt, ovl, upper_mnt, tmpfs}) {
    if (fd >= 0) close(fd);
  }
  errno = err;
  return r;
}

static int RunStep(const Step& s, int* slots) {
  int r = 0;
  switch (s.op) {
    case StepOp::kMount:
      r = mount(OrNull(s.source), s.target.c_str(), OrNull(s.fstype), s.flags, OrNull(s.data));
      break;
    case StepOp::kUmount:
      r = umount2(s.target.c_str(), (int)s.flags);
      break;
    case StepOp::kMkdir:
      r = mkdir(s.path.c_str(), s.mode);
      if (r < 0 && errno == EEXIST && s.exist_ok) r = 0;
      break;
    case StepOp::kRmdir:
      r = rmdir(s.path.c_str());
      break;
    case StepOp::kSymlink:
      r = symlink(s.target.c_str(), s.path.c_str());
      break;
    case StepOp::kIfUp:
      r = IfUp(s.name);
      break;
    case StepOp::kUnlink:
      r = unlink(s.path.c_str());
      break;
    case StepOp::kMkfile: {
      int fd = open(s.path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, s.mode);
      r = fd < 0 ? -1 : close(fd);
      break;
    }
    case StepOp::kCloneTree: {
      if (slots[s.slot] >= 0) close(slots[s.slot]);
      int fd = (int)syscall(SYS_open_tree, AT_FDCWD, s.path.c_str(), OPEN_TREE_CLONE | AT_RECURSIVE | O_CLOEXEC);
      slots[s.slot] = fd;
      r = fd < 0 ? -1 : 0;
      break;
    }
    case StepOp::kMoveTree:
      if (slots[s.slot] < 0) {
        errno = EBADF;
        r = -1;
        break;
      }
      r = (int)syscall(SYS_move_mount, slots[s.slot], "", AT_FDCWD, s.target.c_str(), MOVE_MOUNT_F_EMPTY_PATH);
      if (r == 0) {
        close(slots[s.slot]);
        slots[s.slot] = -1;
      }
      break;
    case StepOp::kCloneFrom: {
      if (slots[s.from] < 0) {
        errno = EBADF;
        r = -1;
        break;
      }
      if (slots[s.slot] >= 0 && s.slot != s.from) close(slots[s.slot]);
      int fd = (int)syscall(SYS_open_tree, slots[s.from], s.path.c_str(), OPEN_TREE_CLONE | AT_RECURSIVE | O_CLOEXEC);
      if (fd >= 0 && s.slot == s.from) close(slots[s.slot]);
      if (fd >= 0 || s.slot != s.from) slots[s.slot] = fd;
      r = fd < 0 ? -1 : 0;
      break;
    }
    case StepOp::kOverlay:
      if (slots[s.slot] < 0) {
        errno = EBADF;
        r = -1;
        break;
      }
      r = Overlay(slots[s.slot], s);
      break;
    case StepOp::kSkip:
      break;
  }
  return r < 0 ? errno : 0;
}

int RunPlan(const Plan& plan, int* failed) {
  int slots[kPlanSlots];
  for (int i = 0; i < kPlanSlots; i++) slots[i] = -1;
  int err = 0;
  for (size_t i = 0; i < plan.size(); i++) {
    const Step& s = plan[i];
    err = RunStep(s, slots);
    if (err != 0 && s.else_skip >= 0) {
      i += (size_t)s.else_skip;
      err = 0;
      continue;
    }
    if (err != 0 && !s.optional) {
      *failed = (int)i;
      break;
    }
    err = 0;
    if (s.op == StepOp::kSkip) i += (size_t)s.count;
  }
  for (int i = 0; i < kPlanSlots; i++) {
    if (slots[i] >= 0) close(slots[i]);
  }
  return err;
}

std::string DescribeStep(const Step& s) {
  switch (s.op) {
    case StepOp::kMount:
      return "mount " + (s.fstype.empty() ? s.source : s.fstype) + " on " + s.target;
    case StepOp::kUmount: return "umount " + s.target;
    case StepOp::kMkdir: return "mkdir " + s.path;
    case StepOp::kRmdir: return "rmdir " + s.path;
    case StepOp::kSymlink: return "symlink " + s.path + " -> " + s.target;
    case StepOp::kIfUp: return "bring up interface " + s.name;
    case StepOp::kUnlink: return "unlink " + s.path;
    case StepOp::kMkfile: return "create file " + s.path;
    case StepOp::kCloneTree: return "open_tree " + s.path;
    case StepOp::kMoveTree: return "move_mount onto " + s.target;
    case StepOp::kCloneFrom: return "open_tree " + s.path + " of a detached tree";
    case StepOp::kOverlay: return "mount overlay on " + s.target;
    case StepOp::kSkip: return "skip " + std::to_string(s.count) + " steps";
  }
  return "?";
}

}  // namespace rk
