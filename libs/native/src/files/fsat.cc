// File calls relative to a directory fd (Node has no *at calls), and pidfds.
// A state dir is held as an fd: every file in it is created, checked and
// removed relative to that fd with O_NOFOLLOW, so a path that another user
// swaps (a symlink, a renamed dir) is never followed. pidfdOpen and
// pidfdSignal pin a process: files opened under /proc/PID after pidfdOpen
// belong to that process if pidfdSignal(pidfd, 0) still succeeds.
// Names may be strings or Buffers (raw bytes).
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <string>

#include "common/bytes.h"
#include "common/errors.h"
#include "common/exports.h"

namespace rk {

// The bytes of a string (UTF-8) or a Buffer.
std::string Bytes(const Napi::Value& v) {
  if (v.IsBuffer()) {
    Napi::Buffer<char> b = v.As<Napi::Buffer<char>>();
    return std::string(b.Data(), b.Length());
  }
  return v.ToString().Utf8Value();
}

InheritedSignals ParseInheritedSignals(const Napi::Value& v) {
  InheritedSignals s;
  if (!v.IsObject()) return s;
  Napi::Object o = v.As<Napi::Object>();
  if (o.Get("ignore").IsString()) s.ignore = strtoull(o.Get("ignore").As<Napi::String>().Utf8Value().c_str(), nullptr, 16);
  if (o.Get("block").IsString()) s.block = strtoull(o.Get("block").As<Napi::String>().Utf8Value().c_str(), nullptr, 16);
  return s;
}

void ApplyInheritedSignals(const InheritedSignals& s) {
  struct sigaction dfl = {}, ign = {};
  dfl.sa_handler = SIG_DFL;
  ign.sa_handler = SIG_IGN;
  sigset_t block;
  sigemptyset(&block);
  for (int sig = 1; sig < NSIG; sig++) {
    if (sig == SIGKILL || sig == SIGSTOP) continue;
    unsigned long long bit = sig <= 64 ? 1ULL << (sig - 1) : 0;
    sigaction(sig, (s.ignore & bit) ? &ign : &dfl, nullptr);
    if (s.block & bit) sigaddset(&block, sig);
  }
  sigprocmask(SIG_SETMASK, &block, nullptr);
}

static int DirFd(const Napi::Value& v) { return v.IsNumber() ? v.As<Napi::Number>().Int32Value() : AT_FDCWD; }

// openAt(dirfd, name, flags, mode) -> fd (always close-on-exec)
Napi::Value OpenAt(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int dirfd = DirFd(info[0]);
  std::string name = Bytes(info[1]);
  int flags = info[2].As<Napi::Number>().Int32Value() | O_CLOEXEC;
  unsigned mode = info.Length() > 3 && info[3].IsNumber() ? info[3].As<Napi::Number>().Uint32Value() : 0600;
  int fd;
  do fd = openat(dirfd, name.c_str(), flags, mode); while (fd < 0 && errno == EINTR);
  if (fd < 0) throw ErrnoError(env, errno, "openat", name);
  return Napi::Number::New(env, fd);
}

// unlinkAt(dirfd, name, isDir)
Napi::Value UnlinkAt(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name = Bytes(info[1]);
  if (unlinkat(DirFd(info[0]), name.c_str(), info[2].ToBoolean() ? AT_REMOVEDIR : 0) < 0) {
    throw ErrnoError(env, errno, "unlinkat", name);
  }
  return env.Undefined();
}

// mkfifoAt(dirfd, name, mode)
Napi::Value MkfifoAt(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name = Bytes(info[1]);
  if (mkfifoat(DirFd(info[0]), name.c_str(), info[2].As<Napi::Number>().Uint32Value()) < 0) {
    throw ErrnoError(env, errno, "mkfifoat", name);
  }
  return env.Undefined();
}

// mkdirAt(dirfd, name, mode)
Napi::Value MkdirAt(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name = Bytes(info[1]);
  if (mkdirat(DirFd(info[0]), name.c_str(), info[2].As<Napi::Number>().Uint32Value()) < 0) {
    throw ErrnoError(env, errno, "mkdirat", name);
  }
  return env.Undefined();
}

static Napi::Object StatObject(Napi::Env env, const struct stat& st) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("mode", Napi::Number::New(env, st.st_mode));
  o.Set("uid", Napi::Number::New(env, st.st_uid));
  o.Set("gid", Napi::Number::New(env, st.st_gid));
  o.Set("size", Napi::Number::New(env, (double)st.st_size));
  o.Set("nlink", Napi::Number::New(env, (double)st.st_nlink));
  o.Set("dev", Napi::Number::New(env, (double)st.st_dev));
  o.Set("ino", Napi::Number::New(env, (double)st.st_ino));
  return o;
}

// statAt(dirfd, name) -> {mode, uid, gid, size, nlink, dev, ino}; never follows a
// final symlink. With name "" it is fstat(dirfd).
Napi::Value StatAt(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name = Bytes(info[1]);
  struct stat st;
  int flags = AT_SYMLINK_NOFOLLOW | (name.empty() ? AT_EMPTY_PATH : 0);
  if (fstatat(DirFd(info[0]), name.c_str(), &st, flags) < 0) throw ErrnoError(env, errno, "fstatat", name);
  return StatObject(env, st);
}

// renameAt(dirfd, from, to, noReplace)
Napi::Value RenameAt(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int dirfd = DirFd(info[0]);
  std::string from = Bytes(info[1]), to = Bytes(info[2]);
  unsigned flags = info[3].ToBoolean() ? RENAME_NOREPLACE : 0;
  if (syscall(SYS_renameat2, dirfd, from.c_str(), dirfd, to.c_str(), flags) < 0) {
    throw ErrnoError(env, errno, "renameat2", from + " -> " + to);
  }
  return env.Undefined();
}

// pidfdOpen(pid) -> pidfd (close-on-exec)
Napi::Value PidfdOpen(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int pid = info[0].As<Napi::Number>().Int32Value();
  int fd = (int)syscall(SYS_pidfd_open, pid, 0);
  if (fd < 0) throw ErrnoError(env, errno, "pidfd_open", std::to_string(pid));
  fcntl(fd, F_SETFD, FD_CLOEXEC);
  return Napi::Number::New(env, fd);
}

// pidfdSignal(pidfd, sig): sig 0 only checks that the process still exists (ESRCH when not).
Napi::Value PidfdSignal(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = info[0].As<Napi::Number>().Int32Value();
  int sig = info[1].As<Napi::Number>().Int32Value();
  if (syscall(SYS_pidfd_send_signal, fd, sig, nullptr, 0) < 0) throw ErrnoError(env, errno, "pidfd_send_signal");
  return env.Undefined();
}

// ignoreSignals(hexMask): SIG_IGN for each signal whose bit (sig - 1) is set,
// but SIGCHLD (we wait for our children), SIGKILL and SIGSTOP.
Napi::Value IgnoreSignals(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  unsigned long long mask = strtoull(info[0].ToString().Utf8Value().c_str(), nullptr, 16);
  struct sigaction sa = {};
  sa.sa_handler = SIG_IGN;
  for (int sig = 1; sig <= 64 && sig < NSIG; sig++) {
    if (!(mask & (1ULL << (sig - 1))) || sig == SIGCHLD || sig == SIGKILL || sig == SIGSTOP) continue;
    sigaction(sig, &sa, nullptr);
  }
  return env.Undefined();
}

}  // namespace rk
