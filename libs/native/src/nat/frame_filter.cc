#include "nat/frame_filter.h"

#include <netinet/in.h>
#include <string.h>
#include <time.h>

#include <algorithm>

#include "nat/slirp_csum.h"
#include "nat/wire.h"

namespace rk {

namespace {

// Cap of the UDP source table, whatever max_sockets says (about 40 MB).
constexpr size_t kMaxSourceEntries = 1 << 20;

bool IsLoopback4(const uint8_t* a) { return a[0] == 127 || a[0] == 0; }

// ::1 and :: included (::0.0.0.1, ::0.0.0.0).
bool IsLoopback6(const uint8_t* a) {
  for (int i = 0; i < 10; i++) {
    if (a[i] != 0) return false;
  }
  bool wraps_v4 = (a[10] == 0 && a[11] == 0) || (a[10] == 0xff && a[11] == 0xff);
  return wraps_v4 && IsLoopback4(a + 12);
}

bool IsSet6(const uint8_t* a) {
  for (int i = 0; i < 16; i++) {
    if (a[i]) return true;
  }
  return false;
}

uint64_t MakeSeed(uint64_t seed, const void* self) {
  if (seed) return seed;
  struct timespec m, r;
  clock_gettime(CLOCK_MONOTONIC, &m);
  clock_gettime(CLOCK_REALTIME, &r);
  uint64_t s = (uint64_t)m.tv_nsec * 0x9e3779b97f4a7c15ull ^ (uint64_t)r.tv_nsec << 21 ^ (uint64_t)r.tv_sec ^
               (uint64_t)(uintptr_t)self * 0xbf58476d1ce4e5b9ull;
  return s ? s : 1;
}

// DHCP (to the gateway or broadcast) and DHCPv6 (to All_DHCP_Relay_Agents_
// and_Servers): libslirp answers them itself, without a socket.
const uint8_t kAllDhcp6[16] = {0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 2};

}  // namespace

FrameFilter::FrameFilter(const FilterConfig& c)
    : cfg_(c),
      reass_(ReassLimits{c.reass_max_datagrams, c.reass_max_bytes, c.reass_timeout_ms}),
      udp_sources_(std::min(std::max<size_t>(64, c.max_sockets * kUdpSourcesPerSocket), kMaxSourceEntries),
                   MakeSeed(c.hash_seed, this)) {}

FrameFilter::Verdict FrameFilter::Drop(uint64_t* counter) {
  (*counter)++;
  return Verdict::kDrop;
}

void FrameFilter::Log(std::string line) {
  if (nlines_ < kMaxLines) lines_[nlines_++] = std::move(line);
}

bool FrameFilter::TakeLogLine(std::string* line) {
  if (nlines_ == 0) return false;
  *line = std::move(lines_[0]);
  for (size_t i = 1; i < nlines_; i++) lines_[i - 1] = std::move(lines_[i]);
  nlines_--;
  return true;
}

FrameFilter::Verdict FrameFilter::BudgetDrop() {
  stats_.budget_dropped++;
  if (!budget_logged_) {
    budget_logged_ = true;
    Log("frame filter: socket budget " + std::to_string(cfg_.max_sockets) +
        " reached, dropping frames that would open a new flow (TCP SYN, UDP from a new source, ICMP echo request)");
  }
  return Verdict::kDrop;
}

void FrameFilter::SetOpenSockets(size_t n) {
  open_sockets_ = n;
  stats_.open_sockets = n;
  // Logged again once it went well below the budget and is hit again (not
  // each time one socket closes and the next flow takes its place).
  if (budget_logged_ && n < cfg_.max_sockets - cfg_.max_sockets / 10) budget_logged_ = false;
}

void FrameFilter::SyncReass() {
  const ReassCounters& c = reass_.counters;
  stats_.frag_dropped = c.fragments_dropped + stats_.v6_frag_dropped;
  stats_.frag_held = c.held;
  stats_.reassembled = c.reassembled;
  stats_.reass_bad = c.bad;
  stats_.reass_too_long = c.too_long;
  stats_.reass_expired = c.expired;
  stats_.reass_evicted = c.evicted;
  stats_.reass_pending = reass_.pending();
  stats_.reass_bytes = reass_.bytes_held();
  stats_.reass_bytes_peak = std::max(stats_.reass_bytes_peak, stats_.reass_bytes);
  next_expiry_ = reass_.NextExpiryMs();
  if (reass_.TakeEvictedFlag() && !reass_logged_) {
    reass_logged_ = true;
    Log("frame filter: IPv4 reassembly budget reached (" + std::to_string(reass_.limits().max_datagrams) +
        " datagrams, " + std::to_string(reass_.limits().max_bytes) +
        " bytes), dropping the oldest incomplete datagrams");
  }
  if (reass_.pending() == 0) reass_logged_ = false;
}

void FrameFilter::Expire(int64_t now_ms) {
  reass_.Expire(now_ms);
  SyncReass();
}

int64_t FrameFilter::NextExpiryMs() const { return next_expiry_; }

FrameFilter::Verdict FrameFilter::Inbound(uint8_t* f, size_t len, int64_t now_ms, const uint8_t** out,
                                          size_t* out_len) {
  if (next_expiry_ >= 0 && now_ms >= next_expiry_) Expire(now_ms);
  *out = f;
  *out_len = len;
  if (len < kEth) return Drop(&stats_.malformed_dropped);
  Verdict v;
  switch (Be16(f + 12)) {
    case 0x0800: v = Ipv4(f, len, now_ms, out, out_len); break;
    case 0x86dd: v = Ipv6(f, len, now_ms); break;
    default: v = Verdict::kPass;  // ARP; libslirp ignores the rest
  }
  if (v == Verdict::kPass) stats_.passed++;
  return v;
}

FrameFilter::Verdict FrameFilter::Ipv4(uint8_t* f, size_t len, int64_t now_ms, const uint8_t** out,
                                       size_t* out_len) {
  const uint8_t* ip = f + kEth;
  size_t avail = len - kEth;
  if (avail < 20 || (ip[0] >> 4) != 4) return Drop(&stats_.malformed_dropped);
  size_t ihl = (size_t)(ip[0] & 15) * 4, total = Be16(ip + 2);
  if (ihl < 20 || total < ihl || total > avail) return Drop(&stats_.malformed_dropped);
  uint16_t frag = Be16(ip + 6);
  bool fragment = (frag & 0x3fff) != 0;
  if (cfg_.disable_host_loopback && IsLoopback4(ip + 16)) {
    uint32_t dst;
    memcpy(&dst, ip + 16, 4);
    bool exempt = !fragment && cfg_.loopback_exempt4 && dst == cfg_.loopback_exempt4 &&
                  (ip[9] == IPPROTO_TCP || ip[9] == IPPROTO_UDP) && total - ihl >= 4 &&
                  memcmp(ip + ihl + 2, &cfg_.loopback_exempt_port, 2) == 0;
    if (!exempt) return Drop(&stats_.loopback_dropped);
  }
  if (!fragment) return Transport(4, ip, ihl, ip[9], total - ihl, now_ms);

  // We rewrite the header of the whole datagram: a fragment whose header
  // does not add up would have its error laundered.
  if (CsumFold(CsumAdd(ip, ihl, 0)) != 0xffff) return Drop(&stats_.malformed_dropped);
  const uint8_t* whole;
  size_t whole_len;
  Ipv4Reassembler::Result r = reass_.Add(f, ihl, total, now_ms, &whole, &whole_len);
  SyncReass();
  if (r == Ipv4Reassembler::Result::kHeld) return Verdict::kHeld;
  if (r == Ipv4Reassembler::Result::kDropped) return Verdict::kDrop;
  const uint8_t* wip = whole + kEth;
  size_t wihl = (size_t)(wip[0] & 15) * 4;
  if (Transport(4, wip, wihl, wip[9], Be16(wip + 2) - wihl, now_ms) == Verdict::kDrop) return Verdict::kDrop;
  *out = whole;
  *out_len = whole_len;
  return Verdict::kReassembled;
}

FrameFilter::Verdict FrameFilter::Ipv6(uint8_t* f, size_t len, int64_t now_ms) {
  const uint8_t* ip = f + kEth;
  size_t avail = len - kEth;
  if (avail < 40 || (ip[0] >> 4) != 6) return Drop(&stats_.malformed_dropped);
  size_t end = 40 + (size_t)Be16(ip + 4);
  if (end > avail) return Drop(&stats_.malformed_dropped);
  if (cfg_.disable_host_loopback && IsLoopback6(ip + 24)) return Drop(&stats_.loopback_dropped);
  // Extension headers before the upper layer: hop-by-hop, routing,
  // destination options, fragment. A fragment header anywhere in the chain
  // drops the frame.
  int nh = ip[6];
  size_t off = 40;
  for (int i = 0; i < 8 && (nh == 0 || nh == 43 || nh == 60 || nh == 44); i++) {
    if (nh == 44) {
      stats_.v6_frag_dropped++;
      stats_.frag_dropped++;
      return Verdict::kDrop;
    }
    if (off + 8 > end) return Drop(&stats_.malformed_dropped);
    nh = ip[off];
    off += ((size_t)ip[off + 1] + 1) * 8;
  }
  // libslirp frees whatever has an extension header: it opens no socket.
  if (off != 40) return Verdict::kPass;
  return Transport(6, ip, 40, nh, end - 40, now_ms);
}

FrameFilter::Verdict FrameFilter::Transport(int family, const uint8_t* ip, size_t l4off, int proto, size_t l4len,
                                            int64_t now_ms) {
  const uint8_t* l4 = ip + l4off;
  const uint8_t* src = family == 4 ? ip + 12 : ip + 8;
  const uint8_t* dst = family == 4 ? ip + 16 : ip + 24;
  switch (proto) {
    case IPPROTO_TCP: {
      if (l4len < 20) return Drop(&stats_.malformed_dropped);
      size_t doff = (size_t)(l4[12] >> 4) * 4;
      if (doff < 20 || doff > l4len) return Drop(&stats_.malformed_dropped);
      bool syn_only = (l4[13] & 0x12) == 0x02;  // SYN without ACK: a new connection
      if (syn_only && AtBudget()) return BudgetDrop();
      return Verdict::kPass;
    }
    case IPPROTO_UDP: {
      if (l4len < 8) return Drop(&stats_.malformed_dropped);
      size_t ulen = Be16(l4 + 4);
      if (ulen < 8 || ulen > l4len) return Drop(&stats_.malformed_dropped);
      uint16_t dport = Be16(l4 + 2);
      if (family == 4 && dport == 67) {
        uint32_t d;
        memcpy(&d, dst, 4);
        if (d == 0xffffffffu || (cfg_.gateway4 && d == cfg_.gateway4)) return Verdict::kPass;
      }
      if (family == 6 && dport == 547 && memcmp(dst, kAllDhcp6, 16) == 0) return Verdict::kPass;
      SourceKey key = SourceKey::Make(family, src, l4);
      if (AtDatagramBudget() && !udp_sources_.Fresh(key, now_ms, cfg_.udp_source_window_ms)) return BudgetDrop();
      udp_sources_.Touch(key, now_ms);
      stats_.udp_sources = udp_sources_.size();
      return Verdict::kPass;
    }
    case IPPROTO_ICMP: {
      if (family != 4) return Verdict::kPass;
      if (l4len < 8) return Drop(&stats_.malformed_dropped);
      uint32_t d;
      memcpy(&d, dst, 4);
      bool answered_here = (cfg_.gateway4 && d == cfg_.gateway4) || (cfg_.dns4 && d == cfg_.dns4);
      if (l4[0] == 8 && !answered_here && AtDatagramBudget()) return BudgetDrop();
      return Verdict::kPass;
    }
    case IPPROTO_ICMPV6: {
      if (family != 6) return Verdict::kPass;
      if (l4len < 4) return Drop(&stats_.malformed_dropped);
      bool answered_here = (IsSet6(cfg_.gateway6) && memcmp(dst, cfg_.gateway6, 16) == 0) ||
                           (IsSet6(cfg_.dns6) && memcmp(dst, cfg_.dns6, 16) == 0);
      if (l4[0] == 128 && !answered_here && AtDatagramBudget()) return BudgetDrop();
      return Verdict::kPass;
    }
    default:
      return Verdict::kPass;
  }
}

}  // namespace rk
