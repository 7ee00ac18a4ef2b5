// The NAT engine's seccomp allow-list (see sandbox.h). Allowed: reading and
// writing the fds it has, epoll, sockets of the IPv4/IPv6 families (no raw,
// packet, netlink or unix sockets) and their calls, memory without PROT_EXEC,
// time, futex, signal masks, exit, and signals to itself (abort). Anything
// else fails with EPERM; a system call of another architecture (or x32) kills
// the process.
#pragma once

namespace rk {

// Installs the filter (no_new_privs must be set). Returns 0, or -1 and errno.
int InstallEngineSeccomp();

}  // namespace rk
