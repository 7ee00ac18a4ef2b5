#include "nat/slirp_frame.h"

#include <endian.h>
#include <netinet/in.h>
#include <string.h>

#include "nat/slirp_csum.h"
#include "nat/wire.h"

namespace rk {

namespace {

// Where the headers of an IPv4/IPv6 TCP or UDP frame are.
struct Packet {
  int family = 0;     // 4, 6, or 0 (something else)
  size_t l3len = 0;   // IP header length
  int proto = -1;     // IPPROTO_TCP, IPPROTO_UDP, or other
  size_t l4 = 0;      // offset of the TCP/UDP header in the frame
  size_t l4len = 0;   // its length
  size_t ip_payload = 0;  // bytes after the IP header, as the IP header says
  bool whole = true;  // not an IPv4 fragment
};

bool Parse(const uint8_t* f, size_t len, Packet* p) {
  if (len < kEth + 20) return false;
  uint16_t type = Be16(f + 12);
  const uint8_t* ip = f + kEth;
  if (type == 0x0800 && (ip[0] >> 4) == 4) {
    size_t ihl = (size_t)(ip[0] & 15) * 4;
    size_t total = Be16(ip + 2);
    if (ihl < 20 || total < ihl || kEth + total > len) return false;
    p->family = 4;
    p->l3len = ihl;
    p->proto = ip[9];
    p->ip_payload = total - ihl;
    uint16_t frag = Be16(ip + 6);
    p->whole = (frag & 0x3fff) == 0;
    if ((frag & 0x1fff) != 0) return true;  // a later fragment: no L4 header
  } else if (type == 0x86dd && len >= kEth + 40 && (ip[0] >> 4) == 6) {
    size_t payload = Be16(ip + 4);
    if (kEth + 40 + payload > len) return false;
    p->family = 6;
    p->l3len = 40;
    p->proto = ip[6];  // extension headers: treated as "other"
    p->ip_payload = payload;
  } else {
    return false;
  }
  p->l4 = kEth + p->l3len;
  if (p->proto == IPPROTO_TCP) {
    if (p->ip_payload < 20 || p->l4 + 20 > len) return false;
    p->l4len = (size_t)(f[p->l4 + 12] >> 4) * 4;
    if (p->l4len < 20 || p->l4len > p->ip_payload) return false;
  } else if (p->proto == IPPROTO_UDP) {
    if (p->ip_payload < 8) return false;
    p->l4len = 8;
  } else {
    p->l4len = 0;
  }
  return true;
}

bool IsTcpOrUdp(const Packet& p) {
  return p.family != 0 && p.l4len != 0 && (p.proto == IPPROTO_TCP || p.proto == IPPROTO_UDP);
}

// Writes n bytes at base+off and updates the checksum at `check`, which
// covers base (base is 16-bit aligned within the summed data).
void PatchField(uint8_t* base, size_t off, const void* value, size_t n, uint8_t* check) {
  size_t lo = off & ~(size_t)1, hi = (off + n + 1) & ~(size_t)1;
  uint8_t old_window[8], new_window[8];
  memcpy(old_window, base + lo, hi - lo);
  memcpy(new_window, old_window, hi - lo);
  memcpy(new_window + (off - lo), value, n);
  CsumReplace(check, old_window, new_window, hi - lo);
  memcpy(base + off, value, n);
}

uint8_t* L4Check(uint8_t* f, const Packet& p) { return f + p.l4 + (p.proto == IPPROTO_TCP ? 16 : 6); }

// Replaces an IPv4 address (at ip+addr_off) and a port (at l4+port_off),
// keeping the IP and TCP/UDP checksums right.
void Translate(uint8_t* f, const Packet& p, size_t addr_off, uint32_t addr, size_t port_off, uint16_t port) {
  uint8_t* ip = f + kEth;
  uint8_t* check = L4Check(f, p);
  bool udp_nosum = p.proto == IPPROTO_UDP && check[0] == 0 && check[1] == 0;
  if (!udp_nosum) {
    uint8_t old_addr[4];
    memcpy(old_addr, ip + addr_off, 4);
    CsumReplace(check, old_addr, &addr, 4);  // the pseudo-header
    PatchField(f + p.l4, port_off, &port, 2, check);
    if (p.proto == IPPROTO_UDP && check[0] == 0 && check[1] == 0) check[0] = check[1] = 0xff;
  } else {
    memcpy(f + p.l4 + port_off, &port, 2);
  }
  PatchField(ip, addr_off, &addr, 4, ip + 10);
}

// The offset of the MSS option's value in a TCP SYN, or 0.
size_t MssOption(const uint8_t* f, const Packet& p) {
  if (p.proto != IPPROTO_TCP || !(f[p.l4 + 13] & 0x02)) return 0;
  size_t i = p.l4 + 20, end = p.l4 + p.l4len;
  while (i < end) {
    uint8_t kind = f[i];
    if (kind == 0) break;  // end of options
    if (kind == 1) {       // padding
      i++;
      continue;
    }
    if (i + 1 >= end || f[i + 1] < 2 || i + f[i + 1] > end) break;
    if (kind == 2 && f[i + 1] == 4) return i + 2;
    i += f[i + 1];
  }
  return 0;
}

}  // namespace

bool InboundFrame(const FrameRules& r, const VnetHdr* h, uint8_t* f, size_t len) {
  if (h && (h->flags & kVnetNeedsCsum)) {
    size_t start = le16toh(h->csum_start), off = le16toh(h->csum_offset);
    if (start > len || off + 2 > len - start) return false;
    // The field holds the pseudo-header sum; the rest is ours to add.
    uint16_t c = CsumFinish(CsumAdd(f + start, len - start, 0));
    if (c == 0 && off == 6) c = 0xffff;  // UDP: 0 would mean "no checksum"
    memcpy(f + start + off, &c, 2);
  }
  if (!r.dns_nat) return true;
  Packet p;
  if (!Parse(f, len, &p) || !IsTcpOrUdp(p)) return true;
  if (p.family == 4) {
    uint32_t dst;
    memcpy(&dst, f + kEth + 16, 4);
    if (dst == r.dns_addr && Be16(f + p.l4 + 2) == 53) {
      Translate(f, p, 16, r.dns_target, 2, r.dns_target_port);
    }
  }
  return true;
}

void BuildOutbound(const FrameRules& r, const uint8_t* f, size_t len, OutboundFrame* out) {
  out->iovcnt = 0;
  out->gso = false;
  size_t head = 0;  // bytes of f copied into out->head (and patched there)
  Packet p;
  bool l4 = (r.vnet_hdr || r.dns_nat || r.mss_clamp) && Parse(f, len, &p) && IsTcpOrUdp(p);
  if (l4 && r.dns_nat && p.family == 4) {
    uint32_t src;
    memcpy(&src, f + kEth + 12, 4);
    uint16_t sport;
    memcpy(&sport, f + p.l4, 2);
    if (src == r.dns_target && sport == r.dns_target_port) {
      head = p.l4 + p.l4len;
      memcpy(out->head, f, head);
      Translate(out->head, p, 12, r.dns_addr, 0, htons(53));
    }
  }
  if (l4 && r.mss_clamp) {
    size_t at = MssOption(f, p);
    if (at && Be16(f + at) > r.mss_clamp) {
      if (!head) {
        head = p.l4 + p.l4len;
        memcpy(out->head, f, head);
      }
      uint16_t mss = htons(r.mss_clamp);
      PatchField(out->head + p.l4, at - p.l4, &mss, 2, L4Check(out->head, p));
    }
  }
  if (r.vnet_hdr) {
    memset(&out->vh, 0, sizeof out->vh);
    VnetHdr& vh = out->vh.base;
    if (l4 && p.whole) {
      size_t seg = (size_t)r.mtu > p.l3len + p.l4len ? (size_t)r.mtu - p.l3len - p.l4len : 0;
      if (p.proto == IPPROTO_TCP && len > kEth + (size_t)r.mtu && seg >= 64) {
        if (!head) {
          head = p.l4 + p.l4len;
          memcpy(out->head, f, head);
        }
        // GSO wants the pseudo-header sum in the field (CHECKSUM_PARTIAL).
        const uint8_t* ip = out->head + kEth;
        uint16_t pseudo = CsumFold(CsumPseudo(ip, p.family == 6, IPPROTO_TCP, p.ip_payload));
        memcpy(out->head + p.l4 + 16, &pseudo, 2);
        vh.flags = kVnetNeedsCsum;
        vh.gso_type = p.family == 4 ? kGsoTcp4 : kGsoTcp6;
        vh.hdr_len = htole16((uint16_t)head);
        vh.gso_size = htole16((uint16_t)seg);
        vh.csum_start = htole16((uint16_t)p.l4);
        vh.csum_offset = htole16(16);
        out->gso = true;
      } else {
        vh.flags = kVnetDataValid;  // libslirp summed it
      }
    }
    out->iov[out->iovcnt++] = {&out->vh, r.vnet_len};
  }
  if (head) out->iov[out->iovcnt++] = {out->head, head};
  out->iov[out->iovcnt++] = {const_cast<uint8_t*>(f) + head, len - head};
}

}  // namespace rk
