// The relay's pools: spare pipes per worker, and sockets made in advance
// inside a target network namespace.
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "relay/relay.h"

namespace rk {
namespace relay {

PipePool::~PipePool() {
  for (Pipe* p : idle_) {
    close(p->r);
    close(p->w);
    delete p;
  }
}

Pipe* PipePool::Get() {
  Pipe* p;
  if (!idle_.empty()) {
    p = idle_.back();
    idle_.pop_back();
    idle_n--;
  } else {
    int fds[2];
    if (pipe2(fds, O_NONBLOCK | O_CLOEXEC) < 0) return nullptr;
    p = new Pipe{fds[0], fds[1], 0};
    // Bigger pipes mean fewer system calls per byte. Past the user's pipe
    // allowance (fs.pipe-user-pages-soft) this fails and the pipe keeps its
    // default size: slower, still correct.
    int got = fcntl(fds[1], F_SETPIPE_SZ, (int)size_);
    if (got < 0) got = fcntl(fds[1], F_GETPIPE_SZ);
    p->cap = got > 0 ? (size_t)got : 65536;
  }
  in_use++;
  return p;
}

void PipePool::Put(Pipe* p, bool empty) {
  in_use--;
  if (empty && idle_.size() < max_idle_) {
    idle_.push_back(p);
    idle_n++;
    return;
  }
  close(p->r);
  close(p->w);
  delete p;
}

NsPool::~NsPool() { Close(); }

void NsPool::Close() {
  std::lock_guard<std::mutex> g(mu_);
  closed_ = true;
  for (int fd : fds_) close(fd);
  fds_.clear();
}

size_t NsPool::size() {
  std::lock_guard<std::mutex> g(mu_);
  return fds_.size();
}

int NsPool::Fill() {
  int need;
  {
    std::lock_guard<std::mutex> g(mu_);
    if (closed_) return 0;
    need = want_ - (int)fds_.size();
  }
  if (need <= 0) return 0;
  int fds[64];
  if (need > 64) need = 64;
  int err = NsSockets(ns_, family_, type_, 0, need, fds);
  if (err != 0) return err;
  std::lock_guard<std::mutex> g(mu_);
  for (int i = 0; i < need; i++) {
    if (closed_ || (int)fds_.size() >= want_) close(fds[i]);
    else fds_.push_back(fds[i]);
  }
  return 0;
}

int NsPool::Take(Engine* e) {
  {
    std::lock_guard<std::mutex> g(mu_);
    if (closed_) return -EBADF;
    if (!fds_.empty()) {
      int fd = fds_.back();
      fds_.pop_back();
      if ((int)fds_.size() <= want_ / 2) e->WakeFiller();
      return fd;
    }
  }
  // Empty (a burst of connections): make a batch here, keep the rest.
  int n = want_ < 1 ? 1 : want_;
  if (n > 64) n = 64;
  int fds[64];
  int err = NsSockets(ns_, family_, type_, 0, n, fds);
  if (err != 0) return -err;
  std::lock_guard<std::mutex> g(mu_);
  for (int i = 1; i < n; i++) {
    if (closed_ || (int)fds_.size() >= want_) close(fds[i]);
    else fds_.push_back(fds[i]);
  }
  return fds[0];
}

}  // namespace relay
}  // namespace rk
