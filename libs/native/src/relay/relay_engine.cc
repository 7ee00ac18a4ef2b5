// The relay's threads: workers (one epoll loop each) and the filler that
// keeps namespace socket pools topped up; ports added and removed by posting
// commands to the workers.
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <string>

#include "relay/relay.h"

namespace rk {
namespace relay {

namespace {
constexpr size_t kIdlePipes = 8;
}

Port::~Port() {
  for (int fd : listen_fds) close(fd);
  RemoveUnixFile(unix_path, unix_dev, unix_ino);
}

NsShared::~NsShared() {
  for (auto& byfam : pools)
    for (auto& p : byfam)
      if (p) p->Close();
  for (int fd : ns.fds)
    if (fd >= 0) close(fd);
  if (nl >= 0) close(nl);
}

std::shared_ptr<NsPool> NsShared::Pool(int family, int type, int want, bool* made) {
  std::lock_guard<std::mutex> g(mu);
  std::shared_ptr<NsPool>& p = pools[family == AF_INET6 ? 1 : 0][type == SOCK_DGRAM ? 1 : 0];
  *made = !p;
  if (!p) p = std::make_shared<NsPool>(ns, family, type, want);
  return p;
}

Worker::Worker(Engine* e, int i, size_t pipe_size) : engine(e), index(i), pipes(pipe_size, kIdlePipes) {
  epfd = epoll_create1(EPOLL_CLOEXEC);
  evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.ptr = nullptr;  // the command queue
  epoll_ctl(epfd, EPOLL_CTL_ADD, evfd, &ev);
}

Worker::~Worker() {
  if (thread.joinable()) thread.join();
  if (epfd >= 0) close(epfd);
  if (evfd >= 0) close(evfd);
  if (spare_fd >= 0) close(spare_fd);
}

void Worker::Start() {
  // The thread must not take Node's signals (SIGINT, SIGCHLD, ...).
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  thread = std::thread([this]() { Run(); });
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  // Named for top -H / ps -L: rk-relay-0, rk-relay-1, ...
  pthread_setname_np(thread.native_handle(), ("rk-relay-" + std::to_string(index)).c_str());
}

void Worker::Post(Command c) {
  {
    std::lock_guard<std::mutex> g(qmu);
    queue.push_back(std::move(c));
  }
  uint64_t one = 1;
  ssize_t r;
  do r = write(evfd, &one, sizeof one); while (r < 0 && errno == EINTR);
}

void Worker::Emit(Event ev) {
  if (engine->debug.load(std::memory_order_relaxed) && engine->sink) engine->sink(std::move(ev));
}

void Worker::Done(Port* p, int err) {
  Event e{Event::kDone};
  e.port_id = p->id;
  e.err = err;
  if (engine->sink) engine->sink(std::move(e));
}

void Worker::Limit(std::atomic<bool>& logged, int port_id, const std::string& what) {
  if (logged.exchange(true)) return;
  Event e{Event::kLimit};
  e.port_id = port_id;
  e.what = what;
  if (engine->sink) engine->sink(std::move(e));
}

bool Worker::TakeFds(int n, int port_id) {
  if (engine->fds_held.fetch_add(n) + n <= engine->fd_budget) return true;
  engine->fds_held -= n;
  Limit(engine->budget_logged, port_id,
        "the relay holds " + std::to_string(engine->fd_budget) + " fds (RLIMIT_NOFILE less " + std::to_string(kFdHeadroom) +
            " kept for the API and the rest): refusing new connections and flows until some close");
  return false;
}

void Worker::Run() {
  epoll_event evs[256];
  while (!stopping) {
    int timeout = -1;
    if (!ready.empty()) {
      timeout = 0;
    } else if (flows > 0 || idle_conns > 0) {
      int64_t now = NowMs();
      int64_t at = flows > 0 ? next_sweep_ms : next_idle_ms;
      if (idle_conns > 0 && next_idle_ms < at) at = next_idle_ms;
      timeout = at - now < 0 ? 0 : (int)(at - now);
    }
    int n = epoll_wait(epfd, evs, 256, timeout);
    if (n < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (int i = 0; i < n && !stopping; i++) {
      Handler* h = static_cast<Handler*>(evs[i].data.ptr);
      if (h != nullptr) {
        if (!h->dead) h->OnEvent(this, evs[i].events);
        continue;
      }
      uint64_t v;
      ssize_t r;
      do r = read(evfd, &v, sizeof v); while (r < 0 && errno == EINTR);
      std::deque<Command> cmds;
      {
        std::lock_guard<std::mutex> g(qmu);
        cmds.swap(queue);
      }
      for (Command& c : cmds) {
        Port* p = c.port.get();
        if (c.kind == Command::kAddPort) {
          for (size_t k = 0; k < p->listen_fds.size(); k++) {
            if (p->type == SOCK_STREAM) AddTcpListener(c.port, p->listen_fds[k]);
            else AddUdpListener(c.port, p->listen_fds[k], p->listen_addrs[k]);
          }
        } else if (c.kind == Command::kRemovePort) {
          auto it = regs.find(p->id);
          if (it != regs.end()) {
            for (Handler* lh : it->second.handlers) Defer(lh);
            regs.erase(it);
          }
          for (int fd : p->listen_fds) epoll_ctl(epfd, EPOLL_CTL_DEL, fd, nullptr);
          if (p->type == SOCK_STREAM) CloseConnsOf(p);
          else CloseFlowsOf(p);
        } else {
          stopping = true;
        }
        // Drop our reference before reporting done, so that the caller's is
        // the last: the port's listeners close before RemovePort returns.
        std::function<void()> done = std::move(c.done);
        c.port.reset();
        if (done) done();
      }
    }
    if (!ready.empty()) PumpReady();
    if (flows > 0) {
      int64_t now = NowMs();
      if (now >= next_sweep_ms) {
        SweepFlows(now);
        next_sweep_ms = now + 1000;
      }
    }
    if (idle_conns > 0) {
      int64_t now = NowMs();
      if (now >= next_idle_ms) {
        SweepIdle(now);
        next_idle_ms = now + 250;
      }
    }
    graveyard_.clear();
  }
  // Stopped: close whatever is left.
  for (auto& kv : regs) CloseConnsOf(kv.second.port.get()), CloseFlowsOf(kv.second.port.get());
  for (auto& kv : regs)
    for (Handler* lh : kv.second.handlers) Defer(lh);
  regs.clear();
  graveyard_.clear();
}

Engine::Engine(int threads, size_t pipe_size, int pool) : ns_pool(pool) {
  rlimit rl{};
  int64_t lim = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY ? (int64_t)rl.rlim_cur : 1 << 20;
  fd_budget = lim - kFdHeadroom;
  if (fd_budget < 64) fd_budget = 64;
  if (threads < 1) threads = 1;
  for (int i = 0; i < threads; i++) workers.emplace_back(new Worker(this, i, pipe_size));
  for (auto& w : workers) w->Start();
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  filler = std::thread([this]() {
    std::unique_lock<std::mutex> lk(fmu);
    for (;;) {
      fcv.wait(lk, [this]() { return fstop || fwork; });
      if (fstop) return;
      fwork = false;
      lk.unlock();
      std::vector<std::shared_ptr<NsPool>> ps;
      {
        std::lock_guard<std::mutex> g(mu);
        for (auto& kv : ports) {
          auto& pool = kv.second->pool;
          if (pool && std::find(ps.begin(), ps.end(), pool) == ps.end()) ps.push_back(pool);
        }
      }
      for (auto& p : ps) p->Fill();
      ps.clear();
      lk.lock();
    }
  });
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  pthread_setname_np(filler.native_handle(), "rk-relay-fill");
}

Engine::~Engine() { Stop(); }

void Engine::WakeFiller() {
  std::lock_guard<std::mutex> g(fmu);
  fwork = true;
  fcv.notify_one();
}

int Engine::AddPort(std::shared_ptr<Port> p) {
  std::lock_guard<std::mutex> g(mu);
  if (stopped) return -ESHUTDOWN;
  if (p->type == SOCK_DGRAM) {
    p->owner_worker = next_worker;
    next_worker = (next_worker + 1) % (int)workers.size();
  }
  ports[p->id] = p;
  for (auto& w : workers) {
    if (p->type == SOCK_DGRAM && w->index != p->owner_worker) continue;
    w->Post(Command{Command::kAddPort, p, nullptr});
  }
  return 0;
}

bool Engine::RemovePort(int id) {
  std::shared_ptr<Port> p;
  {
    std::lock_guard<std::mutex> g(mu);
    auto it = ports.find(id);
    if (it == ports.end()) return false;
    p = it->second;
    ports.erase(it);
  }
  auto m = std::make_shared<std::mutex>();
  auto cv = std::make_shared<std::condition_variable>();
  auto left = std::make_shared<int>(0);
  std::vector<Worker*> targets;
  for (auto& w : workers)
    if (p->type == SOCK_STREAM || w->index == p->owner_worker) targets.push_back(w.get());
  *left = (int)targets.size();
  for (Worker* w : targets) {
    w->Post(Command{Command::kRemovePort, p, [m, cv, left]() {
                      std::lock_guard<std::mutex> g(*m);
                      if (--*left == 0) cv->notify_all();
                    }});
  }
  {
    std::unique_lock<std::mutex> lk(*m);
    cv->wait_for(lk, std::chrono::seconds(5), [left]() { return *left == 0; });
  }
  // The namespace's pool stays for its other ports (closed with the last).
  // The listening sockets close when the last reference goes (here, or in a
  // worker that has not yet caught up after the timeout).
  return true;
}

void Engine::Stop() {
  {
    std::lock_guard<std::mutex> g(mu);
    if (stopped) return;
    stopped = true;
  }
  for (auto& w : workers) w->Post(Command{Command::kStop, nullptr, nullptr});
  for (auto& w : workers)
    if (w->thread.joinable()) w->thread.join();
  {
    std::lock_guard<std::mutex> g(fmu);
    fstop = true;
    fcv.notify_one();
  }
  if (filler.joinable()) filler.join();
  std::lock_guard<std::mutex> g(mu);
  ports.clear();
}

void Engine::Emit(Event ev) {
  if (debug.load(std::memory_order_relaxed) && sink) sink(std::move(ev));
}

}  // namespace relay
}  // namespace rk
