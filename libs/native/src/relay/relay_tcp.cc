// TCP through the relay: accept, connect the target (on the host or inside a
// namespace, optionally from the client's own address), then splice(2) both
// ways through pipes. Half-close is passed on (shutdown(SHUT_WR) once a
// direction reached EOF and its pipe is drained); a reset on one side becomes
// a reset (SO_LINGER 0 close) on the other; a refused connect resets the
// client at once.
#include <errno.h>
#include <fcntl.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "relay/relay.h"

namespace rk {
namespace relay {

namespace {
// Rounds of (splice in, splice out) per direction before other connections
// get their turn.
constexpr int kRounds = 8;
constexpr unsigned kSpliceFlags = SPLICE_F_MOVE | SPLICE_F_NONBLOCK;
}  // namespace

struct TcpListener : Handler {
  Port* port;
  int fd;
  TcpListener(Port* p, int f) : port(p), fd(f) {}
  void OnEvent(Worker* w, uint32_t) override;
};

struct Conn;

struct Side : Handler {
  Conn* c = nullptr;
  int s = 0;
  void OnEvent(Worker* w, uint32_t ev) override;
};

struct Dir {
  Pipe* pipe = nullptr;
  size_t in_pipe = 0;
  bool eof = false;   // the source side reached EOF
  bool shut = false;  // shutdown(SHUT_WR) sent to the destination side
  uint64_t bytes = 0;
};

struct Conn : Handler {
  Port* port = nullptr;
  int fd[2] = {-1, -1};  // 0: client, 1: target
  Side side[2];
  bool rd[2] = {false, false};
  bool wr[2] = {false, false};
  Dir dir[2];  // dir[i] carries fd[i] -> fd[1 - i]
  bool connected = false;
  bool closed = false;
  bool queued = false;
  Addr client;
  Addr local;            // where the client connected (PROXY header)
  std::string pre;       // bytes for the target before the client's (PROXY header)
  int64_t last_ms = 0;   // last byte either way (idle timeout)
  int fail_err = 0;      // the target refused (a one-shot port reports it)
  Conn* prev = nullptr;
  Conn* next = nullptr;
  void OnEvent(Worker*, uint32_t) override {}
};

void TcpListener::OnEvent(Worker* w, uint32_t) {
  if (port->one_shot && port->one_shot_taken.load()) {
    // The one connection is served: the listener is shut down, stop watching it.
    epoll_ctl(w->epfd, EPOLL_CTL_DEL, fd, nullptr);
    return;
  }
  w->Accept(port, fd);
}

void Worker::AddTcpListener(const std::shared_ptr<Port>& p, int fd) {
  TcpListener* l = new TcpListener(p.get(), fd);
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLEXCLUSIVE;
  ev.data.ptr = l;
  Reg& r = regs[p->id];
  r.port = p;
  r.handlers.push_back(l);
  if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
    Event e{Event::kError};
    e.port_id = p->id;
    e.err = errno;
    e.what = "epoll_ctl";
    Emit(std::move(e));
  }
}

int TargetSocket(Engine* e, Port* p, int type) {
  if (p->in_ns) return p->pool->Take(e);
  int fd = socket(p->target.family(), type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  return fd < 0 ? -errno : fd;
}

// Makes the target socket (bound to the client's address when the port keeps
// source addresses) and starts connecting it. Returns the fd, or -errno.
static int ConnectTarget(Worker* w, Port* p, const Addr& peer, bool* connected) {
  if (p->target.family() == AF_UNIX) {
    *connected = true;
    return ConnectUnix(p->target, p->in_ns ? &p->ns : nullptr);
  }
  Addr client = peer;
  for (int attempt = 0; attempt < 2; attempt++) {
    int fd = TargetSocket(w->engine, p, SOCK_STREAM);
    if (fd < 0) return fd;
    bool bound = false;
    int err = BindSource(w, p, fd, client, &bound);
    if (err != 0) {
      close(fd);
      return -err;
    }
    SetNoDelay(fd);
    if (p->target_local) UseLoopbackCongestion(fd);
    if (connect(fd, reinterpret_cast<const sockaddr*>(&p->target.ss), p->target.len) == 0) {
      *connected = true;
      return fd;
    }
    err = errno;
    if (err == EINPROGRESS) {
      *connected = false;
      return fd;
    }
    close(fd);
    // The client's address and port may still be taken by an earlier
    // connection (TIME_WAIT): once more with a port the kernel picks (never
    // from a plain, loopback address).
    if (bound && client.port() != 0 && (err == EADDRNOTAVAIL || err == EADDRINUSE)) {
      client.SetPort(0);
      continue;
    }
    return -err;
  }
  return -EADDRNOTAVAIL;
}

void Worker::Accept(Port* p, int lfd) {
  for (int i = 0; i < 64; i++) {
    Addr peer;
    peer.len = sizeof peer.ss;
    int c = accept4(lfd, reinterpret_cast<sockaddr*>(&peer.ss), &peer.len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (c < 0) {
      int err = errno;
      if (err == EINTR || err == ECONNABORTED) continue;
      if (err == EAGAIN) return;
      if ((err == EMFILE || err == ENFILE) && spare_fd >= 0) {
        // Out of fds: take the connection with the spare fd and drop it, so
        // the listener does not stay readable and spin.
        close(spare_fd);
        int d = accept4(lfd, nullptr, nullptr, SOCK_CLOEXEC);
        if (d >= 0) ResetClose(d);
        spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
      }
      Event e{Event::kError};
      e.port_id = p->id;
      e.err = err;
      e.what = "accept";
      Emit(std::move(e));
      return;
    }
    stat_accepted++;
    if (peer.family() != AF_UNIX && !p->Allowed(peer)) {
      // socat's range=: a client outside is closed at once.
      close(c);
      Event e{Event::kRefused};
      e.port_id = p->id;
      e.client = peer;
      e.what = "range";
      e.err = EACCES;
      Emit(std::move(e));
      continue;
    }
    if (p->one_shot && p->one_shot_taken.exchange(true)) {
      ResetClose(c);
      continue;
    }
    if (p->tcp_conns.load() >= p->max_conns) {
      ResetClose(c);
      Limit(p->tcp_cap_logged, p->id,
            std::to_string(p->max_conns) + " connections (the cap per port" + (p->max_conns != kTcpConnsPerPort ? ", max-children" : "") +
                "): new ones are reset until some close");
      continue;
    }
    if (!TakeFds(2, p->id)) {
      ResetClose(c);
      continue;
    }
    if (p->one_shot) {
      // socat without fork: no second client (they are refused from now on).
      for (int l : p->listen_fds) shutdown(l, SHUT_RDWR);
    }
    if (peer.family() == AF_UNIX) {
      // no Nagle or congestion control to tune
    } else if (SetNoDelay(c), peer.IsLoopback()) {
      UseLoopbackCongestion(c);
    } else {
      Addr self;
      self.len = sizeof self.ss;
      if (getsockname(c, reinterpret_cast<sockaddr*>(&self.ss), &self.len) == 0 && self.SameHost(peer)) UseLoopbackCongestion(c);
    }
    bool connected = false;
    int t = ConnectTarget(this, p, peer, &connected);
    if (t < 0) {
      engine->fds_held -= 2;
      ResetClose(c);
      Event e{Event::kRefused};
      e.port_id = p->id;
      e.client = peer;
      e.target = p->target;
      e.err = -t;
      Emit(std::move(e));
      if (p->one_shot) Done(p, -t);
      continue;
    }
    Conn* conn = new Conn();
    conn->port = p;
    conn->fd[0] = c;
    conn->fd[1] = t;
    conn->client = peer;
    conn->connected = connected;
    conn->last_ms = NowMs();
    if (p->proxy) {
      conn->local.len = sizeof conn->local.ss;
      if (getsockname(c, reinterpret_cast<sockaddr*>(&conn->local.ss), &conn->local.len) < 0) conn->local = Addr();
      conn->pre = ProxyHeader(p->proxy, peer, conn->local);
    }
    for (int s = 0; s < 2; s++) {
      conn->side[s].c = conn;
      conn->side[s].s = s;
      epoll_event ev{};
      ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
      ev.data.ptr = &conn->side[s];
      epoll_ctl(epfd, EPOLL_CTL_ADD, conn->fd[s], &ev);
    }
    conn->next = conns;
    if (conns) conns->prev = conn;
    conns = conn;
    stat_conns++;
    p->tcp_conns++;
    if (p->idle_ms > 0) idle_conns++;
    if (engine->debug.load(std::memory_order_relaxed)) {
      Event e{Event::kOpen};
      e.port_id = p->id;
      e.client = peer;
      e.target = p->target;
      Emit(std::move(e));
    }
  }
}

void Side::OnEvent(Worker* w, uint32_t ev) {
  if (c->closed) return;
  if (s == 1 && !c->connected) {
    int err = 0;
    socklen_t l = sizeof err;
    if (!(ev & (EPOLLOUT | EPOLLERR | EPOLLHUP))) return;
    getsockopt(c->fd[1], SOL_SOCKET, SO_ERROR, &err, &l);
    if (err == 0 && !(ev & EPOLLOUT)) err = ECONNRESET;
    if (err != 0) {
      Event e{Event::kRefused};
      e.port_id = c->port->id;
      e.client = c->client;
      e.target = c->port->target;
      e.err = err;
      w->Emit(std::move(e));
      c->fail_err = err;
      w->CloseConn(c, true, false);
      return;
    }
    c->connected = true;
    c->wr[1] = true;
  }
  if (ev & EPOLLERR) {
    int err = 0;
    socklen_t l = sizeof err;
    getsockopt(c->fd[s], SOL_SOCKET, SO_ERROR, &err, &l);
    if (err != 0) {
      // This side's peer reset: reset the other side's peer too.
      if (w->engine->debug.load(std::memory_order_relaxed)) {
        Event e{Event::kReset};
        e.port_id = c->port->id;
        e.client = c->client;
        e.target = c->port->target;
        e.err = err;
        e.what = s == 0 ? "client" : "target";
        w->Emit(std::move(e));
      }
      w->CloseConn(c, s == 1, s == 0);
      return;
    }
  }
  if (ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) c->rd[s] = true;
  if (ev & EPOLLOUT) c->wr[s] = true;
  if (c->connected) w->Pump(c);
}

// A connection is on the ready list at most once (queued), so it is pumped
// again in this iteration or the next, never after the graveyard freed it.
void Worker::MarkReady(Conn* c) {
  if (c->queued) return;
  c->queued = true;
  ready.push_back(c);
}

void Worker::PumpReady() {
  ready_next.swap(ready);
  for (Conn* c : ready_next) {
    c->queued = false;
    Pump(c);
  }
  ready_next.clear();
}

namespace {

// Moves bytes of one direction. Returns 0 when blocked (waiting for an
// event), 1 when it stopped with work left, -1 when the connection closed.
int PumpDir(Worker* w, Conn* c, int d) {
  Dir& D = c->dir[d];
  int src = c->fd[d], dst = c->fd[1 - d];
  for (int round = 0; round < kRounds; round++) {
    bool progress = false;
    if (!D.eof && c->rd[d]) {
      if (!D.pipe) D.pipe = w->pipes.Get();
      if (!D.pipe) return 1;  // out of fds for now: retried from the ready list
      if (D.in_pipe < D.pipe->cap) {
        ssize_t n = splice(src, nullptr, D.pipe->w, nullptr, D.pipe->cap - D.in_pipe, kSpliceFlags);
        if (n > 0) {
          D.in_pipe += (size_t)n;
          D.bytes += (uint64_t)n;
          progress = true;
        } else if (n == 0) {
          D.eof = true;
          progress = true;
        } else if (errno == EAGAIN) {
          // With bytes in the pipe, EAGAIN may mean a full pipe rather than
          // an empty socket: only an empty pipe proves the socket is drained.
          if (D.in_pipe == 0) c->rd[d] = false;
        } else if (errno != EINTR) {
          w->CloseConn(c, d == 1, d == 0);  // source reset: reset the other side
          return -1;
        }
      }
    }
    if (D.in_pipe > 0 && c->wr[1 - d] && (d == 1 || c->pre.empty())) {
      ssize_t n = splice(D.pipe->r, nullptr, dst, nullptr, D.in_pipe, kSpliceFlags);
      if (n > 0) {
        D.in_pipe -= (size_t)n;
        progress = true;
      } else if (n < 0 && errno == EAGAIN) {
        c->wr[1 - d] = false;
      } else if (n < 0 && errno != EINTR) {
        w->CloseConn(c, d == 0, d == 1);  // destination gone: reset the source
        return -1;
      }
    }
    if (D.pipe && D.in_pipe == 0) {
      w->pipes.Put(D.pipe, true);
      D.pipe = nullptr;
    }
    if (D.eof && D.in_pipe == 0 && !D.shut) {
      shutdown(dst, SHUT_WR);
      D.shut = true;
    }
    if (!progress) return 0;
  }
  return 1;
}

}  // namespace

void Worker::Pump(Conn* c) {
  if (c->closed || !c->connected) return;
  if (!c->pre.empty() && c->wr[1]) {
    ssize_t n = send(c->fd[1], c->pre.data(), c->pre.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) c->pre.erase(0, (size_t)n);
    else if (n < 0 && errno == EAGAIN) c->wr[1] = false;
    else if (n < 0 && errno != EINTR) {
      CloseConn(c, true, false);
      return;
    }
  }
  uint64_t before = c->dir[0].bytes + c->dir[1].bytes;
  bool more = false;
  for (int d = 0; d < 2; d++) {
    int r = PumpDir(this, c, d);
    if (r < 0) return;
    if (r > 0) more = true;
  }
  if (c->port->idle_ms > 0 && c->dir[0].bytes + c->dir[1].bytes != before) c->last_ms = NowMs();
  if (c->dir[0].shut && c->dir[1].shut) {
    CloseConn(c, false, false);
    return;
  }
  if (more) MarkReady(c);
}

void Worker::CloseConn(Conn* c, bool rst0, bool rst1) {
  if (c->closed) return;
  c->closed = true;
  bool rst[2] = {rst0, rst1};
  for (int s = 0; s < 2; s++) {
    epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd[s], nullptr);
    if (rst[s]) ResetClose(c->fd[s]);
    else close(c->fd[s]);
  }
  for (Dir& D : c->dir) {
    if (D.pipe) pipes.Put(D.pipe, D.in_pipe == 0);
    D.pipe = nullptr;
  }
  if (c->prev) c->prev->next = c->next;
  else conns = c->next;
  if (c->next) c->next->prev = c->prev;
  stat_conns--;
  c->port->tcp_conns--;
  if (c->port->idle_ms > 0) idle_conns--;
  if (c->port->one_shot) Done(c->port, c->fail_err);
  engine->fds_held -= 2;
  if (engine->debug.load(std::memory_order_relaxed)) {
    Event e{rst0 || rst1 ? Event::kReset : Event::kClose};
    e.port_id = c->port->id;
    e.client = c->client;
    e.target = c->port->target;
    e.up = c->dir[0].bytes;
    e.down = c->dir[1].bytes;
    Emit(std::move(e));
  }
  Defer(c);
}

void Worker::SweepIdle(int64_t now) {
  for (Conn* c = conns; c;) {
    Conn* next = c->next;
    Port* p = c->port;
    if (p->idle_ms > 0 && now - c->last_ms >= p->idle_ms) {
      Limit(p->idle_logged, p->id,
            "closing connections idle for " + std::to_string(p->idle_ms) + " ms (the idle timeout; logged once per port)");
      CloseConn(c, false, false);
    }
    c = next;
  }
}

void Worker::CloseConnsOf(Port* p) {
  for (Conn* c = conns; c;) {
    Conn* next = c->next;
    if (c->port == p) CloseConn(c, false, false);
    c = next;
  }
}

}  // namespace relay
}  // namespace rk
