#include "nat/tunnel_gso.h"

#include <endian.h>
#include <netinet/in.h>
#include <string.h>

#include "nat/slirp_csum.h"
#include "nat/wire.h"

namespace rk {

namespace {

// An IPv4 header of ihl bytes at ip: total length, id and checksum.
void FixIp4(uint8_t* ip, size_t ihl, size_t total, uint16_t id) {
  PutBe16(ip + 2, (uint16_t)total);
  PutBe16(ip + 4, id);
  ip[10] = ip[11] = 0;
  uint16_t c = CsumFinish(CsumAdd(ip, ihl, 0));
  memcpy(ip + 10, &c, 2);
}

// The TCP/UDP checksum of the len bytes at l4, with the pseudo-header of the
// IP header at ip.
uint16_t L4Sum(const uint8_t* ip, bool v6, uint8_t proto, const uint8_t* l4, size_t len) {
  return CsumFinish(CsumAdd(l4, len, CsumPseudo(ip, v6, proto, len)));
}

// Checks an IP header at off (IPv4 or IPv6 as v6 says) carrying proto, whole
// (no IPv4 fragment, no IPv6 extension header). Sets *l4 to its end.
bool CheckIp(const uint8_t* f, size_t len, size_t off, bool v6, uint8_t proto, size_t* l4) {
  const uint8_t* ip = f + off;
  if (v6) {
    if (off + 40 > len || (ip[0] >> 4) != 6 || ip[6] != proto) return false;
    *l4 = off + 40;
    return true;
  }
  if (off + 20 > len || (ip[0] >> 4) != 4 || ip[9] != proto) return false;
  size_t ihl = (size_t)(ip[0] & 15) * 4;
  if (ihl < 20 || off + ihl > len) return false;
  if ((Be16(ip + 6) & 0x3fff) != 0) return false;  // a fragment
  *l4 = off + ihl;
  return true;
}

}  // namespace

TunnelGsoSplitter::TunnelGsoSplitter() : seg_(65536 + 64) {}

bool TunnelGsoSplitter::Check(const VnetTnlHdr& h, const uint8_t* f, size_t len, Layout* l) {
  uint8_t tunnel = h.base.gso_type & (kGsoUdpTunnel4 | kGsoUdpTunnel6);
  uint8_t inner = h.base.gso_type & (uint8_t)~(kGsoUdpTunnel4 | kGsoUdpTunnel6 | kGsoEcn);
  if (tunnel != kGsoUdpTunnel4 && tunnel != kGsoUdpTunnel6) return false;
  if (inner != kGsoTcp4 && inner != kGsoTcp6) return false;
  l->outer6 = tunnel == kGsoUdpTunnel6;
  l->inner6 = inner == kGsoTcp6;
  if (len < kEth || Be16(f + 12) != (l->outer6 ? 0x86dd : 0x0800)) return false;
  if (!CheckIp(f, len, kEth, l->outer6, IPPROTO_UDP, &l->outer_th)) return false;
  if (l->outer_th != le16toh(h.outer_th_offset) || l->outer_th + 8 > len) return false;
  l->inner_nh = le16toh(h.inner_nh_offset);
  if (l->inner_nh < l->outer_th + 8) return false;
  if (!CheckIp(f, len, l->inner_nh, l->inner6, IPPROTO_TCP, &l->inner_th)) return false;
  if (l->inner_th + 20 > len) return false;
  size_t doff = (size_t)(f[l->inner_th + 12] >> 4) * 4;
  if (doff < 20) return false;
  l->headers = l->inner_th + doff;
  if (l->headers >= len) return false;
  l->payload = len - l->headers;
  l->mss = le16toh(h.base.gso_size);
  if (l->mss == 0 || l->headers + l->mss > 65535) return false;
  size_t segments = (l->payload + l->mss - 1) / l->mss;
  if (segments > (size_t)kMaxTunnelSegments) return false;
  l->segments = (int)segments;
  return true;
}

size_t TunnelGsoSplitter::Build(const uint8_t* f, const Layout& l, int k) {
  size_t off = (size_t)k * l.mss;
  size_t n = l.payload - off < l.mss ? l.payload - off : l.mss;
  size_t total = l.headers + n;
  uint8_t* s = seg_.data();
  memcpy(s, f, l.headers);
  memcpy(s + l.headers, f + l.headers + off, n);

  // Inner IP, then TCP (its pseudo-header reads the inner addresses).
  uint8_t* iip = s + l.inner_nh;
  if (l.inner6) PutBe16(iip + 4, (uint16_t)(total - l.inner_nh - 40));
  else FixIp4(iip, l.inner_th - l.inner_nh, total - l.inner_nh, (uint16_t)(Be16(f + l.inner_nh + 4) + k));
  uint8_t* th = s + l.inner_th;
  PutBe32(th + 4, Be32(f + l.inner_th + 4) + (uint32_t)off);
  if (k != l.segments - 1) th[13] &= (uint8_t)~0x09;  // FIN, PSH: the last segment's
  if (k != 0) th[13] &= (uint8_t)~0x80;                // CWR: the first's
  th[16] = th[17] = 0;
  uint16_t tc = L4Sum(iip, l.inner6, IPPROTO_TCP, th, total - l.inner_th);
  memcpy(th + 16, &tc, 2);

  // Outer IP and UDP.
  uint8_t* oip = s + kEth;
  if (l.outer6) PutBe16(oip + 4, (uint16_t)(total - kEth - 40));
  else FixIp4(oip, l.outer_th - kEth, total - kEth, (uint16_t)(Be16(f + kEth + 4) + k));
  uint8_t* uh = s + l.outer_th;
  PutBe16(uh + 4, (uint16_t)(total - l.outer_th));
  uh[6] = uh[7] = 0;
  if (l.outer6) {
    uint16_t uc = L4Sum(oip, true, IPPROTO_UDP, uh, total - l.outer_th);
    if (uc == 0) uc = 0xffff;
    memcpy(uh + 6, &uc, 2);
  }
  return total;
}

}  // namespace rk
