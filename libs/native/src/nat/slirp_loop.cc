// The engine's loop (see slirp_engine.h). Each round: libslirp says which of
// its sockets it wants polled (slirp_pollfds_fill); only the differences from
// the last round reach epoll (so a busy connection costs no epoll_ctl); one
// epoll_wait over the tap and those sockets, with libslirp's timeout; then libslirp handles its sockets (slirp_pollfds_poll),
// frames from the tap are read in a burst and handed over (slirp_input), and
// due timers run. Frames to the namespace are written from inside those calls
// (SendPacket).
#include "nat/slirp_loop.h"

#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <libslirp.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <algorithm>

#include "common/loopback_tcp.h"
#include "nat/slirp_engine.h"

namespace rk {

namespace {

constexpr int kMaxEvents = 64;
// Frames read from the tap per wake-up before libslirp's sockets get a turn.
constexpr int kTapBurst = 64;
constexpr int64_t kTrimEveryMs = 5000;

uint32_t ToEpoll(int slirp_events) {
  uint32_t ev = 0;
  if (slirp_events & SLIRP_POLL_IN) ev |= EPOLLIN;
  if (slirp_events & SLIRP_POLL_OUT) ev |= EPOLLOUT;
  if (slirp_events & SLIRP_POLL_PRI) ev |= EPOLLPRI;
  return ev | EPOLLERR | EPOLLHUP;  // always reported anyway
}

uint8_t ToSlirp(uint32_t ev) {
  uint8_t r = 0;
  if (ev & EPOLLIN) r |= SLIRP_POLL_IN;
  if (ev & EPOLLOUT) r |= SLIRP_POLL_OUT;
  if (ev & EPOLLPRI) r |= SLIRP_POLL_PRI;
  if (ev & EPOLLERR) r |= SLIRP_POLL_ERR;
  if (ev & EPOLLHUP) r |= SLIRP_POLL_HUP;
  return r;
}

}  // namespace

int AddSpecialFd(int epfd, int fd, uint64_t tag) {
  struct epoll_event ev;
  memset(&ev, 0, sizeof ev);
  ev.events = EPOLLIN;
  ev.data.u64 = (uint64_t)(uint32_t)fd | tag << 32;
  return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
}

struct LoopCallbacks {
  static int AddPoll(int fd, int events, void* opaque) {
    auto* e = static_cast<SlirpEngine*>(opaque);
    e->want_.push_back({fd, ToEpoll(events)});
    return (int)e->want_.size() - 1;
  }
  static int GetREvents(int idx, void* opaque) {
    auto* e = static_cast<SlirpEngine*>(opaque);
    if (idx < 0 || (size_t)idx >= e->want_.size()) return 0;
    int fd = e->want_[idx].fd;
    return (size_t)fd < e->revents_.size() ? e->revents_[fd] : 0;
  }
};

void SlirpEngine::ForgetFd(int fd) {
  if (fd < 0 || (size_t)fd >= registered_.size() || registered_[fd] == 0) return;
  epoll_ctl(epfd_, EPOLL_CTL_DEL, fd, nullptr);  // ENOENT/EBADF: already gone with the close
  registered_[fd] = 0;
}

void SlirpEngine::SyncPollSet() {
  for (const Want& w : want_) {
    if ((size_t)w.fd >= registered_.size()) {
      size_t n = (size_t)w.fd + 64;
      registered_.resize(n, 0);
      seen_round_.resize(n, 0);
      revents_.resize(n, 0);
      listed_.resize(n, 0);
    }
    seen_round_[w.fd] = round_;
    if ((size_t)w.fd < fresh_.size() && fresh_[w.fd]) {
      // libslirp registers a socket before it connects it; by its first poll
      // the local address is known: a connection to the host's loopback
      // (the gateway's host-loopback mapping) gets a congestion control
      // that does not pace (see loopback_tcp.h).
      fresh_[w.fd] = 0;
      if (LocalAddressIsLoopback(w.fd)) UseLoopbackCongestion(w.fd);
    }
    uint32_t have = registered_[w.fd];
    if (have == w.events) continue;
    struct epoll_event ev;
    memset(&ev, 0, sizeof ev);
    ev.events = w.events;
    ev.data.u64 = (uint32_t)w.fd;
    int op = have ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
    int r = epoll_ctl(epfd_, op, w.fd, &ev);
    // The number may have changed hands since we last looked: a closed fd
    // leaves epoll by itself, a new one under an old number is not in it.
    if (r < 0 && errno == ENOENT) r = epoll_ctl(epfd_, EPOLL_CTL_ADD, w.fd, &ev);
    else if (r < 0 && errno == EEXIST) r = epoll_ctl(epfd_, EPOLL_CTL_MOD, w.fd, &ev);
    if (r < 0) {
      registered_[w.fd] = 0;
      continue;
    }
    if (!listed_[w.fd]) {
      listed_[w.fd] = 1;
      registered_fds_.push_back(w.fd);
    }
    registered_[w.fd] = w.events;
  }
  // Sockets libslirp no longer wants polled leave the set (an idle
  // registration would keep reporting HUP or data libslirp leaves unread).
  for (size_t i = 0; i < registered_fds_.size();) {
    int fd = registered_fds_[i];
    if (registered_[fd] != 0 && seen_round_[fd] == round_) {
      i++;
      continue;
    }
    if (registered_[fd] != 0) ForgetFd(fd);
    listed_[fd] = 0;
    registered_fds_[i] = registered_fds_.back();
    registered_fds_.pop_back();
  }
}

bool SlirpEngine::ReadTap() {
  const size_t vh = opts_.vnet_hdr ? rules_.vnet_len : 0;
  uint8_t* buf = rxbuf_.data();
  for (int i = 0; i < kTapBurst; i++) {
    ssize_t n = read(opts_.tap_fd, buf, rxbuf_.size());
    if (n < 0) {
      if (errno == EINTR) {
        i--;
        continue;
      }
      if (errno == EAGAIN) return true;
      // EBADFD: the device was deleted (its namespace is gone, or someone
      // ran "ip link del"): the normal end of the engine.
      if (errno == EBADFD) End(EndReason::kTapGone, errno, "read tap");
      else End(EndReason::kError, errno, "read tap");
      return false;
    }
    if ((size_t)n <= vh) continue;
    const VnetHdr* h = vh ? reinterpret_cast<const VnetHdr*>(buf) : nullptr;
    uint8_t* frame = buf + vh;
    size_t len = (size_t)n - vh;
    if (h && (h->gso_type & (kGsoUdpTunnel4 | kGsoUdpTunnel6))) {
      // A tunnel super-segment: its segments, checksums complete, each as
      // a frame of its own.
      bool more = true;
      int segs = tunnel_ ? tunnel_->Split(*reinterpret_cast<const VnetTnlHdr*>(buf), frame, len,
                                          [&](uint8_t* seg, size_t seg_len) {
                                            if (more) more = HandleFrame(nullptr, seg, seg_len);
                                          })
                         : -1;
      if (segs < 0) {
        stats->in_dropped.fetch_add(1, std::memory_order_relaxed);
        continue;
      }
      stats->in_gso.fetch_add(1, std::memory_order_relaxed);
      stats->in_tunnel_gso.fetch_add(1, std::memory_order_relaxed);
      if (!more) return false;
      continue;
    }
    if (!HandleFrame(h, frame, len)) return false;
  }
  return true;
}

bool SlirpEngine::HandleFrame(const VnetHdr* h, uint8_t* frame, size_t len) {
  if (!InboundFrame(rules_, h, frame, len)) {
    stats->in_dropped.fetch_add(1, std::memory_order_relaxed);
    return true;
  }
  const uint8_t* whole = nullptr;
  size_t whole_len = 0;
  FrameFilter::Verdict v = filter_->Inbound(frame, len, MonotonicNs() / 1000000, &whole, &whole_len);
  if (v == FrameFilter::Verdict::kDrop) stats->filtered.fetch_add(1, std::memory_order_relaxed);
  if (v == FrameFilter::Verdict::kDrop || v == FrameFilter::Verdict::kHeld) return true;
  stats->in_packets.fetch_add(1, std::memory_order_relaxed);
  stats->in_bytes.fetch_add(len, std::memory_order_relaxed);
  if (h && h->gso_type != kGsoNone) stats->in_gso.fetch_add(1, std::memory_order_relaxed);
  if (fast_) {
    if (v == FrameFilter::Verdict::kPass && fast_->Offer(whole, whole_len, MonotonicNs() / 1000000)) return true;
    FlushFast();  // what came before goes first
  }
  slirp_input(slirp_, whole, (int)whole_len);
  if (fast_) fast_->SlirpDone();
  if (tap_error_) {
    End(EndReason::kTapGone, tap_error_, "write tap");
    return false;
  }
  return true;
}

void SlirpEngine::FlushFast() {
  if (!fast_) return;
  fast_->Flush();
  const UdpFastCounters& c = fast_->counters();
  stats->udp_fast_packets.store(c.packets, std::memory_order_relaxed);
  stats->udp_fast_batches.store(c.batches, std::memory_order_relaxed);
  stats->udp_fast_dropped.store(c.dropped, std::memory_order_relaxed);
  stats->udp_fast_flows.store(c.flows, std::memory_order_relaxed);
  stats->udp_fast_gso.store(c.gso, std::memory_order_relaxed);
}

void SlirpEngine::SocketsChanged(int delta) {
  open_sockets_ += delta;
  stats->open_sockets.store(open_sockets_, std::memory_order_relaxed);
  filter_->SetOpenSockets(open_sockets_);
}

void SlirpEngine::FlushFilterLog() {
  std::string line;
  while (filter_->TakeLogLine(&line)) fprintf(stderr, "rk-nat-engine: %s\n", line.c_str());
  if (fast_ && fast_->TakeLogLine(&line)) fprintf(stderr, "rk-nat-engine: %s\n", line.c_str());
}

// libslirp frees the buffers of a burst (held fragments, queued segments)
// back to malloc, which keeps the freed heap: given back to the system every
// few seconds, so that memory follows what the engine holds now, not the
// most it ever held.
void SlirpEngine::TrimMemory(int64_t now_ms) {
  if (now_ms < next_trim_ms_) return;
  next_trim_ms_ = now_ms + kTrimEveryMs;
  malloc_trim(0);
}

void SlirpEngine::Run() {
  struct epoll_event events[kMaxEvents];
  for (;;) {
    uint32_t timeout = UINT32_MAX;
    want_.clear();
    round_++;
    slirp_pollfds_fill(slirp_, &timeout, LoopCallbacks::AddPoll, this);
    SyncPollSet();
    int64_t now = MonotonicNs() / 1000000;
    int64_t next = NextTimerMs();
    int64_t expiry = filter_->NextExpiryMs();
    if (expiry >= 0 && (next < 0 || expiry < next)) next = expiry;
    int64_t wait = timeout == UINT32_MAX ? -1 : (int64_t)timeout;
    if (next >= 0) wait = wait < 0 ? std::max<int64_t>(0, next - now) : std::min(wait, std::max<int64_t>(0, next - now));
    // Wake up at least once per trim period to give memory back when idle.
    if (wait < 0 || wait > kTrimEveryMs) wait = kTrimEveryMs;

    int n;
    do n = epoll_wait(epfd_, events, kMaxEvents, (int)wait); while (n < 0 && errno == EINTR);
    if (n < 0) {
      End(EndReason::kError, errno, "epoll_wait");
      break;
    }
    bool tap_ready = false;
    ready_fds_.clear();
    for (int i = 0; i < n; i++) {
      uint64_t tag = events[i].data.u64 >> 32;
      int fd = (int)(uint32_t)events[i].data.u64;
      if (tag == kTagTap) tap_ready = true;
      else if ((size_t)fd < revents_.size()) {
        revents_[fd] = ToSlirp(events[i].events);
        ready_fds_.push_back(fd);
      }
    }
    slirp_pollfds_poll(slirp_, 0, LoopCallbacks::GetREvents, this);
    for (int fd : ready_fds_) revents_[fd] = 0;
    bool more = !tap_ready || ReadTap();
    FlushFast();
    FlushFilterLog();
    if (!more) break;
    if (tap_error_) {
      End(EndReason::kTapGone, tap_error_, "write tap");
      break;
    }
    int64_t after = MonotonicNs() / 1000000;
    RunTimers(after);
    filter_->Expire(after);
    TrimMemory(after);
  }
}

}  // namespace rk
