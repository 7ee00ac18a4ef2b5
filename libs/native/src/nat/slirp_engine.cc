// See slirp_engine.h: set-up and tear-down of the engine, and the callbacks
// libslirp makes (all of them on the engine thread, from inside
// slirp_input / slirp_pollfds_* / slirp_handle_timer).
#include "nat/slirp_engine.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <libslirp.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>

#include "nat/slirp_loop.h"

namespace rk {

// libslirp's MTU with virtio-net headers, whatever the link's: the namespace
// hands over 64 KiB TSO frames, and libslirp sends TCP segments of
// min(its MTU - 40, 32 KiB) (it never applies the MSS of a connection the
// namespace opens), which leave as GSO frames. Datagrams bigger than the
// link MTU reach the namespace whole (the kernel takes them; forwarding
// fragments them).
constexpr int kBigMtu = 65520;

struct SlirpCallbacks {
  static ssize_t SendPacket(const void* buf, size_t len, void* opaque) {
    auto* e = static_cast<SlirpEngine*>(opaque);
    OutboundFrame out;
    BuildOutbound(e->rules_, static_cast<const uint8_t*>(buf), len, &out);
    ssize_t w;
    do w = writev(e->opts_.tap_fd, out.iov, out.iovcnt); while (w < 0 && errno == EINTR);
    if (w < 0) {
      // The namespace cannot take it now (EIO: its link is down): drop, TCP
      // retransmits. A tap whose device is gone (EBADFD) ends the engine.
      if (errno == EBADFD) e->tap_error_ = errno;
      e->stats->out_dropped.fetch_add(1, std::memory_order_relaxed);
      return (ssize_t)len;
    }
    e->stats->out_packets.fetch_add(1, std::memory_order_relaxed);
    e->stats->out_bytes.fetch_add(len, std::memory_order_relaxed);
    if (out.gso) e->stats->out_gso.fetch_add(1, std::memory_order_relaxed);
    return (ssize_t)len;
  }
  static void GuestError(const char*, void* opaque) {
    static_cast<SlirpEngine*>(opaque)->stats->guest_errors.fetch_add(1, std::memory_order_relaxed);
  }
  static int64_t ClockGetNs(void*) { return MonotonicNs(); }
  static void* TimerNew(SlirpTimerCb cb, void* cb_opaque, void* opaque) {
    auto* e = static_cast<SlirpEngine*>(opaque);
    auto* t = new SlirpEngine::Timer{-1, cb, cb_opaque, -1};
    e->timers_.push_back(t);
    return t;
  }
  static void* TimerNewOpaque(SlirpTimerId id, void* cb_opaque, void* opaque) {
    auto* e = static_cast<SlirpEngine*>(opaque);
    auto* t = new SlirpEngine::Timer{(int)id, nullptr, cb_opaque, -1};
    e->timers_.push_back(t);
    return t;
  }
  static void TimerFree(void* timer, void* opaque) {
    auto* e = static_cast<SlirpEngine*>(opaque);
    auto* t = static_cast<SlirpEngine::Timer*>(timer);
    e->timers_.erase(std::remove(e->timers_.begin(), e->timers_.end(), t), e->timers_.end());
    delete t;
  }
  static void TimerMod(void* timer, int64_t expire_ms, void*) {
    static_cast<SlirpEngine::Timer*>(timer)->expire_ms = expire_ms;
  }
  // A socket libslirp just made may reuse the number of one it closed
  // without telling us: forget what epoll had for that number.
  // Both also count libslirp's open sockets, for the frame filter's budget.
  static void RegisterPollFd(int fd, void* opaque) {
    auto* e = static_cast<SlirpEngine*>(opaque);
    e->ForgetFd(fd);
    if (fd >= 0) {
      if ((size_t)fd >= e->fresh_.size()) e->fresh_.resize((size_t)fd + 64, 0);
      e->fresh_[fd] = 1;
      if (e->fast_) e->fast_->SocketOpened(fd);
      if ((size_t)fd >= e->socket_open_.size()) e->socket_open_.resize((size_t)fd + 64, 0);
      if (!e->socket_open_[fd]) {
        e->socket_open_[fd] = 1;
        e->SocketsChanged(+1);
      }
    }
  }
  static void UnregisterPollFd(int fd, void* opaque) {
    auto* e = static_cast<SlirpEngine*>(opaque);
    e->ForgetFd(fd);
    if (e->fast_) e->fast_->SocketClosed(fd);
    if (fd >= 0 && (size_t)fd < e->socket_open_.size() && e->socket_open_[fd]) {
      e->socket_open_[fd] = 0;
      e->SocketsChanged(-1);
    }
  }
  // libslirp calls this on our own thread; the next round re-reads its wants.
  static void Notify(void*) {}
};

static const SlirpCb kCallbacks = [] {
  SlirpCb cb;
  memset(&cb, 0, sizeof cb);
  cb.send_packet = SlirpCallbacks::SendPacket;
  cb.guest_error = SlirpCallbacks::GuestError;
  cb.clock_get_ns = SlirpCallbacks::ClockGetNs;
  cb.timer_new = SlirpCallbacks::TimerNew;
  cb.timer_free = SlirpCallbacks::TimerFree;
  cb.timer_mod = SlirpCallbacks::TimerMod;
  cb.register_poll_fd = SlirpCallbacks::RegisterPollFd;
  cb.unregister_poll_fd = SlirpCallbacks::UnregisterPollFd;
  cb.notify = SlirpCallbacks::Notify;
  cb.timer_new_opaque = SlirpCallbacks::TimerNewOpaque;
  return cb;
}();

// An address of the network for libslirp's own DNS forwarder when the
// namespace's DNS address is the gateway itself (libslirp would refuse every
// other port of an address that is also its nameserver).
constexpr uint16_t kClampedMss = 1460;  // what MTU 1500 gives IPv4

static in_addr SpareAddress(const EngineOptions& o) {
  uint32_t net = ntohl(o.network.s_addr), mask = ntohl(o.netmask.s_addr);
  for (uint32_t i = 3; i < (~mask); i++) {
    uint32_t a = htonl(net + i);
    if (a != o.guest.s_addr && a != o.host.s_addr) return in_addr{a};
  }
  return o.dns;
}

SlirpEngine* SlirpEngine::Create(const EngineOptions& o, int* err, std::string* what) {
  auto fail = [&](SlirpEngine* e, int code, const char* call) -> SlirpEngine* {
    *err = code;
    *what = call;
    if (e) {
      e->opts_.tap_fd = -1;  // still the caller's
      delete e;
    }
    return nullptr;
  };
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  if (ioctl(o.tap_fd, TUNGETIFF, &ifr) < 0) return fail(nullptr, errno, "ioctl TUNGETIFF");
  if (!(ifr.ifr_flags & IFF_TAP) || !(ifr.ifr_flags & IFF_NO_PI)) return fail(nullptr, EINVAL, "tap (IFF_TAP|IFF_NO_PI)");
  if (((ifr.ifr_flags & IFF_VNET_HDR) != 0) != o.vnet_hdr) return fail(nullptr, EINVAL, "tap IFF_VNET_HDR (vnetHdr)");

  SlirpEngine* e = new SlirpEngine();
  e->opts_ = o;
  e->rules_.mtu = o.mtu;
  e->rules_.vnet_hdr = o.vnet_hdr;
  e->rules_.slirp_mtu = o.vnet_hdr ? std::max(o.mtu, kBigMtu) : o.mtu;
  // With TSO the namespace's MSS costs nothing per frame; above MTU 1500 its
  // MSS would no longer fit libslirp's 64 KiB window more than once (see
  // slirp_frame.h). Measured at MTU 65520, uploads through the engine in one
  // run: 3.2-7.4 Gbit/s unclamped, 10.2-10.8 clamped to 1460.
  if (o.vnet_hdr && o.mtu > 1500) e->rules_.mss_clamp = kClampedMss;
  in_addr nameserver = o.dns.s_addr == o.host.s_addr ? SpareAddress(o) : o.dns;
  if (o.dns_upstream) {
    e->rules_.dns_nat = true;
    e->rules_.dns_addr = o.dns.s_addr;
    e->rules_.dns_target = o.upstream_addr.s_addr;
    e->rules_.dns_target_port = o.upstream_port;
  } else if (nameserver.s_addr != o.dns.s_addr) {
    e->rules_.dns_nat = true;
    e->rules_.dns_addr = o.dns.s_addr;
    e->rules_.dns_target = nameserver.s_addr;
    e->rules_.dns_target_port = htons(53);
  }

  FilterConfig fc;
  fc.disable_host_loopback = o.disable_host_loopback;
  fc.max_sockets = o.max_sockets;
  fc.gateway4 = o.host.s_addr;
  fc.dns4 = o.dns.s_addr;
  memcpy(fc.gateway6, &o.host6, 16);
  memcpy(fc.dns6, &o.dns6, 16);
  // The DNS translation (InboundFrame, before the filter) may point at a
  // resolver on the host's loopback: that address and port stay reachable.
  if (e->rules_.dns_nat) {
    fc.loopback_exempt4 = e->rules_.dns_target;
    fc.loopback_exempt_port = e->rules_.dns_target_port;
  }
  e->filter_ = new FrameFilter(fc);
  if (o.udp_fast) {
    UdpFastConfig uc;
    uc.network = o.network.s_addr;
    uc.netmask = o.netmask.s_addr;
    uc.gateway = o.host.s_addr;
    uc.disable_host_loopback = o.disable_host_loopback;
    e->fast_ = new UdpFastPath(uc);
  }

  int fl = fcntl(o.tap_fd, F_GETFL);
  if (fl < 0 || fcntl(o.tap_fd, F_SETFL, fl | O_NONBLOCK) < 0) return fail(e, errno, "fcntl O_NONBLOCK");
  if (o.vnet_hdr) {
    // Checksums and TCP segmentation left to us: the namespace hands over
    // 64 KiB TCP frames at any MTU, unchecksummed; and, where the kernel
    // can, VXLAN/Geneve-encapsulated ones whole (tunnel_gso.h). The longer
    // header goes first: tun writes with it whatever the offloads, and
    // would refuse a tunnel frame with the short one.
    unsigned offload = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN;
    int size = (int)sizeof(VnetTnlHdr);
    bool tunnel = o.tunnel_gso && ioctl(o.tap_fd, TUNSETVNETHDRSZ, &size) == 0 &&
                  ioctl(o.tap_fd, TUNSETOFFLOAD, offload | kTunFUdpTunnelGso | kTunFUdpTunnelGsoCsum) == 0;
    if (!tunnel) {
      if (ioctl(o.tap_fd, TUNSETOFFLOAD, offload) < 0) return fail(e, errno, "ioctl TUNSETOFFLOAD");
      size = (int)sizeof(VnetHdr);
      if (ioctl(o.tap_fd, TUNSETVNETHDRSZ, &size) < 0) return fail(e, errno, "ioctl TUNSETVNETHDRSZ");
    } else {
      e->tunnel_ = new TunnelGsoSplitter();
    }
    e->rules_.vnet_len = (size_t)size;
  }
  e->rxbuf_.resize(o.vnet_hdr ? sizeof(VnetTnlHdr) + 65536 + 64 : (size_t)o.mtu + 14 + 64);

  e->epfd_ = epoll_create1(EPOLL_CLOEXEC);
  if (e->epfd_ < 0) return fail(e, errno, "epoll_create1");
  if (AddSpecialFd(e->epfd_, o.tap_fd, kTagTap) < 0) return fail(e, errno, "epoll_ctl tap");

  SlirpConfig cfg;
  memset(&cfg, 0, sizeof cfg);
  cfg.version = 4;
  cfg.restricted = 0;
  cfg.in_enabled = true;
  cfg.vnetwork = o.network;
  cfg.vnetmask = o.netmask;
  cfg.vhost = o.host;
  cfg.in6_enabled = o.ipv6;
  cfg.vprefix_addr6 = o.prefix6;
  cfg.vprefix_len = (uint8_t)o.prefix6_len;
  cfg.vhost6 = o.host6;
  cfg.vdhcp_start = o.guest;
  cfg.vnameserver = nameserver;
  cfg.vnameserver6 = o.dns6;
  cfg.if_mtu = (size_t)e->rules_.slirp_mtu;
  cfg.if_mru = (size_t)e->rules_.slirp_mtu;
  cfg.disable_host_loopback = o.disable_host_loopback;
  cfg.enable_emu = false;
  e->slirp_ = slirp_new(&cfg, &kCallbacks, e);
  if (!e->slirp_) return fail(e, EINVAL, "slirp_new");
  return e;
}

SlirpEngine::~SlirpEngine() {
  if (slirp_) slirp_cleanup(slirp_);
  delete filter_;
  delete fast_;
  delete tunnel_;
  for (Timer* t : timers_) delete t;
  if (opts_.tap_fd >= 0) close(opts_.tap_fd);
  if (epfd_ >= 0) close(epfd_);
}

void SlirpEngine::End(EndReason r, int err, const char* what) {
  end_reason = r;
  end_errno = err;
  end_what = what ? what : "";
}

int64_t SlirpEngine::NextTimerMs() const {
  int64_t next = -1;
  for (const Timer* t : timers_) {
    if (t->expire_ms >= 0 && (next < 0 || t->expire_ms < next)) next = t->expire_ms;
  }
  return next;
}

void SlirpEngine::RunTimers(int64_t now_ms) {
  for (size_t i = 0; i < timers_.size(); i++) {
    Timer* t = timers_[i];
    if (t->expire_ms < 0 || t->expire_ms > now_ms) continue;
    t->expire_ms = -1;
    if (t->id >= 0) slirp_handle_timer(slirp_, (SlirpTimerId)t->id, t->cb_opaque);
    else if (t->cb) t->cb(t->cb_opaque);
  }
}

}  // namespace rk
