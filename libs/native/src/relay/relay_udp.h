// UDP internals shared by relay_udp.cc (flows) and relay_udp_send.cc (sending).
#pragma once
#include <stdint.h>
#include <sys/socket.h>

#include <memory>

#include "relay/relay.h"

namespace rk {
namespace relay {

constexpr int kUdpBatch = 32;
constexpr size_t kMaxDatagram = 65536;
// A GSO train: at most this many bytes and datagrams in one sendmsg.
constexpr size_t kTrainBytes = 65000;
constexpr int kTrainMax = 64;

// A worker's batch buffers: kUdpBatch messages received with recvmmsg
// (msgs[i] points at iov[i], which points into data), and the bytes of one
// GSO train. A message from a listener may hold a train itself (UDP_GRO):
// seg[i] is then the size of its datagrams (the last may be shorter), else 0.
struct UdpBufs {
  mmsghdr msgs[kUdpBatch];
  uint16_t seg[kUdpBatch];
  iovec iov[kUdpBatch];
  sockaddr_storage names[kUdpBatch];
  alignas(cmsghdr) char ctrl[kUdpBatch][64];
  std::unique_ptr<char[]> data{new char[kUdpBatch * kMaxDatagram]};
  char train[kTrainBytes];
};

// Sends the received datagrams msgs[a, b) (msg_len bytes each; a message
// with seg[i] set is a train of datagrams of that size) on fd, to `to`
// (nullptr: the socket is connected), with optional control bytes (a
// pktinfo). Runs of equal-size datagrams go as one GSO train (UDP_SEGMENT):
// one pass through the stack instead of one per datagram, boundaries and
// order kept. *gso is cleared when fd's path cannot take trains (then
// sendmmsg). A datagram that cannot be sent is dropped, as UDP allows.
// Returns the number of datagrams sent.
int SendDatagrams(UdpBufs* u, int fd, int a, int b, const sockaddr_storage* to, socklen_t tolen, const char* ctrl,
                  size_t ctrl_len, bool* gso);

}  // namespace relay
}  // namespace rk
