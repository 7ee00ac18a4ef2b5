// The NAT engine's sandbox (rk-nat-engine, after its tap, epoll set and
// libslirp are set up, before it reads the first frame):
// - a user namespace of its own (its uid and gid mapped to themselves) with a
//   mount, IPC and UTS namespace: the root is an empty read-only tmpfs (the
//   user's files, /proc and the state dir are out of reach);
// - no capabilities (bounding and ambient sets cleared too), no_new_privs;
// - resource limits: fds (the socket budget plus a margin), address space,
//   no core files, no file writes, no new processes;
// - a seccomp allow-list (seccomp_filter.h): what the engine calls, nothing
//   else (no open, no exec, no new namespaces, no signals to others).
// Network namespaces are left alone: libslirp's sockets are the host's.
#pragma once
#include <sys/resource.h>

#include <string>

namespace rk {

struct SandboxLimits {
  rlim_t max_fds;         // RLIMIT_NOFILE
  rlim_t address_space;   // RLIMIT_AS, bytes
};

struct SandboxResult {
  bool ok = false;
  int err = 0;               // errno of the step that failed
  std::string what;          // that step
  bool fs_hidden = false;    // the empty root is in place
  std::string note;          // why the file system is not hidden, if it is not
};

// Applies everything above to the calling (single-threaded) process. A step
// that must work (limits, capabilities, no_new_privs, seccomp) failing gives
// ok=false; the file-system part is skipped with a note where the kernel
// refuses user namespaces to this user.
SandboxResult EnterSandbox(const SandboxLimits& limits);

}  // namespace rk
