// See nsexec.h. The helper is cloned with CLONE_VM | CLONE_VFORK |
// CLONE_FILES on a stack of its own: it shares our memory (so it only makes
// raw system calls and writes results into the op array) and our fd table
// (so a tap or socket it opens is ours once it exits); the calling thread
// waits until it exits. Signals are blocked around the clone so no handler of
// Node's ever runs in the helper.
#include "process/nsexec.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "common/errors.h"
#include "common/exports.h"
#include "netlink/netlink.h"

namespace rk {

namespace {

constexpr size_t kStackSize = 256 * 1024;

struct Job {
  const NsTarget* target;
  NsOp* ops;
  int n;
  int err;
  int failed;
};

int OpenTap(NsOp& op) {
  int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
  if (fd < 0) return errno;
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  memcpy(ifr.ifr_name, op.name, IFNAMSIZ - 1);
  ifr.ifr_flags = (short)(IFF_TAP | IFF_NO_PI | op.flags);
  if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
    int err = errno;
    close(fd);
    return err;
  }
  op.result = fd;
  return 0;
}

int WriteFile(const NsOp& op) {
  int fd = open(op.path, O_WRONLY | O_CLOEXEC | O_TRUNC | O_NOFOLLOW);
  if (fd < 0) return errno;
  ssize_t w;
  do w = write(fd, op.data, (size_t)op.data_len); while (w < 0 && errno == EINTR);
  int err = w < 0 ? errno : 0;
  close(fd);
  return err;
}

int RunOp(NsOp& op) {
  int index = 0;
  switch (op.kind) {
    case NsOpKind::kTap:
      return OpenTap(op);
    case NsOpKind::kSocket: {
      int fd = socket(op.family, op.type | SOCK_CLOEXEC | SOCK_NONBLOCK, op.proto);
      if (fd < 0) return errno;
      op.result = fd;
      return 0;
    }
    case NsOpKind::kLink: {
      int err = IfIndex(op.name, &index);
      return err ? err : NlLinkSet(index, op.mtu, op.up != 0);
    }
    case NsOpKind::kAddr: {
      int err = IfIndex(op.name, &index);
      return err ? err : NlAddrAdd(index, op.family, op.addr, op.prefix);
    }
    case NsOpKind::kRoute: {
      if (op.name[0]) {
        int err = IfIndex(op.name, &index);
        if (err) return err;
      }
      return NlRoute(op.del != 0, op.family, op.addr, op.prefix, op.gw, index, op.table, op.rtype);
    }
    case NsOpKind::kRule:
      return NlRule(op.del != 0, op.family, op.table, op.priority, op.ipproto, op.sport_lo, op.sport_hi);
    case NsOpKind::kWrite:
      return WriteFile(op);
    case NsOpKind::kOpen: {
      int fd = open(op.path, op.flags | O_CLOEXEC);
      if (fd < 0) return errno;
      op.result = fd;
      return 0;
    }
    case NsOpKind::kUnshareNet:
      return unshare(CLONE_NEWNET) < 0 ? errno : 0;
    case NsOpKind::kBind:
      return mount(op.path, op.path2, nullptr, MS_BIND, nullptr) < 0 ? errno : 0;
    case NsOpKind::kConnectUnix: {
      int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
      if (fd < 0) return errno;
      if (connect(fd, reinterpret_cast<const sockaddr*>(op.path), (socklen_t)op.data_len) < 0) {
        int err = errno;
        close(fd);
        return err;
      }
      op.result = fd;
      return 0;
    }
  }
  return EINVAL;
}

int HelperMain(void* arg) {
  Job* job = static_cast<Job*>(arg);
  for (int fd : job->target->fds) {
    if (fd < 0) continue;
    if (setns(fd, 0) < 0) {
      job->err = errno;
      job->failed = -1;
      _exit(0);
    }
  }
  for (int i = 0; i < job->n; i++) {
    int err = RunOp(job->ops[i]);
    if (err != 0) {
      job->err = err;
      job->failed = i;
      _exit(0);
    }
  }
  _exit(0);
}

}  // namespace

int NsRun(const NsTarget& target, NsOp* ops, int n, int* failed) {
  for (int i = 0; i < n; i++) ops[i].result = -1;
  void* stack = mmap(nullptr, kStackSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  if (stack == MAP_FAILED) {
    *failed = -2;
    return errno;
  }
  Job job{&target, ops, n, 0, 0};
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  pid_t pid = clone(HelperMain, static_cast<char*>(stack) + kStackSize, CLONE_VM | CLONE_VFORK | CLONE_FILES, &job);
  int clone_err = errno;
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  if (pid < 0) {
    munmap(stack, kStackSize);
    *failed = -2;
    return clone_err;
  }
  int st;
  pid_t w;
  do w = waitpid(pid, &st, __WALL); while (w < 0 && errno == EINTR);
  munmap(stack, kStackSize);
  if (job.err != 0) {
    for (int i = 0; i < n; i++) {
      if (ops[i].result >= 0) close(ops[i].result);
      ops[i].result = -1;
    }
    *failed = job.failed;
    return job.err;
  }
  return 0;
}

int NsSockets(const NsTarget& target, int family, int type, int proto, int count, int* fds) {
  if (count < 1 || count > 64) return EINVAL;
  NsOp ops[64];
  for (int i = 0; i < count; i++) {
    ops[i].kind = NsOpKind::kSocket;
    ops[i].family = family;
    ops[i].type = type;
    ops[i].proto = proto;
  }
  int failed = 0;
  int err = NsRun(target, ops, count, &failed);
  if (err != 0) return err;
  for (int i = 0; i < count; i++) fds[i] = ops[i].result;
  return 0;
}

// ---- JS bindings ----

namespace {

std::string Str(const Napi::Object& o, const char* key) {
  Napi::Value v = o.Get(key);
  return v.IsString() ? v.As<Napi::String>().Utf8Value() : std::string();
}
int32_t Int(const Napi::Object& o, const char* key, int32_t def = 0) {
  Napi::Value v = o.Get(key);
  return v.IsNumber() ? v.As<Napi::Number>().Int32Value() : def;
}
void Copy(char* dst, size_t cap, const std::string& s, Napi::Env env, const char* what) {
  if (s.size() >= cap) throw Napi::TypeError::New(env, std::string("nsRun: ") + what + " too long: " + s);
  memcpy(dst, s.c_str(), s.size() + 1);
}
void Bytes(uint8_t* dst, const Napi::Value& v) {
  if (!v.IsBuffer()) return;
  Napi::Buffer<uint8_t> b = v.As<Napi::Buffer<uint8_t>>();
  memcpy(dst, b.Data(), b.Length() < 16 ? b.Length() : 16);
}

NsOp ParseOp(Napi::Env env, const Napi::Object& o) {
  NsOp op{};
  std::string k = Str(o, "op");
  if (k == "tap") op.kind = NsOpKind::kTap;
  else if (k == "socket") op.kind = NsOpKind::kSocket;
  else if (k == "link") op.kind = NsOpKind::kLink;
  else if (k == "addr") op.kind = NsOpKind::kAddr;
  else if (k == "route") op.kind = NsOpKind::kRoute;
  else if (k == "rule") op.kind = NsOpKind::kRule;
  else if (k == "write") op.kind = NsOpKind::kWrite;
  else if (k == "open") op.kind = NsOpKind::kOpen;
  else if (k == "unshareNet") op.kind = NsOpKind::kUnshareNet;
  else if (k == "bind") op.kind = NsOpKind::kBind;
  else throw Napi::TypeError::New(env, "nsRun: unknown op " + k);
  Copy(op.name, sizeof op.name, Str(o, "name"), env, "name");
  Copy(op.path, sizeof op.path, Str(o, "path"), env, "path");
  Copy(op.path2, sizeof op.path2, Str(o, "target"), env, "target");
  std::string data = Str(o, "data");
  Copy(op.data, sizeof op.data, data, env, "data");
  op.data_len = (int32_t)data.size();
  op.family = Int(o, "family");
  op.type = Int(o, "type");
  op.proto = Int(o, "proto");
  op.flags = Int(o, "flags");
  op.mtu = Int(o, "mtu");
  op.up = o.Get("up").ToBoolean() ? 1 : 0;
  op.prefix = Int(o, "prefix");
  op.table = Int(o, "table");
  op.rtype = Int(o, "rtype");
  op.priority = Int(o, "priority");
  op.ipproto = Int(o, "ipproto");
  op.sport_lo = Int(o, "sportLo");
  op.sport_hi = Int(o, "sportHi");
  op.del = o.Get("del").ToBoolean() ? 1 : 0;
  Bytes(op.addr, o.Get("addr"));
  Bytes(op.gw, o.Get("gw"));
  return op;
}

}  // namespace

// nsRun(nsFds: number[], ops: object[]) -> number[] (fd or -1 per op).
// Throws a Node-style error with .op = index of the failing op (-1: setns).
Napi::Value NsRunJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  NsTarget t;
  Napi::Array fds = info[0].As<Napi::Array>();
  if (fds.Length() > 4) throw Napi::TypeError::New(env, "nsRun: at most 4 namespaces");
  for (uint32_t i = 0; i < fds.Length(); i++) t.fds[i] = fds.Get(i).As<Napi::Number>().Int32Value();
  Napi::Array a = info[1].As<Napi::Array>();
  std::vector<NsOp> ops;
  for (uint32_t i = 0; i < a.Length(); i++) ops.push_back(ParseOp(env, a.Get(i).As<Napi::Object>()));
  int failed = 0;
  int err = NsRun(t, ops.data(), (int)ops.size(), &failed);
  if (err != 0) {
    std::string what = failed == -1 ? "setns" : failed == -2 ? "clone" : Str(a.Get(failed).As<Napi::Object>(), "op");
    Napi::Error e = ErrnoError(env, err, what);
    e.Set("op", Napi::Number::New(env, failed));
    throw e;
  }
  Napi::Array out = Napi::Array::New(env, ops.size());
  for (size_t i = 0; i < ops.size(); i++) out.Set((uint32_t)i, Napi::Number::New(env, ops[i].result));
  return out;
}

// openNamespaces(pid, kinds: string[]) -> {pidfd, fds: {kind: fd}, inodes: {kind: n}}
// Opens /proc/PID/ns/<kind> for each kind, pinned to the process: the pidfd
// is taken first and checked alive afterwards, so a PID recycled in between
// is never mistaken for the process asked for. Close-on-exec fds.
Napi::Value OpenNamespaces(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int pid = info[0].As<Napi::Number>().Int32Value();
  Napi::Array kinds = info[1].As<Napi::Array>();
  int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
  if (pidfd < 0) throw ErrnoError(env, errno, "pidfd_open", std::to_string(pid));
  fcntl(pidfd, F_SETFD, FD_CLOEXEC);
  Napi::Object fdsOut = Napi::Object::New(env);
  Napi::Object inodes = Napi::Object::New(env);
  std::vector<int> opened;
  auto fail = [&](int err, const std::string& sys, const std::string& what) {
    for (int fd : opened) close(fd);
    close(pidfd);
    throw ErrnoError(env, err, sys, what);
  };
  for (uint32_t i = 0; i < kinds.Length(); i++) {
    std::string kind = kinds.Get(i).ToString().Utf8Value();
    std::string path = "/proc/" + std::to_string(pid) + "/ns/" + kind;
    int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) fail(errno, "open", path);
    opened.push_back(fd);
    struct stat st;
    if (fstat(fd, &st) < 0) fail(errno, "fstat", path);
    fdsOut.Set(kind, Napi::Number::New(env, fd));
    inodes.Set(kind, Napi::Number::New(env, (double)st.st_ino));
  }
  if (syscall(SYS_pidfd_send_signal, pidfd, 0, nullptr, 0) < 0) fail(errno, "pidfd_send_signal", std::to_string(pid));
  Napi::Object r = Napi::Object::New(env);
  r.Set("pidfd", Napi::Number::New(env, pidfd));
  r.Set("fds", fdsOut);
  r.Set("inodes", inodes);
  return r;
}

}  // namespace rk
