// The userspace NAT engine of the builtin network driver: libslirp fed from a
// tap device opened inside the namespace, run by the rk-nat-engine process
// (engine_main.cc), sandboxed, on its only thread. The loop is an epoll set
// over the tap, libslirp's host sockets and its timers. No packet ever
// reaches JavaScript; buffers are fixed at start (one receive buffer;
// libslirp's own per-connection buffers).
#pragma once
#include <netinet/in.h>
#include <stdint.h>

#include <atomic>
#include <string>
#include <vector>

#include "common/clock.h"
#include "nat/frame_filter.h"
#include "nat/slirp_frame.h"
#include "nat/tunnel_gso.h"
#include "nat/udp_fast.h"

struct Slirp;

namespace rk {

struct EngineOptions {
  int tap_fd = -1;            // owned by the engine once Create succeeds
  int mtu = 1500;             // the tap's MTU (68..65521)
  bool vnet_hdr = false;      // the tap was opened with IFF_VNET_HDR
  in_addr network{}, netmask{}, guest{}, host{}, dns{};
  bool disable_host_loopback = false;
  bool ipv6 = false;
  in6_addr prefix6{}, host6{}, dns6{};
  int prefix6_len = 64;
  bool dns_upstream = false;  // redirect DNS to upstream_addr:upstream_port
  in_addr upstream_addr{};
  uint16_t upstream_port = 0; // network byte order
  // Engine sockets (libslirp's host sockets) above which frames that would
  // open another one are dropped (see frame_filter.h).
  uint32_t max_sockets = 4096;
  // Outbound UDP of flows libslirp has a socket for leaves in batches
  // (udp_fast.h); off: every datagram through libslirp (for comparison).
  bool udp_fast = true;
  // With vnet_hdr: ask the tap for UDP tunnel GSO frames too (tunnel_gso.h),
  // where the kernel has it (6.17+; else as before, silently).
  bool tunnel_gso = true;
};

struct EngineStats {
  std::atomic<uint64_t> in_packets{0}, in_bytes{0};    // namespace -> engine
  std::atomic<uint64_t> out_packets{0}, out_bytes{0};  // engine -> namespace
  std::atomic<uint64_t> in_dropped{0}, out_dropped{0};
  std::atomic<uint64_t> in_gso{0}, out_gso{0};         // 64 KiB super-segments
  std::atomic<uint64_t> guest_errors{0};
  std::atomic<uint64_t> open_sockets{0};               // libslirp's host sockets now
  std::atomic<uint64_t> filtered{0};                   // frames the frame filter dropped
  // The UDP fast path (udp_fast.h): datagrams sent, sendmmsg calls,
  // datagrams the host socket refused, flows now.
  std::atomic<uint64_t> udp_fast_packets{0}, udp_fast_batches{0}, udp_fast_dropped{0}, udp_fast_flows{0};
  std::atomic<uint64_t> udp_fast_gso{0};  // of the sends, UDP GSO ones
  std::atomic<uint64_t> in_tunnel_gso{0};  // of in_gso, UDP tunnel ones (cut up here, tunnel_gso.h)
};

enum class EndReason { kRunning, kTapGone, kError };

class SlirpEngine {
 public:
  // Checks the tap, sets up offloads, libslirp and the epoll set. On failure
  // returns null with an errno and the call that failed; the fds in o stay
  // the caller's.
  static SlirpEngine* Create(const EngineOptions& o, int* err, std::string* what);
  ~SlirpEngine();  // the thread must have been joined

  // Runs the loop on the calling thread until the tap goes away or an error.
  void Run();  // slirp_loop.cc

  // Counters: in memory the parent can read (engine_main.cc), else our own.
  EngineStats* stats = &own_stats_;
  // Why the loop ended (valid once Run returned).
  EndReason end_reason = EndReason::kRunning;
  int end_errno = 0;
  std::string end_what;

 private:
  friend struct SlirpCallbacks;
  friend struct LoopCallbacks;
  SlirpEngine() = default;
  void SyncPollSet();          // slirp_loop.cc
  void ForgetFd(int fd);       // slirp_loop.cc
  void SocketsChanged(int delta);  // slirp_loop.cc
  void TrimMemory(int64_t now_ms);  // slirp_loop.cc
  bool ReadTap();              // slirp_loop.cc: false when the loop must end
  // slirp_loop.cc: one frame from the namespace (h: its header, or null);
  // false when the loop must end.
  bool HandleFrame(const VnetHdr* h, uint8_t* frame, size_t len);
  void RunTimers(int64_t now_ms);
  int64_t NextTimerMs() const;
  void End(EndReason r, int err, const char* what);

  EngineOptions opts_;
  FrameRules rules_;
  EngineStats own_stats_;
  FrameFilter* filter_ = nullptr;
  UdpFastPath* fast_ = nullptr;  // null when off
  TunnelGsoSplitter* tunnel_ = nullptr;  // null when the tap does not take tunnel GSO
  void FlushFast();              // slirp_loop.cc: sends the batch, publishes its counters
  void FlushFilterLog();  // slirp_loop.cc
  Slirp* slirp_ = nullptr;
  int epfd_ = -1;
  int tap_error_ = 0;
  std::vector<uint8_t> socket_open_;  // by fd: a socket libslirp registered
  uint64_t open_sockets_ = 0;
  int64_t next_trim_ms_ = 0;  // set by the send path when the tap is gone

  // libslirp's poll set for this round (index = what add_poll returned),
  // and what is registered in epoll, by fd.
  struct Want {
    int fd;
    uint32_t events;
  };
  std::vector<Want> want_;
  std::vector<uint32_t> registered_;  // epoll events, 0: not registered
  std::vector<uint32_t> seen_round_;
  std::vector<int> registered_fds_;  // fds that may be registered
  std::vector<uint8_t> listed_;       // by fd: in registered_fds_
  std::vector<uint8_t> fresh_;        // by fd: a socket libslirp made and we have not looked at
  std::vector<uint8_t> revents_;      // SLIRP_POLL_* this round
  std::vector<int> ready_fds_;
  uint32_t round_ = 0;

  struct Timer {
    int id;                 // SlirpTimerId, or -1 for a callback timer
    void (*cb)(void*);
    void* cb_opaque;
    int64_t expire_ms;      // -1: not armed
  };
  std::vector<Timer*> timers_;

  std::vector<uint8_t> rxbuf_;
};

}  // namespace rk
