// execve(2) for Node: replaces the current process. Signal dispositions that
// Node changed (SIGPIPE is ignored by Node) and O_NONBLOCK on stdio are reset
// first so the new program starts the way a shell would start it.
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "errors.h"
#include "exports.h"

namespace rk {

Napi::Value Exec(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string file = info[0].ToString().Utf8Value();
  std::vector<std::string> argv, envv;
  Napi::Array a = info[1].As<Napi::Array>();
  for (uint32_t i = 0; i < a.Length(); i++) argv.push_back(a.Get(i).ToString().Utf8Value());
  Napi::Array e = info[2].As<Napi::Array>();
  for (uint32_t i = 0; i < e.Length(); i++) envv.push_back(e.Get(i).ToString().Utf8Value());
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
  struct sigaction sa = {}, saved[NSIG];
  sa.sa_handler = SIG_DFL;
  for (int i = 1; i < NSIG; i++) {
    if (i != SIGKILL && i != SIGSTOP) sigaction(i, &sa, &saved[i]);
  }
  sigset_t none, old;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, &old);
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
