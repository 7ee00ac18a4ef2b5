// IPv4 reassembly for the NAT engine's frame filter (frame_filter.h): the
// fragments of a datagram are collected here and handed on as one whole
// datagram, so that libslirp never sees a fragment (its ip_reass, in Debian's
// 4.7.0, writes through a pointer read from an out-of-order fragment).
//
// Everything is bounded and allocated once, at construction:
// - at most max_datagrams datagrams in reassembly at a time;
// - the fragments' bytes are kept in an arena of max_bytes, in blocks of
//   kReassBlock bytes; a datagram takes the blocks its fragments touch;
// - a datagram not complete timeout_ms after its first fragment is dropped;
// - when a new datagram or a fragment's bytes do not fit, the oldest
//   datagrams in reassembly are dropped to make room (fragments of one
//   datagram leave a sender back to back, so a real datagram completes long
//   before a flood of others could push it out).
// A datagram is dropped whole when its fragments overlap (duplicates too),
// disagree about where it ends, or add up to more than 65535 bytes.
#pragma once
#include <stddef.h>
#include <stdint.h>

#include <memory>
#include <vector>

namespace rk {

constexpr size_t kReassBlock = 2048;
// The payload of an IPv4 datagram ends at most at 65535 - 20 (the smallest
// header); every offset below that fits these tables.
constexpr size_t kReassMaxPayload = 65535 - 20;
constexpr size_t kReassBlocksPerDatagram = (kReassMaxPayload + kReassBlock - 1) / kReassBlock;
constexpr size_t kReassUnits = (kReassMaxPayload + 7) / 8;  // 8-byte fragment units

struct ReassLimits {
  size_t max_datagrams = 64;
  size_t max_bytes = 1 << 20;
  int64_t timeout_ms = 5000;
};

struct ReassCounters {
  uint64_t fragments_dropped = 0;  // fragment frames that never reach libslirp
  uint64_t held = 0;               // fragments kept for later
  uint64_t reassembled = 0;        // whole datagrams handed on
  uint64_t bad = 0;                // datagrams dropped: overlapping or inconsistent fragments
  uint64_t too_long = 0;           // datagrams dropped: more than 65535 bytes
  uint64_t expired = 0;            // datagrams dropped: not complete in time
  uint64_t evicted = 0;            // datagrams dropped to make room for newer ones
};

class Ipv4Reassembler {
 public:
  explicit Ipv4Reassembler(const ReassLimits& limits);

  enum class Result { kHeld, kDone, kDropped };
  // frame: an Ethernet frame whose IPv4 header (ihl bytes, total length
  // `total`, checksum) was checked by the caller and is a fragment (MF set or
  // a non-zero offset). kDone: *out/*out_len is the whole datagram as one
  // frame (the first fragment's Ethernet and IP headers, total length,
  // fragment field and checksum fixed), valid until the next call.
  Result Add(const uint8_t* frame, size_t ihl, size_t total, int64_t now_ms, const uint8_t** out, size_t* out_len);

  // Drops the datagrams whose time is up.
  void Expire(int64_t now_ms);
  // When the next datagram's time is up; -1 when none is in reassembly.
  int64_t NextExpiryMs() const;

  size_t pending() const { return used_; }
  size_t bytes_held() const { return (nblocks_ - free_.size()) * kReassBlock; }
  const ReassLimits& limits() const { return limits_; }
  // Set each time room had to be made (the caller logs it once).
  bool TakeEvictedFlag() {
    bool f = evicted_flag_;
    evicted_flag_ = false;
    return f;
  }
  ReassCounters counters;

 private:
  struct Datagram {
    bool used = false;
    uint8_t key[10];          // source, destination, identification (as in the header)
    uint8_t proto = 0;
    int64_t born_ms = 0;
    bool have_first = false, have_last = false;
    size_t end = 0;           // payload length, once the last fragment came
    size_t max_end = 0;       // highest payload end seen
    size_t received = 0;      // payload bytes held
    size_t frags = 0;         // fragments held
    size_t head_len = 0;      // Ethernet + IP header of the first fragment
    uint8_t head[14 + 60];
    uint16_t blocks[kReassBlocksPerDatagram];  // arena block + 1; 0: none
    uint64_t units[(kReassUnits + 63) / 64];   // 8-byte units received
  };

  Datagram* Find(const uint8_t* ip);
  Datagram* NewDatagram(const uint8_t* ip, int64_t now_ms);
  bool MakeRoom(size_t blocks, const Datagram* keep);  // frees the oldest others
  Datagram* Oldest(const Datagram* except);
  void Release(Datagram* d);  // blocks back to the arena, slot free
  void Drop(Datagram* d, uint64_t* reason);
  bool Overlaps(const Datagram& d, size_t first_unit, size_t end_unit) const;
  void Assemble(Datagram* d, const uint8_t** out, size_t* out_len);

  ReassLimits limits_;
  std::vector<Datagram> slots_;
  size_t used_ = 0;
  size_t nblocks_ = 0;
  std::unique_ptr<uint8_t[]> arena_;  // pages touched only as blocks are used
  std::vector<uint16_t> free_;        // free block numbers
  std::vector<uint8_t> out_;          // the last whole datagram's frame
  bool evicted_flag_ = false;
};

}  // namespace rk
