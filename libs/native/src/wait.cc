// Waiting for a child without the libuv thread pool: one dedicated thread per
// child blocks in waitpid(2) and hands the status to JS through a
// ThreadSafeFunction (which also keeps the event loop alive meanwhile).
#include <errno.h>
#include <sys/wait.h>

#include <thread>

#include "errors.h"
#include "exports.h"

namespace rk {

Napi::Value WaitChild(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  pid_t pid = info[0].As<Napi::Number>().Int32Value();
  Napi::Function cb = info[1].As<Napi::Function>();
  auto tsfn = Napi::ThreadSafeFunction::New(env, cb, "rk-wait", 0, 1);
  std::thread([pid, tsfn]() mutable {
    int st = 0;
    pid_t r;
    do r = waitpid(pid, &st, __WALL); while (r < 0 && errno == EINTR);
    int err = r < 0 ? errno : 0;
    tsfn.BlockingCall([st, err](Napi::Env env, Napi::Function fn) {
      Napi::Object o = Napi::Object::New(env);
      if (err != 0) {
        o.Set("error", ErrnoError(env, err, "waitpid").Value());
      } else if (WIFEXITED(st)) {
        o.Set("code", Napi::Number::New(env, WEXITSTATUS(st)));
      } else if (WIFSIGNALED(st)) {
        o.Set("signal", Napi::Number::New(env, WTERMSIG(st)));
      }
      fn.Call({o});
    });
    tsfn.Release();
  }).detach();
  return env.Undefined();
}

}  // namespace rk
