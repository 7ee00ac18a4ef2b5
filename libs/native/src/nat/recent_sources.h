// The UDP sources (namespace-side address and port) the frame filter has let
// through recently: libslirp keeps one host socket per such source, so a
// datagram from a known source opens no new socket. A fixed-size table
// (allocated once), least recently used entry replaced when full; lookups in
// a linear-probing hash with a per-table random seed (so that the namespace
// cannot aim many sources at one bucket).
#pragma once
#include <stddef.h>
#include <stdint.h>

#include <vector>

namespace rk {

struct SourceKey {
  uint8_t b[20] = {};  // [0] family (4 or 6), [2..3] port, [4..19] address
  static SourceKey Make(int family, const uint8_t* addr, const uint8_t* port);
};

class RecentSources {
 public:
  RecentSources(size_t capacity, uint64_t seed);
  // Whether key was touched less than window_ms before now_ms.
  bool Fresh(const SourceKey& key, int64_t now_ms, int64_t window_ms) const;
  // Records key as seen at now_ms (the least recently seen entry makes room).
  void Touch(const SourceKey& key, int64_t now_ms);
  size_t size() const { return count_; }
  size_t capacity() const { return entries_.size(); }

 private:
  static constexpr uint32_t kNone = UINT32_MAX;
  struct Entry {
    SourceKey key;
    uint64_t hash;
    int64_t seen_ms;
    uint32_t prev, next;  // recency list, most recent at head_
  };
  uint64_t Hash(const SourceKey& k) const;
  size_t Slot(const SourceKey& k, uint64_t h) const;  // index_ position holding k, or an empty one
  void Unlink(uint32_t e);
  void PushFront(uint32_t e);
  void EraseAt(size_t pos);

  uint64_t seed_;
  std::vector<Entry> entries_;
  std::vector<uint32_t> index_;  // entry + 1; 0: empty
  size_t mask_ = 0;
  size_t count_ = 0;
  uint32_t head_ = kNone, tail_ = kNone;
};

}  // namespace rk
