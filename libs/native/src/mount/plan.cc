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
    if ((s.op == StepOp::kCloneTree || s.op == StepOp::kMoveTree) && (s.slot < 0 || s.slot >= kPlanSlots)) {
      throw Napi::RangeError::New(steps.Env(), "plan: slot must be 0.." + std::to_string(kPlanSlots - 1));
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
  }
  return r < 0 ? errno : 0;
}

int RunPlan(const Plan& plan, int* failed) {
  int slots[kPlanSlots];
  for (int i = 0; i < kPlanSlots; i++) slots[i] = -1;
  int err = 0;
  for (size_t i = 0; i < plan.size(); i++) {
    err = RunStep(plan[i], slots);
    if (err != 0 && !plan[i].optional) {
      *failed = (int)i;
      break;
    }
    err = 0;
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
  }
  return "?";
}

}  // namespace rk
