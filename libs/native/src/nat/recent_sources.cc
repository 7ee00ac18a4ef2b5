#include "nat/recent_sources.h"

#include <string.h>

namespace rk {

SourceKey SourceKey::Make(int family, const uint8_t* addr, const uint8_t* port) {
  SourceKey k;
  k.b[0] = (uint8_t)family;
  memcpy(k.b + 2, port, 2);
  memcpy(k.b + 4, addr, family == 4 ? 4 : 16);
  return k;
}

RecentSources::RecentSources(size_t capacity, uint64_t seed) : seed_(seed) {
  if (capacity < 1) capacity = 1;
  entries_.resize(capacity);
  size_t n = 1;
  while (n < capacity * 2) n <<= 1;  // load factor at most 1/2
  index_.assign(n, 0);
  mask_ = n - 1;
}

uint64_t RecentSources::Hash(const SourceKey& k) const {
  uint64_t w[3] = {0, 0, 0};
  memcpy(w, k.b, sizeof k.b);
  uint64_t h = seed_;
  for (uint64_t x : w) {
    h ^= x;
    h *= 0x9e3779b97f4a7c15ull;
    h ^= h >> 32;
  }
  h ^= h >> 29;
  h *= 0xbf58476d1ce4e5b9ull;
  return h ^ (h >> 32);
}

size_t RecentSources::Slot(const SourceKey& k, uint64_t h) const {
  size_t pos = h & mask_;
  while (index_[pos] != 0) {
    const Entry& e = entries_[index_[pos] - 1];
    if (e.hash == h && memcmp(e.key.b, k.b, sizeof k.b) == 0) return pos;
    pos = (pos + 1) & mask_;
  }
  return pos;
}

bool RecentSources::Fresh(const SourceKey& key, int64_t now_ms, int64_t window_ms) const {
  size_t pos = Slot(key, Hash(key));
  return index_[pos] != 0 && now_ms - entries_[index_[pos] - 1].seen_ms < window_ms;
}

void RecentSources::Unlink(uint32_t e) {
  Entry& x = entries_[e];
  if (x.prev != kNone) entries_[x.prev].next = x.next;
  else head_ = x.next;
  if (x.next != kNone) entries_[x.next].prev = x.prev;
  else tail_ = x.prev;
}

void RecentSources::PushFront(uint32_t e) {
  Entry& x = entries_[e];
  x.prev = kNone;
  x.next = head_;
  if (head_ != kNone) entries_[head_].prev = e;
  head_ = e;
  if (tail_ == kNone) tail_ = e;
}

// Removes index_[pos], moving later entries of its probe run back so that
// every entry stays reachable from its home position.
void RecentSources::EraseAt(size_t pos) {
  size_t hole = pos;
  index_[hole] = 0;
  for (size_t j = (hole + 1) & mask_; index_[j] != 0; j = (j + 1) & mask_) {
    size_t home = entries_[index_[j] - 1].hash & mask_;
    // The entry at j may fill the hole when its home is not in (hole, j].
    bool stays = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j);
    if (stays) continue;
    index_[hole] = index_[j];
    index_[j] = 0;
    hole = j;
  }
}

void RecentSources::Touch(const SourceKey& key, int64_t now_ms) {
  uint64_t h = Hash(key);
  size_t pos = Slot(key, h);
  if (index_[pos] != 0) {
    uint32_t e = index_[pos] - 1;
    entries_[e].seen_ms = now_ms;
    if (head_ != e) {
      Unlink(e);
      PushFront(e);
    }
    return;
  }
  uint32_t e;
  if (count_ < entries_.size()) {
    e = (uint32_t)count_++;
  } else {
    e = tail_;  // the least recently seen source makes room
    Unlink(e);
    EraseAt(Slot(entries_[e].key, entries_[e].hash));
    pos = Slot(key, h);  // the erase may have moved the run
  }
  entries_[e].key = key;
  entries_[e].hash = h;
  entries_[e].seen_ms = now_ms;
  index_[pos] = e + 1;
  PushFront(e);
}

}  // namespace rk
