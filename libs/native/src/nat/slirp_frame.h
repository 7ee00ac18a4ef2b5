// What the NAT engine does to an Ethernet frame between the tap and
// libslirp, without libslirp knowing:
// - virtio-net headers (IFF_VNET_HDR): a frame from the namespace may carry a
//   partial checksum (CSUM offload) or be one 64 KiB TCP super-segment (TSO);
//   the checksum is completed here, since libslirp verifies every checksum.
//   Frames to the namespace carry "checksum valid", and a TCP segment larger
//   than the link MTU goes out as one GSO frame that the kernel cuts up (the
//   namespace's TCP sees what GRO would have made of MSS-sized segments).
// - MSS clamp: libslirp does no TCP window scaling, so its window is 64 KiB;
//   at a link MTU near 64 KiB one segment would fill it (stop and wait). Its
//   SYNs offer the namespace a smaller MSS, so that several segments fit in
//   the window (with TSO they still leave as 64 KiB frames).
// - DNS redirection: the namespace's DNS address (port 53, UDP and TCP) is
//   translated to another address and port, and replies back, statelessly.
#pragma once
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

namespace rk {

// struct virtio_net_hdr (linux/virtio_net.h cannot be included from C++: it
// has a field named "class"), little-endian as tun uses it on this host.
struct VnetHdr {
  uint8_t flags;
  uint8_t gso_type;
  uint16_t hdr_len;      // Ethernet + IP + TCP headers
  uint16_t gso_size;     // payload bytes per segment
  uint16_t csum_start;   // where the checksummed data starts
  uint16_t csum_offset;  // where the checksum goes, from csum_start
};
constexpr uint8_t kVnetNeedsCsum = 1, kVnetDataValid = 2;
constexpr uint8_t kGsoNone = 0, kGsoTcp4 = 1, kGsoTcp6 = 4;

// The header when the tap also takes UDP tunnel GSO (TUN_F_UDP_TUNNEL_GSO,
// Linux 6.17+; see tunnel_gso.h): struct virtio_net_hdr_v1_hash_tunnel, 24
// bytes. A frame of that kind has kGsoUdpTunnel4/6 in gso_type beside the
// inner type, and says where its outer UDP and inner IP headers are. Frames
// we write leave the extra fields 0.
struct VnetTnlHdr {
  VnetHdr base;
  uint16_t num_buffers;
  uint32_t hash_value;
  uint16_t hash_report;
  uint16_t padding;
  uint16_t outer_th_offset;
  uint16_t inner_nh_offset;
};
static_assert(sizeof(VnetHdr) == 10 && sizeof(VnetTnlHdr) == 24, "virtio-net header layouts");
constexpr uint8_t kGsoUdpTunnel4 = 0x20, kGsoUdpTunnel6 = 0x40, kGsoEcn = 0x80;

struct FrameRules {
  int mtu = 1500;              // the namespace's link MTU
  bool vnet_hdr = false;       // frames carry a VnetHdr first
  size_t vnet_len = 10;        // of that many bytes (24: a VnetTnlHdr)
  int slirp_mtu = 1500;        // libslirp's if_mtu/if_mru
  // DNS: (dns_addr, 53) seen by the namespace <-> (dns_target, dns_target_port)
  // seen by libslirp. Network byte order. Off when dns_nat is false.
  bool dns_nat = false;
  uint32_t dns_addr = 0;
  uint32_t dns_target = 0;
  uint16_t dns_target_port = 0;
  // TCP MSS that libslirp's SYNs offer the namespace at most (0: as they are).
  uint16_t mss_clamp = 0;
};

// Prepares a frame read from the tap (hdr: its virtio-net header, or null)
// for slirp_input, in place. Returns false when the frame must be dropped.
bool InboundFrame(const FrameRules& rules, const VnetHdr* hdr, uint8_t* frame, size_t len);

// A frame for the tap, as an iovec: [virtio-net header] [patched headers] [rest].
struct OutboundFrame {
  VnetTnlHdr vh;  // vh.base filled, the rest 0; rules.vnet_len bytes written
  uint8_t head[192];
  iovec iov[3];
  int iovcnt = 0;
  bool gso = false;
};

// Builds the write for a frame libslirp sends to the namespace (frame is
// libslirp's buffer: copied from only where a header must change).
void BuildOutbound(const FrameRules& rules, const uint8_t* frame, size_t len, OutboundFrame* out);

}  // namespace rk
