// The child side: a seccomp filter that sends connect() to the supervisor.
// Runs between fork and exec (rootlesskit's child) or right before execve
// (rk-bypass): raw system calls only, everything on the stack.
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "bypass/bypass.h"

#if defined(__x86_64__)
#define RK_AUDIT_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define RK_AUDIT_ARCH AUDIT_ARCH_AARCH64
#else
#error "bypass: unsupported architecture"
#endif

namespace rk {
namespace bypass {

int InstallAndSend(int sock) {
  // Another arch (i386 compat, x32's numbers) is allowed: the namespace path.
  struct sock_filter prog[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, RK_AUDIT_ARCH, 0, 3),
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_connect, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  struct sock_fprog fprog = {(unsigned short)(sizeof prog / sizeof prog[0]), prog};
  long listener = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, &fprog);
  if (listener < 0) {
    int err = errno;
    close(sock);
    return err;
  }
  char data = 'B';
  struct iovec iov = {&data, 1};
  union {
    char buf[CMSG_SPACE(sizeof(int))];
    struct cmsghdr align;
  } u;
  memset(&u, 0, sizeof u);
  struct msghdr msg;
  memset(&msg, 0, sizeof msg);
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = u.buf;
  msg.msg_controllen = sizeof u.buf;
  struct cmsghdr* c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  int lfd = (int)listener;
  memcpy(CMSG_DATA(c), &lfd, sizeof lfd);
  ssize_t n;
  do n = sendmsg(sock, &msg, MSG_NOSIGNAL); while (n < 0 && errno == EINTR);
  int err = n < 0 ? errno : 0;
  // Wait for the supervisor's byte: it holds the listener from then on, so
  // that our first connect after exec finds it (not ENOSYS from no listener).
  if (err == 0) {
    // (sock may be non-blocking: wait for it to be readable first.)
    for (;;) {
      struct pollfd p = {sock, POLLIN, 0};
      int r = poll(&p, 1, -1);
      if (r < 0 && errno == EINTR) continue;
      n = read(sock, &data, 1);
      if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      break;
    }
    if (n != 1) err = EPIPE;
  }
  close(lfd);
  close(sock);
  return err;
}

}  // namespace bypass
}  // namespace rk
