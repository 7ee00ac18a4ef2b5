#include "nat/ip_reass.h"

#include <string.h>

#include <algorithm>

#include "nat/slirp_csum.h"
#include "nat/wire.h"

namespace rk {

namespace {

// Bits [a, b) of a bitmap: whether any is set, and setting them.
uint64_t Mask(size_t word, size_t a, size_t b) {
  size_t lo = std::max(a, word * 64) - word * 64, hi = std::min(b, word * 64 + 64) - word * 64;
  uint64_t m = hi == 64 ? ~0ull : (1ull << hi) - 1;
  return m & ~((1ull << lo) - 1);
}

bool AnySet(const uint64_t* bits, size_t a, size_t b) {
  for (size_t w = a / 64; w * 64 < b; w++) {
    if (bits[w] & Mask(w, a, b)) return true;
  }
  return false;
}

void SetBits(uint64_t* bits, size_t a, size_t b) {
  for (size_t w = a / 64; w * 64 < b; w++) bits[w] |= Mask(w, a, b);
}

}  // namespace

Ipv4Reassembler::Ipv4Reassembler(const ReassLimits& limits) : limits_(limits) {
  if (limits_.max_datagrams < 1) limits_.max_datagrams = 1;
  // At least one whole datagram's worth of blocks, at most what a block
  // number can name.
  nblocks_ = std::min<size_t>(std::max(limits_.max_bytes / kReassBlock, kReassBlocksPerDatagram), 65535);
  limits_.max_bytes = nblocks_ * kReassBlock;
  slots_.resize(limits_.max_datagrams);
  arena_.reset(new uint8_t[nblocks_ * kReassBlock]);
  free_.reserve(nblocks_);
  for (size_t i = nblocks_; i-- > 0;) free_.push_back((uint16_t)i);
  out_.resize(kEth + 65535);
}

Ipv4Reassembler::Datagram* Ipv4Reassembler::Find(const uint8_t* ip) {
  for (Datagram& d : slots_) {
    if (d.used && d.proto == ip[9] && memcmp(d.key, ip + 12, 8) == 0 && memcmp(d.key + 8, ip + 4, 2) == 0) return &d;
  }
  return nullptr;
}

Ipv4Reassembler::Datagram* Ipv4Reassembler::Oldest(const Datagram* except) {
  Datagram* o = nullptr;
  for (Datagram& d : slots_) {
    if (d.used && &d != except && (!o || d.born_ms < o->born_ms)) o = &d;
  }
  return o;
}

void Ipv4Reassembler::Release(Datagram* d) {
  for (uint16_t& b : d->blocks) {
    if (b) free_.push_back((uint16_t)(b - 1));
    b = 0;
  }
  memset(d->units, 0, ((d->max_end + 7) / 8 + 63) / 64 * 8);
  d->used = false;
  used_--;
}

void Ipv4Reassembler::Drop(Datagram* d, uint64_t* reason) {
  counters.fragments_dropped += d->frags;
  if (reason) (*reason)++;
  Release(d);
}

bool Ipv4Reassembler::MakeRoom(size_t blocks, const Datagram* keep) {
  while (free_.size() < blocks) {
    Datagram* o = Oldest(keep);
    if (!o) return false;
    Drop(o, &counters.evicted);
    evicted_flag_ = true;
  }
  return true;
}

Ipv4Reassembler::Datagram* Ipv4Reassembler::NewDatagram(const uint8_t* ip, int64_t now_ms) {
  if (used_ == slots_.size()) {
    Drop(Oldest(nullptr), &counters.evicted);
    evicted_flag_ = true;
  }
  Datagram* d = nullptr;
  for (Datagram& s : slots_) {
    if (!s.used) {
      d = &s;
      break;
    }
  }
  // Release() left blocks and units cleared.
  d->used = true;
  memcpy(d->key, ip + 12, 8);
  memcpy(d->key + 8, ip + 4, 2);
  d->proto = ip[9];
  d->born_ms = now_ms;
  d->have_first = d->have_last = false;
  d->end = d->max_end = d->received = d->frags = d->head_len = 0;
  used_++;
  return d;
}

void Ipv4Reassembler::Assemble(Datagram* d, const uint8_t** out, size_t* out_len) {
  uint8_t* f = out_.data();
  memcpy(f, d->head, d->head_len);
  for (size_t b = 0; b * kReassBlock < d->end; b++) {
    size_t n = std::min(kReassBlock, d->end - b * kReassBlock);
    memcpy(f + d->head_len + b * kReassBlock, arena_.get() + (size_t)(d->blocks[b] - 1) * kReassBlock, n);
  }
  uint8_t* ip = f + kEth;
  size_t ihl = d->head_len - kEth, total = ihl + d->end;
  ip[2] = (uint8_t)(total >> 8);
  ip[3] = (uint8_t)total;
  ip[6] = ip[7] = 0;  // offset 0, no more fragments
  ip[10] = ip[11] = 0;
  uint16_t c = CsumFinish(CsumAdd(ip, ihl, 0));
  memcpy(ip + 10, &c, 2);
  *out = f;
  *out_len = kEth + total;
}

Ipv4Reassembler::Result Ipv4Reassembler::Add(const uint8_t* frame, size_t ihl, size_t total, int64_t now_ms,
                                             const uint8_t** out, size_t* out_len) {
  const uint8_t* ip = frame + kEth;
  uint16_t field = Be16(ip + 6);
  size_t off = (size_t)(field & 0x1fff) * 8;
  bool more = (field & 0x2000) != 0;
  size_t len = total - ihl, end = off + len;
  Datagram* d = Find(ip);
  // Drops this fragment and the datagram it belongs to.
  auto refuse = [&](uint64_t* reason) {
    if (d) Drop(d, reason);
    else (*reason)++;
    counters.fragments_dropped++;
    return Result::kDropped;
  };
  // An empty fragment, or one that is not the last and leaves a hole that
  // no offset (a multiple of 8) can start at.
  if (len == 0 || (more && len % 8 != 0)) return refuse(&counters.bad);
  size_t first_ihl = off == 0 ? ihl : d && d->have_first ? d->head_len - kEth : 20;
  if (end > kReassMaxPayload || first_ihl + std::max(end, d ? d->max_end : 0) > 65535) return refuse(&counters.too_long);
  if (d) {
    if (!more && ((d->have_last && end != d->end) || end < d->max_end)) return refuse(&counters.bad);
    if (more && d->have_last && end > d->end) return refuse(&counters.bad);
    if (AnySet(d->units, off / 8, (end + 7) / 8)) return refuse(&counters.bad);
  } else {
    d = NewDatagram(ip, now_ms);
  }
  size_t need = 0;
  for (size_t b = off / kReassBlock; b <= (end - 1) / kReassBlock; b++) need += d->blocks[b] == 0;
  if (free_.size() < need && !MakeRoom(need, d)) return refuse(&counters.evicted);

  const uint8_t* data = ip + ihl;
  for (size_t b = off / kReassBlock; b <= (end - 1) / kReassBlock; b++) {
    if (!d->blocks[b]) {
      d->blocks[b] = (uint16_t)(free_.back() + 1);
      free_.pop_back();
    }
    size_t lo = std::max(off, b * kReassBlock), hi = std::min(end, (b + 1) * kReassBlock);
    memcpy(arena_.get() + (size_t)(d->blocks[b] - 1) * kReassBlock + (lo - b * kReassBlock), data + (lo - off), hi - lo);
  }
  SetBits(d->units, off / 8, (end + 7) / 8);
  d->received += len;
  d->frags++;
  d->max_end = std::max(d->max_end, end);
  if (off == 0) {
    d->have_first = true;
    d->head_len = kEth + ihl;
    memcpy(d->head, frame, d->head_len);
  }
  if (!more) {
    d->have_last = true;
    d->end = end;
  }
  if (d->have_first && d->have_last && d->received == d->end) {
    Assemble(d, out, out_len);
    Release(d);
    counters.reassembled++;
    return Result::kDone;
  }
  counters.held++;
  return Result::kHeld;
}

void Ipv4Reassembler::Expire(int64_t now_ms) {
  for (Datagram& d : slots_) {
    if (d.used && now_ms - d.born_ms >= limits_.timeout_ms) Drop(&d, &counters.expired);
  }
}

int64_t Ipv4Reassembler::NextExpiryMs() const {
  int64_t next = -1;
  for (const Datagram& d : slots_) {
    if (d.used && (next < 0 || d.born_ms + limits_.timeout_ms < next)) next = d.born_ms + limits_.timeout_ms;
  }
  return next;
}

}  // namespace rk
