// What a frame from the namespace must pass before libslirp sees it (the NAT
// engine calls Inbound after InboundFrame, see slirp_frame.h):
// - malformed IPv4/IPv6 headers (truncated, bad IHL, a length beyond the
//   frame, a TCP/UDP/ICMP header cut short) are dropped;
// - IPv4 fragments are reassembled by our bounded code (ip_reass.h) and only
//   whole datagrams go on; IPv6 frames with a fragment header are dropped
//   (libslirp 4.7.0's ip6_input passes only TCP, UDP and ICMPv6 as the first
//   next header and frees anything else, so they never worked);
// - with disable_host_loopback, frames to the host's loopback (127.0.0.0/8,
//   0.0.0.0/8, ::1, ::, and those IPv4 addresses inside ::ffff:0:0/96 and
//   ::/96) are dropped, whatever the protocol;
// - the socket budget: while libslirp holds max_sockets sockets or more,
//   frames that would make it open one more are dropped (a TCP SYN, UDP from
//   a source it has no socket for, an ICMP echo request to anything but the
//   gateway or DNS address, which libslirp answers itself); UDP and ICMP
//   already at three quarters of it, so that TCP keeps room.
// One log line each time a budget starts to bite (see TakeLogLine). Memory
// is allocated at construction only; nothing grows with traffic.
#pragma once
#include <stddef.h>
#include <stdint.h>

#include <string>

#include "nat/ip_reass.h"
#include "nat/recent_sources.h"

namespace rk {

// Reassembly budgets. The fragments of one datagram leave the namespace's
// stack back to back over a local tap, so a real datagram is complete within
// one read burst; what is held longer is lost or hostile. 64 datagrams and
// 1 MiB hold 16 full-size (64 KiB) datagrams or 64 of 16 KiB at once, far
// more than real traffic has pending, at a fixed cost of about 1.2 MiB
// (Linux allows 4 MiB per namespace, but serves many links). 5 s instead of
// Linux's 30: nothing on a local link arrives seconds late, and a short
// timeout frees a flood's slots sooner.
constexpr size_t kReassMaxDatagrams = 64;
constexpr size_t kReassMaxBytes = 1 << 20;
constexpr int64_t kReassTimeoutMs = 5000;
// libslirp closes a UDP socket 240 s after the last datagram out of it
// (SO_EXPIRE): a source seen within that time still has its socket.
constexpr int64_t kUdpSourceWindowMs = 240000;
// Known UDP sources remembered, per socket of budget.
constexpr size_t kUdpSourcesPerSocket = 2;

struct FilterConfig {
  bool disable_host_loopback = false;
  size_t max_sockets = 4096;  // engine sockets above which new flows are refused
  // The gateway and DNS addresses libslirp answers itself (network byte
  // order; zero: none).
  uint32_t gateway4 = 0, dns4 = 0;
  uint8_t gateway6[16] = {}, dns6[16] = {};
  // The engine's own DNS translation may send the namespace's DNS queries to
  // a loopback address (a test's upstream, RK_TEST_DNS_UPSTREAM): UDP and
  // TCP to this address and port (network byte order) pass the loopback
  // check. Zero: none.
  uint32_t loopback_exempt4 = 0;
  uint16_t loopback_exempt_port = 0;
  size_t reass_max_datagrams = kReassMaxDatagrams;
  size_t reass_max_bytes = kReassMaxBytes;
  int64_t reass_timeout_ms = kReassTimeoutMs;
  int64_t udp_source_window_ms = kUdpSourceWindowMs;
  uint64_t hash_seed = 0;  // 0: made from the clock and an address
};

struct FilterStats {
  uint64_t passed = 0;             // frames handed on as they came
  uint64_t malformed_dropped = 0;  // bad or truncated headers
  uint64_t loopback_dropped = 0;   // to the host's loopback (disable_host_loopback)
  uint64_t budget_dropped = 0;     // would have opened a socket beyond max_sockets
  uint64_t frag_dropped = 0;       // fragments refused, or discarded with their datagram; IPv6 fragments
  uint64_t frag_held = 0;          // fragments kept for later
  uint64_t reassembled = 0;        // whole datagrams made of fragments, handed on
  uint64_t reass_bad = 0;          // datagrams dropped: overlapping or inconsistent fragments
  uint64_t reass_too_long = 0;     // datagrams dropped: over 65535 bytes
  uint64_t reass_expired = 0;      // datagrams dropped: not complete in time
  uint64_t reass_evicted = 0;      // datagrams dropped to make room
  uint64_t v6_frag_dropped = 0;    // IPv6 frames with a fragment header
  // Gauges, as of the last call.
  uint64_t reass_pending = 0;      // datagrams in reassembly
  uint64_t reass_bytes = 0;        // bytes they hold (whole blocks)
  uint64_t reass_bytes_peak = 0;
  uint64_t udp_sources = 0;        // entries of the known UDP source table
  uint64_t open_sockets = 0;       // as last reported by SetOpenSockets
};

class FrameFilter {
 public:
  explicit FrameFilter(const FilterConfig& config);

  enum class Verdict { kPass, kDrop, kHeld, kReassembled };
  // frame: an Ethernet frame from the namespace. kPass: *out/*out_len is the
  // frame itself; kReassembled: a whole datagram's frame, valid until the
  // next call; kHeld: a fragment kept for later; kDrop: drop it (stats say
  // why).
  Verdict Inbound(uint8_t* frame, size_t len, int64_t now_ms, const uint8_t** out, size_t* out_len);
  // The engine counts the sockets libslirp registers/unregisters.
  void SetOpenSockets(size_t n);
  // Drops reassembly state whose time is up; called from the engine's timers
  // (Inbound also does it on the way).
  void Expire(int64_t now_ms);
  // When Expire has work next; -1 when nothing is pending.
  int64_t NextExpiryMs() const;
  const FilterStats& stats() const { return stats_; }
  // A line for the engine's log, once each time a budget starts to bite.
  bool TakeLogLine(std::string* line);

 private:
  Verdict Ipv4(uint8_t* f, size_t len, int64_t now_ms, const uint8_t** out, size_t* out_len);
  Verdict Ipv6(uint8_t* f, size_t len, int64_t now_ms);
  // TCP/UDP/ICMP of a whole datagram: malformed, over budget, or fine.
  Verdict Transport(int family, const uint8_t* ip, size_t l4, int proto, size_t l4len, int64_t now_ms);
  bool AtBudget() const { return open_sockets_ >= cfg_.max_sockets; }
  // UDP flows and ICMP echoes stop at three quarters of the budget: their
  // sockets linger (libslirp keeps an idle UDP socket 240 s), and a flood of
  // them must leave room for new TCP connections.
  bool AtDatagramBudget() const { return open_sockets_ >= cfg_.max_sockets - cfg_.max_sockets / 4; }
  Verdict Drop(uint64_t* counter);
  Verdict BudgetDrop();
  void Log(std::string line);
  void SyncReass();

  FilterConfig cfg_;
  FilterStats stats_;
  Ipv4Reassembler reass_;
  RecentSources udp_sources_;
  size_t open_sockets_ = 0;
  bool budget_logged_ = false;
  bool reass_logged_ = false;
  int64_t next_expiry_ = -1;
  static constexpr size_t kMaxLines = 8;
  std::string lines_[kMaxLines];
  size_t nlines_ = 0;
};

}  // namespace rk
