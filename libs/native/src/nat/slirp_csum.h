// Internet checksums (RFC 1071) for the NAT engine's frame fix-ups: summing
// a payload, folding, and updating a checksum after a field changed
// (RFC 1624). Sums are taken over bytes as they sit in memory, so they need
// no byte swapping and a result is stored back as is.
#pragma once
#include <stddef.h>
#include <stdint.h>

namespace rk {

// Adds the 16-bit words of p[0..len) to sum (an odd tail byte is padded with
// zero, as the RFC says). The result is unfolded: pass it on or fold it.
uint64_t CsumAdd(const uint8_t* p, size_t len, uint64_t sum);

// The TCP/UDP pseudo-header of the IPv4 (v6 false) or IPv6 header at ip,
// for an L4 segment of len bytes and protocol proto: a sum to pass on.
uint64_t CsumPseudo(const uint8_t* ip, bool v6, uint8_t proto, size_t len);

// Folds a sum into 16 bits (not complemented).
uint16_t CsumFold(uint64_t sum);

// The checksum field value for a complete sum: ~fold(sum).
inline uint16_t CsumFinish(uint64_t sum) { return (uint16_t)~CsumFold(sum); }

// Updates checksum field *check in place after len bytes (even) of the
// covered data changed from old_bytes to new_bytes.
void CsumReplace(uint8_t* check, const void* old_bytes, const void* new_bytes, size_t len);

}  // namespace rk
