// The userspace NAT engine of the builtin network driver: libslirp on one
// dedicated native thread, fed from a tap device opened inside the
// namespace. The thread runs an epoll loop over the tap, libslirp's host
// sockets, its timers, a stop eventfd and (optionally) a pidfd whose exit
// ends the engine. No packet ever reaches JavaScript; buffers are fixed at
// start (one receive buffer; libslirp's own per-connection buffers).
#pragma once
#include <netinet/in.h>
#include <stdint.h>

#include <atomic>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "nat/slirp_frame.h"

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
  int pidfd = -1;             // owned; readable (process exited) ends the engine
};

struct EngineStats {
  std::atomic<uint64_t> in_packets{0}, in_bytes{0};    // namespace -> engine
  std::atomic<uint64_t> out_packets{0}, out_bytes{0};  // engine -> namespace
  std::atomic<uint64_t> in_dropped{0}, out_dropped{0};
  std::atomic<uint64_t> in_gso{0}, out_gso{0};         // 64 KiB super-segments
  std::atomic<uint64_t> guest_errors{0};
};

enum class EndReason { kRunning, kStopped, kProcessExited, kTapGone, kError };

class SlirpEngine {
 public:
  // Checks the tap, sets up offloads, libslirp and the epoll set. On failure
  // returns null with an errno and the call that failed; the fds in o stay
  // the caller's.
  static SlirpEngine* Create(const EngineOptions& o, int* err, std::string* what);
  ~SlirpEngine();  // the thread must have been joined

  // Starts the thread. on_end runs on it when the engine ends on its own.
  void Start(std::function<void()> on_end);
  // Asks the thread to end and joins it (from any other thread).
  void Stop();

  EngineStats stats;
  // Why the loop ended (valid once on_end ran or Stop returned).
  EndReason end_reason = EndReason::kRunning;
  int end_errno = 0;
  std::string end_what;

 private:
  friend struct SlirpCallbacks;
  friend struct LoopCallbacks;
  SlirpEngine() = default;
  void Run();                  // slirp_loop.cc
  void SyncPollSet();          // slirp_loop.cc
  void ForgetFd(int fd);       // slirp_loop.cc
  bool ReadTap();              // slirp_loop.cc: false when the loop must end
  void RunTimers(int64_t now_ms);
  int64_t NextTimerMs() const;
  void End(EndReason r, int err, const char* what);

  EngineOptions opts_;
  FrameRules rules_;
  Slirp* slirp_ = nullptr;
  int epfd_ = -1, stopfd_ = -1;
  std::thread thread_;
  std::function<void()> on_end_;
  int tap_error_ = 0;  // set by the send path when the tap is gone

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

int64_t MonotonicNs();

}  // namespace rk
