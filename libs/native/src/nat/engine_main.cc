// rk-nat-engine: the builtin network driver's NAT engine as a process of its
// own, started by libs/net/src/nat-engine.ts. No Node in it. It holds the
// namespace's tap (fd 3) and the host sockets libslirp opens, and nothing
// else: no state dir, no API socket, no namespace fds. It reads its options
// (fd 4, engine_config.h), maps its counters (fd 5), sets up the tap and
// libslirp, enters its sandbox (sandbox.h), and only then reads frames.
// Exit status: 3 when the tap went away (the namespace is gone), 1 on an
// error (one line on stderr), 2 when started wrongly; a crash is a signal.
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <new>
#include <string>

#include "nat/engine_config.h"
#include "nat/sandbox.h"
#include "nat/slirp_engine.h"

namespace {

// Budgets of the engine process (see sandbox.h).
// fds: libslirp's sockets (opts.max_sockets, which the frame filter keeps it
// under) plus the engine's own (stdio, tap, epoll). The filter lets a UDP
// source it saw recently open a socket again past the budget (its table holds
// 2 x max_sockets sources): the hard limit is 3 x max_sockets and a margin,
// far below what would matter to anything else (the engine's fd table is its
// own).
constexpr rlim_t kFdMargin = 256;
// Address space: libslirp's buffers are 64 KiB each (its MTU is 65520 with
// TSO), two per TCP connection and a few per queued segment; 1 GiB holds
// thousands of busy connections. Past it, allocations fail and the engine
// dies; the driver restarts it (flows are lost, the namespace keeps going).
constexpr rlim_t kAddressSpace = rlim_t(1) << 30;

[[noreturn]] void Die(int status, const char* what, int err) {
  if (err) fprintf(stderr, "rk-nat-engine: %s: %s\n", what, strerror(err));
  else fprintf(stderr, "rk-nat-engine: %s\n", what);
  _exit(status);
}

bool ReadAll(int fd, void* buf, size_t n) {
  auto* p = static_cast<uint8_t*>(buf);
  while (n > 0) {
    ssize_t r = read(fd, p, n);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    p += r;
    n -= (size_t)r;
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  (void)argc;
  (void)argv;
  // Writes to a socket whose peer closed must fail with EPIPE, not kill us.
  signal(SIGPIPE, SIG_IGN);
  rk::EngineConfigBlob blob;
  auto* raw = reinterpret_cast<uint8_t*>(&blob);
  if (!ReadAll(rk::kEngineConfigFd, raw, sizeof blob) || blob.magic != rk::kEngineConfigMagic || blob.size != sizeof blob) {
    Die(rk::kEngineExitBadSetup, "no valid options on fd 4 (this program is started by rootlesskit and rk-net, not by hand)", 0);
  }
  close(rk::kEngineConfigFd);

  void* shared = mmap(nullptr, rk::kEngineStatsBytes, PROT_READ | PROT_WRITE, MAP_SHARED, rk::kEngineStatsFd, 0);
  close(rk::kEngineStatsFd);
  rk::EngineStats* stats = shared == MAP_FAILED ? nullptr : new (shared) rk::EngineStats();

  rk::EngineOptions o = blob.opts;
  o.tap_fd = rk::kEngineTapFd;
  int err = 0;
  std::string what;
  rk::SlirpEngine* e = rk::SlirpEngine::Create(o, &err, &what);
  if (!e) Die(rk::kEngineExitError, what.c_str(), err);
  if (stats) e->stats = stats;

  rk::SandboxResult sb = rk::EnterSandbox({3 * (rlim_t)o.max_sockets + kFdMargin, kAddressSpace});
  if (!sb.ok) Die(rk::kEngineExitError, ("sandbox: " + sb.what).c_str(), sb.err);
  if (!sb.fs_hidden) fprintf(stderr, "rk-nat-engine: warning: the file system stays visible to the engine (%s); seccomp, no capabilities and limits still apply\n", sb.note.c_str());
  fprintf(stderr, "rk-nat-engine: serving the tap (pid %d, sandboxed%s)\n", (int)getpid(), sb.fs_hidden ? "" : " without a mount namespace");

  e->Run();
  if (e->end_reason == rk::EndReason::kTapGone) _exit(rk::kEngineExitTapGone);
  Die(rk::kEngineExitError, e->end_what.c_str(), e->end_errno);
}
