// File-system calls Node lacks: flock(2), mkfifo(3), and running a mount plan in the
// current process (rk-copyup, already inside its mount namespace).
#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>
#include <sys/stat.h>

#include "common/errors.h"
#include "common/exports.h"
#include "mount/plan.h"

namespace rk {

// flock(fd, exclusive, nonblocking) -> true, or false when another holder has it.
Napi::Value Flock(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = info[0].As<Napi::Number>().Int32Value();
  int op = info[1].ToBoolean() ? LOCK_EX : LOCK_SH;
  if (info[2].ToBoolean()) op |= LOCK_NB;
  int r;
  do r = flock(fd, op); while (r < 0 && errno == EINTR);
  if (r == 0) return Napi::Boolean::New(env, true);
  if (errno == EWOULDBLOCK) return Napi::Boolean::New(env, false);
  throw ErrnoError(env, errno, "flock");
}

// mkfifo(path, mode): throws like Node's fs errors (EEXIST, ...).
Napi::Value Mkfifo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path = info[0].ToString().Utf8Value();
  unsigned mode = info[1].As<Napi::Number>().Uint32Value();
  if (mkfifo(path.c_str(), mode) < 0) throw ErrnoError(env, errno, "mkfifo", path);
  return env.Undefined();
}

// makePipe() -> [readFd, writeFd], both close-on-exec.
Napi::Value MakePipe(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int p[2];
  if (pipe2(p, O_CLOEXEC) < 0) throw ErrnoError(env, errno, "pipe2");
  Napi::Array a = Napi::Array::New(env, 2);
  a.Set(0u, Napi::Number::New(env, p[0]));
  a.Set(1u, Napi::Number::New(env, p[1]));
  return a;
}

Napi::Value RunPlanNow(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Plan plan = ParsePlan(info[0].As<Napi::Array>());
  int failed = -1;
  int err = RunPlan(plan, &failed);
  if (err != 0) {
    Napi::Error e = ErrnoError(env, err, DescribeStep(plan[failed]));
    e.Set("step", Napi::Number::New(env, failed));
    throw e;
  }
  return env.Undefined();
}

}  // namespace rk
