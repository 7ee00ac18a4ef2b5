// The monotonic clock, for timeouts and expiry everywhere in the addon and
// the engine (never the wall clock: it jumps).
#pragma once
#include <stdint.h>
#include <time.h>

namespace rk {

inline int64_t MonotonicNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

inline int64_t NowMs() { return MonotonicNs() / 1000000; }

}  // namespace rk
