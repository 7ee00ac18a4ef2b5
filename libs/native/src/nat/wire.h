// Reading and writing the NAT engine's frames: the Ethernet header's length
// and big-endian (network order) fields at any alignment.
#pragma once
#include <stddef.h>
#include <stdint.h>

namespace rk {

constexpr size_t kEth = 14;

inline uint16_t Be16(const uint8_t* p) { return (uint16_t)(p[0] << 8 | p[1]); }
inline void PutBe16(uint8_t* p, uint16_t v) {
  p[0] = (uint8_t)(v >> 8);
  p[1] = (uint8_t)v;
}
inline uint32_t Be32(const uint8_t* p) { return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }
inline void PutBe32(uint8_t* p, uint32_t v) {
  PutBe16(p, (uint16_t)(v >> 16));
  PutBe16(p + 2, (uint16_t)v);
}

}  // namespace rk
