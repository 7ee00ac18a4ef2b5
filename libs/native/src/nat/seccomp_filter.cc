// See seccomp_filter.h. A classic-BPF program assembled at start-up with
// named labels (forward jumps only, as BPF requires).
#include "nat/seccomp_filter.h"

#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <string>
#include <vector>

namespace rk {

namespace {

#if defined(__x86_64__)
constexpr uint32_t kArch = AUDIT_ARCH_X86_64;
#elif defined(__aarch64__)
constexpr uint32_t kArch = AUDIT_ARCH_AARCH64;
#else
#error "rk-nat-engine: add this architecture's AUDIT_ARCH to seccomp_filter.cc"
#endif

// System calls allowed whatever their arguments.
const int kAllowed[] = {
  __NR_read, __NR_write, __NR_readv, __NR_writev, __NR_close,
  __NR_epoll_ctl, __NR_epoll_pwait,
#ifdef __NR_epoll_wait
  __NR_epoll_wait,
#endif
  __NR_connect, __NR_bind, __NR_shutdown, __NR_setsockopt, __NR_getsockopt,
  __NR_getsockname, __NR_getpeername, __NR_sendto, __NR_recvfrom, __NR_sendmsg,
  __NR_recvmsg, __NR_sendmmsg, __NR_recvmmsg,
  __NR_fcntl, __NR_fstat, __NR_newfstatat,
  __NR_clock_gettime, __NR_gettimeofday, __NR_clock_nanosleep, __NR_nanosleep,
  __NR_brk, __NR_munmap, __NR_mremap, __NR_madvise, __NR_futex,
  __NR_rt_sigreturn, __NR_rt_sigprocmask, __NR_rt_sigaction, __NR_restart_syscall,
  __NR_getpid, __NR_gettid, __NR_getrandom,
  __NR_exit, __NR_exit_group,
};

struct Asm {
  struct Ins {
    sock_filter f;
    std::string jt, jf;  // label names, or empty for offset 0
  };
  std::vector<Ins> ins;
  std::vector<std::pair<std::string, size_t>> labels;

  void Stmt(uint16_t code, uint32_t k) { ins.push_back({BPF_STMT(code, k), "", ""}); }
  void Jeq(uint32_t k, const std::string& jt, const std::string& jf = "") {
    ins.push_back({BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, k, 0, 0), jt, jf});
  }
  void Jge(uint32_t k, const std::string& jt, const std::string& jf = "") {
    ins.push_back({BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, k, 0, 0), jt, jf});
  }
  void Jset(uint32_t k, const std::string& jt, const std::string& jf = "") {
    ins.push_back({BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, k, 0, 0), jt, jf});
  }
  void Label(const std::string& name) { labels.push_back({name, ins.size()}); }
  void Ret(uint32_t k) { Stmt(BPF_RET | BPF_K, k); }
  void LoadArgLow(int i) { Stmt(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, args) + 8 * i); }
  void LoadArgHigh(int i) { Stmt(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, args) + 8 * i + 4); }

  // Resolves labels; false when a jump is backwards or too far.
  bool Link(std::vector<sock_filter>* out) {
    auto find = [&](const std::string& name, size_t from, uint8_t* off) {
      if (name.empty()) {
        *off = 0;
        return true;
      }
      for (auto& l : labels) {
        if (l.first != name) continue;
        if (l.second <= from || l.second - from - 1 > 255) return false;
        *off = (uint8_t)(l.second - from - 1);
        return true;
      }
      return false;
    };
    for (size_t i = 0; i < ins.size(); i++) {
      sock_filter f = ins[i].f;
      if (BPF_CLASS(f.code) == BPF_JMP && (!find(ins[i].jt, i, &f.jt) || !find(ins[i].jf, i, &f.jf))) return false;
      out->push_back(f);
    }
    return true;
  }
};

}  // namespace

int InstallEngineSeccomp() {
  const uint32_t kAllow = SECCOMP_RET_ALLOW, kKill = SECCOMP_RET_KILL_PROCESS;
  const uint32_t kDeny = SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA);
  Asm a;
  a.Stmt(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, arch));
  a.Jeq(kArch, "", "kill");
  a.Stmt(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr));
#if defined(__x86_64__)
  a.Jge(0x40000000, "kill");  // x32 system calls
#endif
  for (int nr : kAllowed) a.Jeq((uint32_t)nr, "allow");
  a.Jeq(__NR_socket, "socket");
  a.Jeq(__NR_ioctl, "ioctl");
  a.Jeq(__NR_mmap, "noexec");
  a.Jeq(__NR_mprotect, "noexec");
  a.Jeq(__NR_tgkill, "self");
  a.Jeq(__NR_tkill, "self1");
  a.Label("deny");
  a.Ret(kDeny);

  // socket(AF_INET or AF_INET6, not SOCK_RAW / SOCK_PACKET, ...)
  a.Label("socket");
  a.LoadArgLow(0);
  a.Jeq(AF_INET, "socktype");
  a.Jeq(AF_INET6, "socktype", "deny2");
  a.Label("socktype");
  a.LoadArgLow(1);
  a.Stmt(BPF_ALU | BPF_AND | BPF_K, 0xf);
  a.Jeq(SOCK_STREAM, "allow");
  a.Jeq(SOCK_DGRAM, "allow", "deny2");

  // ioctl(fd, FIONREAD or FIONBIO)
  a.Label("ioctl");
  a.LoadArgHigh(1);
  a.Jeq(0, "", "deny2");
  a.LoadArgLow(1);
  a.Jeq(FIONREAD, "allow");
  a.Jeq(FIONBIO, "allow", "deny2");

  // mmap / mprotect without PROT_EXEC
  a.Label("noexec");
  a.LoadArgLow(2);
  a.Jset(PROT_EXEC, "deny2", "allow");

  // tgkill(our pid, ...) / tkill(our pid, ...): abort()
  a.Label("self");
  a.LoadArgLow(0);
  a.Jeq((uint32_t)getpid(), "allow", "deny2");
  a.Label("self1");
  a.LoadArgLow(0);
  a.Jeq((uint32_t)getpid(), "allow", "deny2");

  a.Label("deny2");
  a.Ret(kDeny);
  a.Label("allow");
  a.Ret(kAllow);
  a.Label("kill");
  a.Ret(kKill);

  std::vector<sock_filter> prog;
  if (!a.Link(&prog)) {
    errno = E2BIG;
    return -1;
  }
  sock_fprog fprog{(unsigned short)prog.size(), prog.data()};
  return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &fprog, 0, 0);
}

}  // namespace rk
