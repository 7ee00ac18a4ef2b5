// execve(2) for Node: replaces the current process. Signal dispositions that
// Node changed (SIGPIPE is ignored by Node) and O_NONBLOCK on stdio are reset
// first, and the dispositions and mask our own caller gave us (captured before
// Node started) are put back, so CMD starts as if exec'd by that caller.
// file, argv and env entries may be Buffers (raw bytes, passed unchanged).
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "common/bytes.h"
#include "common/errors.h"
#include "common/exports.h"

namespace rk {

Napi::Value Exec(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string file = Bytes(info[0]);
  std::vector<std::string> argv, envv;
  Napi::Array a = info[1].As<Napi::Array>();
  for (uint32_t i = 0; i < a.Length(); i++) argv.push_back(Bytes(a.Get(i)));
  Napi::Array e = info[2].As<Napi::Array>();
  for (uint32_t i = 0; i < e.Length(); i++) envv.push_back(Bytes(e.Get(i)));
  std::vector<char*> argvp, envp;
  for (auto& s : argv) argvp.push_back(const_cast<char*>(s.c_str()));
  argvp.push_back(nullptr);
  for (auto& s : envv) envp.push_back(const_cast<char*>(s.c_str()));
  envp.push_back(nullptr);

  // Node marks its stdio close-on-exec and may make it non-blocking: undo
  // both for 0..2 and for any further fds the caller passes on (keepFds).
  std::vector<int> keep = {0, 1, 2};
  if (info.Length() > 3 && info[3].IsArray()) {
    Napi::Array k = info[3].As<Napi::Array>();
    for (uint32_t i = 0; i < k.Length(); i++) keep.push_back(k.Get(i).As<Napi::Number>().Int32Value());
  }
  for (int fd : keep) {
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0 && (fl & O_NONBLOCK)) fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
    int fdfl = fcntl(fd, F_GETFD);
    if (fdfl >= 0 && (fdfl & FD_CLOEXEC)) fcntl(fd, F_SETFD, fdfl & ~FD_CLOEXEC);
  }
  InheritedSignals inherited = ParseInheritedSignals(info.Length() > 4 ? info[4] : env.Undefined());
  struct sigaction saved[NSIG];
  for (int i = 1; i < NSIG; i++) {
    if (i != SIGKILL && i != SIGSTOP) sigaction(i, nullptr, &saved[i]);
  }
  sigset_t old;
  sigprocmask(SIG_SETMASK, nullptr, &old);
  ApplyInheritedSignals(inherited);
  execve(file.c_str(), argvp.data(), envp.data());
  int err = errno;
  // Still here: put Node's handlers back before reporting.
  sigprocmask(SIG_SETMASK, &old, nullptr);
  for (int i = 1; i < NSIG; i++) {
    if (i != SIGKILL && i != SIGSTOP) sigaction(i, &saved[i], nullptr);
  }
  throw ErrnoError(env, err, "execve", file);
}

}  // namespace rk
