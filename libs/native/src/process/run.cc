// Running a helper program (newuidmap, getsubids, ...) without Node's
// child_process module: posix_spawn on a dedicated thread, which collects its
// stdout+stderr through a pipe and waits for it, then hands the result to JS.
// Keeps child_process (and its stream machinery) off rootlesskit's start path.
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>
#include <thread>
#include <vector>

#include "common/errors.h"
#include "common/exports.h"

extern char** environ;

namespace rk {

struct RunResult {
  int spawn_err = 0;
  int status = 0;
  std::string output;
};

// execvp reports EACCES when a PATH entry could not be searched (a directory
// of another user's, kept on PATH by su) even if the name exists nowhere:
// that is "not found" to the user, as the shell says.
static bool OnPath(const std::string& name) {
  const char* path = getenv("PATH");
  std::string dirs = path != nullptr ? path : "/bin:/usr/bin";
  size_t start = 0;
  for (;;) {
    size_t end = dirs.find(':', start);
    std::string dir = dirs.substr(start, end == std::string::npos ? std::string::npos : end - start);
    struct stat st;
    if (stat(((dir.empty() ? std::string(".") : dir) + "/" + name).c_str(), &st) == 0) return true;
    if (end == std::string::npos) return false;
    start = end + 1;
  }
}

static RunResult RunBlocking(const std::string& file, const std::vector<std::string>& argv) {
  RunResult r;
  std::vector<char*> args;
  for (auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  int p[2];
  if (pipe2(p, O_CLOEXEC) < 0) {
    r.spawn_err = errno;
    return r;
  }
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, p[1], 1);
  posix_spawn_file_actions_adddup2(&fa, p[1], 2);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  pid_t pid;
  // A bare name is looked up on PATH, like execvp.
  int err = file.find('/') == std::string::npos
                ? posix_spawnp(&pid, file.c_str(), &fa, &attr, args.data(), environ)
                : posix_spawn(&pid, file.c_str(), &fa, &attr, args.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  close(p[1]);
  if (err == EACCES && file.find('/') == std::string::npos && !OnPath(file)) err = ENOENT;
  if (err != 0) {
    close(p[0]);
    r.spawn_err = err;
    return r;
  }
  char buf[4096];
  for (;;) {
    ssize_t n = read(p[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    if (r.output.size() < 65536) r.output.append(buf, (size_t)n);
  }
  close(p[0]);
  pid_t w;
  do w = waitpid(pid, &r.status, 0); while (w < 0 && errno == EINTR);
  return r;
}

// runProgram(file, argv, cb): cb({code?, signal?, output, error?})
Napi::Value RunProgram(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string file = info[0].ToString().Utf8Value();
  std::vector<std::string> argv;
  Napi::Array a = info[1].As<Napi::Array>();
  for (uint32_t i = 0; i < a.Length(); i++) argv.push_back(a.Get(i).ToString().Utf8Value());
  auto tsfn = Napi::ThreadSafeFunction::New(env, info[2].As<Napi::Function>(), "rk-run", 0, 1);
  std::thread([file, argv, tsfn]() mutable {
    RunResult* r = new RunResult(RunBlocking(file, argv));
    tsfn.BlockingCall(r, [file](Napi::Env env, Napi::Function fn, RunResult* r) {
      Napi::Object o = Napi::Object::New(env);
      o.Set("output", Napi::String::New(env, r->output));
      if (r->spawn_err != 0) {
        o.Set("error", ErrnoError(env, r->spawn_err, "posix_spawn", file).Value());
      } else if (WIFEXITED(r->status)) {
        o.Set("code", Napi::Number::New(env, WEXITSTATUS(r->status)));
      } else if (WIFSIGNALED(r->status)) {
        o.Set("signal", Napi::Number::New(env, WTERMSIG(r->status)));
      }
      delete r;
      fn.Call({o});
    });
    tsfn.Release();
  }).detach();
  return env.Undefined();
}

}  // namespace rk
