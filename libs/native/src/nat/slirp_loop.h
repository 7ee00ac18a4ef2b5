// The engine's epoll set: which entries are ours (the tap) rather than
// libslirp's sockets.
#pragma once
#include <stdint.h>

namespace rk {

// epoll_event.data.u64 = fd | tag << 32 (tag 0: a libslirp socket).
constexpr uint64_t kTagTap = 1;

// Adds one of our own fds to the epoll set (EPOLLIN). Returns -1 and errno.
int AddSpecialFd(int epfd, int fd, uint64_t tag);

}  // namespace rk
