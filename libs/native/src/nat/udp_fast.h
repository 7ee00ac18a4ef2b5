// The NAT engine's UDP fast path: datagrams of an outbound UDP flow that
// libslirp already has a host socket for leave through that very socket with
// sendmmsg, in batches, instead of one slirp_input + sendto each.
// - A flow is libslirp's: its socket is the one libslirp opens (and registers
//   with us) while it handles the flow's first datagram; libslirp keeps
//   polling it, so replies, ICMP errors and expiry stay libslirp's. The host
//   port a peer sees is the same whichever path a datagram takes.
// - Only what libslirp would just forward: IPv4 without options, whole, with
//   a right checksum, to a unicast address outside the virtual network, or
//   to the gateway (the host's loopback, unless that is disabled). DNS, DHCP,
//   broadcast, multicast and everything else take libslirp's path.
// - One datagram of each flow every kRefreshMs still goes through libslirp,
//   which keeps its idle timer (240 s) from closing a busy flow's socket.
// - Budget: at most kMaxFastFlows flows (past it, new flows stay on
//   libslirp's path; one log line); a flow ends when libslirp closes its
//   socket. The frame filter runs before the fast path, unchanged.
// Frames are taken in the order they came: the engine flushes the batch
// before it hands anything to libslirp. In the batch, consecutive datagrams
// to the same address with the same size (the last of a run may be shorter)
// leave as one UDP GSO send (UDP_SEGMENT) that the kernel cuts up; a run the
// kernel refuses (a path MTU below the size) goes out one by one, and after
// kGsoFailures such refusals GSO is no longer tried.
#pragma once
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <string>
#include <unordered_map>
#include <vector>

namespace rk {

constexpr size_t kMaxFastFlows = 1024;
constexpr int64_t kRefreshMs = 10000;
constexpr int kFastBatch = 64;
constexpr size_t kFastSlot = 2048;  // datagrams up to this size are batched; bigger ones go alone
constexpr int kGsoMaxSegments = 64;  // what every kernel with UDP GSO takes
constexpr size_t kGsoMaxBytes = 65000;
constexpr int kGsoFailures = 8;

struct UdpFastConfig {
  uint32_t network = 0, netmask = 0;  // the virtual network (network byte order)
  uint32_t gateway = 0;               // maps to 127.0.0.1 unless disable_host_loopback
  bool disable_host_loopback = false;
  size_t max_flows = kMaxFastFlows;
};

struct UdpFastCounters {
  uint64_t packets = 0;   // datagrams sent by the fast path
  uint64_t batches = 0;   // sendmmsg calls
  uint64_t dropped = 0;   // datagrams the host socket refused (EAGAIN, errors)
  uint64_t flows = 0;     // flows known now (gauge)
  uint64_t gso = 0;       // of the sends, UDP GSO ones (several datagrams each)
};

class UdpFastPath {
 public:
  explicit UdpFastPath(const UdpFastConfig& c);

  // A frame that passed the frame filter (Ethernet, checksums complete).
  // True: queued for sending (the caller is done with it; the bytes were
  // copied). False: it goes to libslirp; if the frame starts a flow, the
  // socket libslirp registers while handling it becomes the flow's
  // (SocketOpened).
  bool Offer(const uint8_t* frame, size_t len, int64_t now_ms);
  // Sends what is queued.
  void Flush();
  // libslirp's socket callbacks.
  void SocketOpened(int fd);
  void SocketClosed(int fd);
  // Call after libslirp handled a frame Offer refused (ends the window in
  // which an opened socket is that frame's flow's).
  void SlirpDone() { expect_ = false; }

  const UdpFastCounters& counters() const { return ctr_; }
  bool TakeLogLine(std::string* line);

 private:
  struct Flow {
    int fd;
    int64_t slirp_ms;  // when a datagram of it last went through libslirp
  };
  bool Eligible(const uint8_t* ip, size_t avail, uint32_t* dst, uint64_t* key) const;
  void Queue(int fd, const uint8_t* payload, size_t n, uint32_t dst, uint16_t dport);
  void SendOne(int fd, const uint8_t* payload, size_t n, const sockaddr_in& to);
  int BuildMessages();  // groups the queue into msgs_, returns how many

  UdpFastConfig cfg_;
  UdpFastCounters ctr_;
  std::unordered_map<uint64_t, Flow> flows_;  // (guest address, port) -> flow
  std::vector<uint64_t> key_of_fd_;           // by fd: the key + 1, or 0
  bool expect_ = false;
  uint64_t expect_key_ = 0;
  int64_t expect_ms_ = 0;
  bool full_logged_ = false;
  std::string line_;

  int batch_fd_ = -1;
  int nbatch_ = 0;
  std::vector<uint8_t> slots_;
  mmsghdr msgs_[kFastBatch];
  iovec iov_[kFastBatch];
  sockaddr_in to_[kFastBatch];
  int first_[kFastBatch];  // by message: its first queued datagram
  int count_[kFastBatch];  // by message: how many datagrams
  union Control {
    cmsghdr align;
    uint8_t bytes[CMSG_SPACE(sizeof(uint16_t))];
  } ctl_[kFastBatch];
  bool gso_ = true;
  int gso_failures_ = 0;
};

}  // namespace rk
