// Watching a spawned child from one dedicated thread: it reads the child's
// report pipe (16-byte records, then EOF at exec or exit), then waits for the
// child, and hands each event to JS through a ThreadSafeFunction. No libuv
// pool thread and no net.Socket (which would load Node's stream machinery).
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <thread>

#include "common/errors.h"
#include "common/exports.h"
#include "process/spawn.h"

namespace rk {

struct WatchEvent {
  enum Type { kReport, kEof, kExit } type;
  int32_t rec[4] = {0, 0, 0, 0};
  int status = 0;
  int err = 0;
};

static void Deliver(Napi::Env env, Napi::Function fn, WatchEvent* ev) {
  Napi::Object o = Napi::Object::New(env);
  if (ev->type == WatchEvent::kReport) {
    o.Set("type", "report");
    Napi::Array rec = Napi::Array::New(env, 4);
    for (uint32_t i = 0; i < 4; i++) rec.Set(i, Napi::Number::New(env, ev->rec[i]));
    o.Set("record", rec);
  } else if (ev->type == WatchEvent::kEof) {
    o.Set("type", "eof");
  } else {
    o.Set("type", "exit");
    if (ev->err != 0) o.Set("error", ErrnoError(env, ev->err, "waitpid").Value());
    else if (WIFEXITED(ev->status)) o.Set("code", Napi::Number::New(env, WEXITSTATUS(ev->status)));
    else if (WIFSIGNALED(ev->status)) o.Set("signal", Napi::Number::New(env, WTERMSIG(ev->status)));
  }
  delete ev;
  fn.Call({o});
}

// watchChild(pid, reportFd, cb): cb({type:'report', record}|{type:'eof'}|{type:'exit', code?, signal?})
// With reportFd < 0 it only waits for the child (one 'exit' event).
Napi::Value WatchChild(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  pid_t pid = info[0].As<Napi::Number>().Int32Value();
  int fd = info[1].As<Napi::Number>().Int32Value();
  auto tsfn = Napi::ThreadSafeFunction::New(env, info[2].As<Napi::Function>(), "rk-watch", 0, 1);
  std::thread([pid, fd, tsfn]() mutable {
    char buf[kReportSize];
    size_t have = 0;
    for (; fd >= 0;) {
      ssize_t n = read(fd, buf + have, sizeof buf - have);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      have += (size_t)n;
      if (have == sizeof buf) {
        WatchEvent* ev = new WatchEvent{WatchEvent::kReport};
        memcpy(ev->rec, buf, sizeof buf);
        tsfn.BlockingCall(ev, Deliver);
        have = 0;
      }
    }
    if (fd >= 0) {
      close(fd);
      tsfn.BlockingCall(new WatchEvent{WatchEvent::kEof}, Deliver);
    }
    WatchEvent* ev = new WatchEvent{WatchEvent::kExit};
    pid_t r;
    do r = waitpid(pid, &ev->status, __WALL); while (r < 0 && errno == EINTR);
    if (r < 0) ev->err = errno;
    tsfn.BlockingCall(ev, Deliver);
    tsfn.Release();
  }).detach();
  return env.Undefined();
}

}  // namespace rk
