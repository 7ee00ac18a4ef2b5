// Spawning a command in new namespaces.
//
// The parent prepares every buffer, then clone(2)s with the namespace flags
// (so with CLONE_NEWPID the child is PID 1 of the new namespace). The child
// only makes raw system calls until execve: reset signals, set the parent-death
// signal, wait at the gate (a pipe the parent writes one byte to once the ID
// maps are written; EOF means "abort"), run the mount plan, lay out fds, exec.
// Failures before exec are reported on a CLOEXEC pipe as 16-byte records
// {kind, stage, errno, status}; EOF without a record means exec succeeded.
// With `reaper`, the child stays as PID 1: it forks the command, forwards
// signals to it, reaps orphans (unless `reapOrphans` is false: then it waits
// for the command only), reports the command's wait status, and exits.
#include "process/spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "common/bytes.h"
#include "common/errors.h"
#include "common/exports.h"
#include "bypass/bypass.h"
#include "mount/plan.h"

namespace rk {

enum ReportKind : int32_t { kError = 1, kExecOk = 2, kStatus = 3, kPlanDone = 4 };
// Stages (>= 0 is an index into the mount plan).
enum Stage : int32_t { kStageExec = -1, kStageGate = -2, kStageFds = -3, kStageSetup = -4, kStageReaper = -5, kStageBypass = -6 };

struct SpawnSpec {
  std::string file;
  std::vector<std::string> argv, env;
  std::vector<char*> argvp, envp;
  unsigned long clone_flags = 0;
  bool gate = false;
  bool hold_after_plan = false;  // with gate: report kPlanDone, then wait for a second byte
  bool reaper = false;
  bool reap_orphans = true;
  int pdeathsig = 0;
  std::vector<int> fds;
  Plan plan;
  pid_t parent_pid = 0;
  int listen_pid_env = -1;  // index of a "LISTEN_PID=" entry to fill with our pid
  InheritedSignals signals;  // applied to CMD right before execve
  int bypass_fd = -1;  // a unix socket to the bypass supervisor: the filter is installed before exec
};

// Writes the caller's PID into the env entry "LISTEN_PID=..." (preallocated
// with room for 10 digits), for systemd socket activation. No allocation.
static void FillListenPid(SpawnSpec& s) {
  if (s.listen_pid_env < 0) return;
  char* p = s.envp[s.listen_pid_env] + sizeof("LISTEN_PID=") - 1;
  char digits[16];
  int n = 0;
  unsigned v = (unsigned)getpid();
  do digits[n++] = (char)('0' + v % 10); while ((v /= 10) && n < 15);
  for (int i = 0; i < n; i++) p[i] = digits[n - 1 - i];
  p[n] = '\0';
}

static void Report(int fd, int32_t kind, int32_t stage, int32_t err, int32_t status) {
  int32_t rec[4] = {kind, stage, err, status};
  ssize_t n;
  do n = write(fd, rec, sizeof rec); while (n < 0 && errno == EINTR);
}

// Waits for the parent's byte on the gate. The parent closed it (abort) or
// died: CMD never runs.
static void WaitAtGate(int gate, int report) {
  char c;
  ssize_t n;
  do n = read(gate, &c, 1); while (n < 0 && errno == EINTR);
  if (n != 1) {
    Report(report, kError, kStageGate, n == 0 ? ECANCELED : errno, 0);
    _exit(1);
  }
}

static pid_t RawFork(unsigned long flags) {
  return (pid_t)syscall(SYS_clone, flags | SIGCHLD, 0, 0, 0, 0);
}

static void ResetSignals() {
  struct sigaction sa = {};
  sa.sa_handler = SIG_DFL;
  for (int i = 1; i < NSIG; i++) {
    if (i != SIGKILL && i != SIGSTOP) sigaction(i, &sa, nullptr);
  }
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
}

// Lays out fds so that child fd i is spec.fds[i] (-1: closed); every other fd
// becomes close-on-exec. *report is moved above the laid-out range first.
static int LayoutFds(const SpawnSpec& s, int* report) {
  int n = (int)s.fds.size();
  int hi = fcntl(*report, F_DUPFD_CLOEXEC, n < 3 ? 3 : n);
  if (hi < 0) return errno;
  close(*report);
  *report = hi;
  int tmp[256];
  if (n > 256) return EMFILE;
  for (int i = 0; i < n; i++) {
    tmp[i] = -1;
    if (s.fds[i] >= 0) {
      tmp[i] = fcntl(s.fds[i], F_DUPFD_CLOEXEC, n);
      if (tmp[i] < 0) return errno;
    }
  }
  for (int i = 0; i < n; i++) {
    if (tmp[i] >= 0) {
      if (dup2(tmp[i], i) < 0) return errno;
      close(tmp[i]);
    } else {
      close(i);
    }
  }
  syscall(SYS_close_range, (unsigned)n, ~0U, CLOSE_RANGE_CLOEXEC);
  return 0;
}

[[noreturn]] static void RunReaper(SpawnSpec& s, int report) {
  sigset_t all, old;
  sigfillset(&all);
  sigprocmask(SIG_BLOCK, &all, &old);
  int p[2];
  if (pipe2(p, O_CLOEXEC) < 0) {
    Report(report, kError, kStageReaper, errno, 0);
    _exit(1);
  }
  pid_t cmd = RawFork(0);
  if (cmd < 0) {
    Report(report, kError, kStageReaper, errno, 0);
    _exit(1);
  }
  if (cmd == 0) {
    ApplyInheritedSignals(s.signals);
    FillListenPid(s);
    execve(s.file.c_str(), s.argvp.data(), s.envp.data());
    int err = errno;
    ssize_t n;
    do n = write(p[1], &err, sizeof err); while (n < 0 && errno == EINTR);
    _exit(127);
  }
  close(p[1]);
  for (size_t i = 0; i < s.fds.size(); i++) close((int)i);
  int err = 0;
  ssize_t n;
  do n = read(p[0], &err, sizeof err); while (n < 0 && errno == EINTR);
  close(p[0]);
  if (n == sizeof err) Report(report, kError, kStageExec, err, 0);
  else Report(report, kExecOk, 0, 0, 0);
  for (;;) {
    siginfo_t si;
    int sig = sigwaitinfo(&all, &si);
    if (sig < 0) continue;
    if (sig != SIGCHLD) {
      kill(cmd, sig);
      continue;
    }
    int st;
    pid_t w;
    while ((w = waitpid(s.reap_orphans ? -1 : cmd, &st, WNOHANG)) > 0) {
      if (w != cmd) continue;
      Report(report, kStatus, 0, 0, st);
      _exit(WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
    }
  }
}

// Closes every fd >= 3 but the gate, the report pipe and the fds to pass on:
// the parent's other fds are close-on-exec, but this child may wait long
// before exec (or never exec, as a reaper), and must not hold, e.g., the gate
// of another held child. No allocation: a fixed array, insertion-sorted.
static void CloseOtherFds(const SpawnSpec& s, int gate, int report) {
  int keep[260];
  int n = 0;
  keep[n++] = gate;
  keep[n++] = report;
  if (s.bypass_fd >= 0) keep[n++] = s.bypass_fd;
  for (size_t i = 0; i < s.fds.size() && n < 260; i++) keep[n++] = s.fds[i];
  for (int i = 1; i < n; i++) {
    int v = keep[i], j = i - 1;
    while (j >= 0 && keep[j] > v) {
      keep[j + 1] = keep[j];
      j--;
    }
    keep[j + 1] = v;
  }
  unsigned from = 3;
  for (int i = 0; i < n; i++) {
    if (keep[i] < (int)from) continue;
    if ((unsigned)keep[i] > from) syscall(SYS_close_range, from, (unsigned)keep[i] - 1, 0);
    from = (unsigned)keep[i] + 1;
  }
  syscall(SYS_close_range, from, ~0U, 0);
}

[[noreturn]] static void ChildMain(SpawnSpec& s, int gate, int report) {
  CloseOtherFds(s, gate, report);
  ResetSignals();
  // A PID 1 with SIG_DFL drops every signal sent from outside its PID
  // namespace: as the reaper-to-be, hold them blocked from the start (they
  // queue) and forward them once CMD runs, even those sent before it did.
  if (s.reaper) {
    sigset_t all;
    sigfillset(&all);
    sigprocmask(SIG_BLOCK, &all, nullptr);
  }
  if (s.pdeathsig > 0) {
    if (prctl(PR_SET_PDEATHSIG, s.pdeathsig) < 0) {
      Report(report, kError, kStageSetup, errno, 0);
      _exit(1);
    }
    // The parent may have died before prctl; in a new PID namespace getppid()
    // is 0, and the gate's EOF covers that case.
    if (!(s.clone_flags & CLONE_NEWPID) && getppid() != s.parent_pid) _exit(1);
  }
  if (s.gate) {
    WaitAtGate(gate, report);
    if (!s.hold_after_plan) close(gate);
  }
  int failed = -1;
  int err = RunPlan(s.plan, &failed);
  if (err != 0) {
    Report(report, kError, failed, err, 0);
    _exit(1);
  }
  if (s.gate && s.hold_after_plan) {
    // The mounts are done: the parent may now say so (child_pid), then let us exec.
    Report(report, kPlanDone, 0, 0, 0);
    WaitAtGate(gate, report);
    close(gate);
  }
  // The bypass filter comes last before the fds are laid out (its socket is
  // closed by then): the mounts and the gate are done without it.
  if (s.bypass_fd >= 0) {
    err = bypass::InstallAndSend(s.bypass_fd);
    if (err != 0) {
      Report(report, kError, kStageBypass, err, 0);
      _exit(1);
    }
  }
  err = LayoutFds(s, &report);
  if (err != 0) {
    Report(report, kError, kStageFds, err, 0);
    _exit(1);
  }
  if (s.reaper) RunReaper(s, report);
  FillListenPid(s);
  ApplyInheritedSignals(s.signals);
  execve(s.file.c_str(), s.argvp.data(), s.envp.data());
  Report(report, kError, kStageExec, errno, 0);
  _exit(127);
}

static std::vector<std::string> Strings(const Napi::Value& v) {
  std::vector<std::string> out;
  if (!v.IsArray()) return out;
  Napi::Array a = v.As<Napi::Array>();
  for (uint32_t i = 0; i < a.Length(); i++) out.push_back(Bytes(a.Get(i)));
  return out;
}

static std::vector<char*> Pointers(std::vector<std::string>& v) {
  std::vector<char*> p;
  for (auto& s : v) p.push_back(const_cast<char*>(s.c_str()));
  p.push_back(nullptr);
  return p;
}

Napi::Value Spawn(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsObject()) throw Napi::TypeError::New(env, "spawn: options object expected");
  Napi::Object o = info[0].As<Napi::Object>();
  SpawnSpec s;
  s.file = Bytes(o.Get("file"));
  s.argv = Strings(o.Get("argv"));
  s.env = Strings(o.Get("env"));
  s.argvp = Pointers(s.argv);
  for (size_t i = 0; i < s.env.size(); i++) {
    if (s.env[i].rfind("LISTEN_PID=", 0) == 0 && o.Get("fillListenPid").ToBoolean()) {
      s.env[i] = "LISTEN_PID=" + std::string(12, '0');
      s.listen_pid_env = (int)i;
    }
  }
  s.envp = Pointers(s.env);
  if (o.Get("cloneFlags").IsNumber()) s.clone_flags = o.Get("cloneFlags").As<Napi::Number>().Int64Value();
  s.gate = o.Get("gate").ToBoolean();
  s.hold_after_plan = o.Get("holdAfterPlan").ToBoolean();
  s.reaper = o.Get("reaper").ToBoolean();
  if (o.Get("reapOrphans").IsBoolean()) s.reap_orphans = o.Get("reapOrphans").ToBoolean();
  if (o.Get("pdeathsig").IsNumber()) s.pdeathsig = o.Get("pdeathsig").As<Napi::Number>().Int32Value();
  if (o.Get("fds").IsArray()) {
    Napi::Array a = o.Get("fds").As<Napi::Array>();
    for (uint32_t i = 0; i < a.Length(); i++) s.fds.push_back(a.Get(i).As<Napi::Number>().Int32Value());
  } else {
    s.fds = {0, 1, 2};
  }
  if (o.Get("plan").IsArray()) s.plan = ParsePlan(o.Get("plan").As<Napi::Array>());
  s.signals = ParseInheritedSignals(o.Get("signals"));
  if (o.Get("bypassFd").IsNumber()) s.bypass_fd = o.Get("bypassFd").As<Napi::Number>().Int32Value();
  s.parent_pid = getpid();

  int gate[2] = {-1, -1};
  int report[2];
  if (pipe2(report, O_CLOEXEC) < 0) throw ErrnoError(env, errno, "pipe2");
  if (s.gate && pipe2(gate, O_CLOEXEC) < 0) {
    int err = errno;
    close(report[0]);
    close(report[1]);
    throw ErrnoError(env, err, "pipe2");
  }
  pid_t pid = RawFork(s.clone_flags);
  if (pid == 0) {
    close(report[0]);
    if (s.gate) close(gate[1]);
    ChildMain(s, gate[0], report[1]);
  }
  int err = errno;
  close(report[1]);
  if (s.gate) close(gate[0]);
  if (pid < 0) {
    close(report[0]);
    if (s.gate) close(gate[1]);
    throw ErrnoError(env, err, "clone");
  }
  Napi::Object r = Napi::Object::New(env);
  r.Set("pid", Napi::Number::New(env, pid));
  r.Set("gateFd", Napi::Number::New(env, s.gate ? gate[1] : -1));
  r.Set("reportFd", Napi::Number::New(env, report[0]));
  return r;
}

}  // namespace rk
