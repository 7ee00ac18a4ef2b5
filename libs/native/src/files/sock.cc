// A listening unix socket made in one system-call sequence, so that a
// server's socket file exists (and connections queue) before the code that
// serves it has even loaded: rootlesskit creates STATE/api.sock this way
// before CMD starts, then hands the fd to Node's http server.
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <thread>

#include "common/errors.h"
#include "common/exports.h"

namespace rk {

// listenUnix(path) -> fd (close-on-exec, non-blocking, listening, backlog 128).
// The socket file is made srw------- before it listens: only its owner can
// connect (connecting needs write permission), whatever the umask.
Napi::Value ListenUnix(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path = info[0].ToString().Utf8Value();
  struct sockaddr_un addr;
  memset(&addr, 0, sizeof addr);
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) throw ErrnoError(env, ENAMETOOLONG, "bind", path);
  memcpy(addr.sun_path, path.c_str(), path.size());
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) throw ErrnoError(env, errno, "socket");
  if (bind(fd, (struct sockaddr*)&addr, sizeof addr) < 0 || chmod(path.c_str(), 0600) < 0 || listen(fd, 128) < 0) {
    int err = errno;
    close(fd);
    throw ErrnoError(env, err, "bind", path);
  }
  return Napi::Number::New(env, fd);
}

}  // namespace rk

namespace rk {

// whenReadable(fd, cb): a dedicated thread poll()s fd and calls cb() once it
// is readable (for a listening socket: a connection is waiting). The callback
// does not keep the event loop alive. Lets rootlesskit load its HTTP server
// only when an API client actually connects.
Napi::Value WhenReadable(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = info[0].As<Napi::Number>().Int32Value();
  auto tsfn = Napi::ThreadSafeFunction::New(env, info[1].As<Napi::Function>(), "rk-readable", 0, 1);
  tsfn.Unref(env);
  std::thread([fd, tsfn]() mutable {
    struct pollfd p = {fd, POLLIN, 0};
    int r;
    do r = poll(&p, 1, -1); while (r < 0 && errno == EINTR);
    tsfn.BlockingCall();
    tsfn.Release();
  }).detach();
  return env.Undefined();
}

}  // namespace rk
