// UDP tunnel GSO frames from the tap (TUN_F_UDP_TUNNEL_GSO, Linux 6.17+).
//
// A VXLAN or Geneve device inside the namespace (Docker's overlay networks)
// encapsulates the 64 KiB TCP super-segments its containers send. Without
// this offload the kernel cuts each into MTU-sized datagrams before the tap,
// and the engine reads them one by one; with it, the whole super-segment
// arrives in one read, and is cut up here, in the sandboxed engine:
//   [Eth][outer IP][outer UDP][tunnel header, inner Eth][inner IP][TCP][payload]
// becomes one frame per gso_size bytes of payload, with the outer and inner
// IP lengths, IPv4 ids and checksums, the UDP length, the TCP sequence
// number, flags and checksum of each segment as the kernel's own
// segmentation would have made them. The outer UDP checksum is left 0 for an
// IPv4 outer header (the datagram's payload is what leaves the engine; the
// host's socket sums it again), computed for IPv6.
// Only inner TCP (IPv4 or IPv6) is taken: the engine does not ask for UDP
// segmentation offloads, so the kernel never hands it other inner types.
// Everything in the header and the frame is checked first: a frame the
// namespace's root crafted (AF_PACKET with a virtio-net header) that does not
// add up is dropped whole.
#pragma once
#include <stddef.h>
#include <stdint.h>

#include <vector>

#include "nat/slirp_frame.h"

namespace rk {

constexpr unsigned kTunFUdpTunnelGso = 0x080, kTunFUdpTunnelGsoCsum = 0x100;  // TUNSETOFFLOAD bits
constexpr int kMaxTunnelSegments = 512;  // gso_size is at least 128 below

class TunnelGsoSplitter {
 public:
  TunnelGsoSplitter();
  // Splits frame f (len bytes, after the header h) into segments. For each,
  // emit(frame, len) is called with a buffer that stays valid only during the
  // call. Returns the number of segments, or -1 (nothing emitted) when the
  // frame is malformed or of a type not handled.
  template <typename Emit>
  int Split(const VnetTnlHdr& h, const uint8_t* f, size_t len, Emit emit) {
    Layout l;
    if (!Check(h, f, len, &l)) return -1;
    for (int k = 0; k < l.segments; k++) {
      size_t n = Build(f, l, k);
      emit(seg_.data(), n);
    }
    return l.segments;
  }

  // The frame's layout once checked (offsets from the frame's start).
  struct Layout {
    bool outer6 = false, inner6 = false;
    size_t outer_th = 0;  // outer UDP header
    size_t inner_nh = 0;  // inner IP header
    size_t inner_th = 0;  // TCP header
    size_t headers = 0;   // everything up to the TCP payload
    size_t payload = 0;   // TCP payload bytes in the frame
    size_t mss = 0;       // payload bytes per segment
    int segments = 0;
  };
  static bool Check(const VnetTnlHdr& h, const uint8_t* f, size_t len, Layout* l);

 private:
  size_t Build(const uint8_t* f, const Layout& l, int k);
  std::vector<uint8_t> seg_;
};

}  // namespace rk
