#include "nat/slirp_csum.h"

#include <netinet/in.h>
#include <string.h>

namespace rk {

uint64_t CsumAdd(const uint8_t* p, size_t len, uint64_t sum) {
  // 32-bit words into a 64-bit accumulator: a 64 KiB frame cannot overflow
  // it, and 2^16 == 1 in ones'-complement arithmetic, so folding later gives
  // the sum of the 16-bit words. Four accumulators keep the adds independent.
  uint64_t a = sum, b = 0, c = 0, d = 0;
  while (len >= 32) {
    uint32_t w[8];
    memcpy(w, p, 32);
    a += (uint64_t)w[0] + w[4];
    b += (uint64_t)w[1] + w[5];
    c += (uint64_t)w[2] + w[6];
    d += (uint64_t)w[3] + w[7];
    p += 32;
    len -= 32;
  }
  a += b + c + d;
  while (len >= 4) {
    uint32_t w;
    memcpy(&w, p, 4);
    a += w;
    p += 4;
    len -= 4;
  }
  if (len >= 2) {
    uint16_t h;
    memcpy(&h, p, 2);
    a += h;
    p += 2;
    len -= 2;
  }
  if (len) {
    uint8_t tail[2] = {p[0], 0};
    uint16_t h;
    memcpy(&h, tail, 2);
    a += h;
  }
  return a;
}

uint64_t CsumPseudo(const uint8_t* ip, bool v6, uint8_t proto, size_t len) {
  // IPv6's length is 32 bits; summed as its two 16-bit halves.
  uint64_t sum = v6 ? CsumAdd(ip + 8, 32, 0) : CsumAdd(ip + 12, 8, 0);
  return sum + htons(proto) + htons((uint16_t)(len >> 16)) + htons((uint16_t)len);
}

uint16_t CsumFold(uint64_t sum) {
  sum = (sum & 0xffffffffu) + (sum >> 32);
  sum = (sum & 0xffffffffu) + (sum >> 32);
  sum = (sum & 0xffffu) + (sum >> 16);
  sum = (sum & 0xffffu) + (sum >> 16);
  sum = (sum & 0xffffu) + (sum >> 16);
  return (uint16_t)sum;
}

void CsumReplace(uint8_t* check, const void* old_bytes, const void* new_bytes, size_t len) {
  // RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m'), word by word.
  uint16_t hc;
  memcpy(&hc, check, 2);
  uint64_t sum = (uint16_t)~hc;
  const uint8_t* o = static_cast<const uint8_t*>(old_bytes);
  const uint8_t* n = static_cast<const uint8_t*>(new_bytes);
  for (size_t i = 0; i + 1 < len; i += 2) {
    uint16_t ow, nw;
    memcpy(&ow, o + i, 2);
    memcpy(&nw, n + i, 2);
    sum += (uint16_t)~ow;
    sum += nw;
  }
  uint16_t out = (uint16_t)~CsumFold(sum);
  memcpy(check, &out, 2);
}

}  // namespace rk
