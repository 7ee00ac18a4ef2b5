#include "nat/udp_fast.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "nat/slirp_csum.h"

namespace rk {

namespace {

constexpr size_t kEth = 14;

uint16_t Be16(const uint8_t* p) { return (uint16_t)(p[0] << 8 | p[1]); }

}  // namespace

UdpFastPath::UdpFastPath(const UdpFastConfig& c) : cfg_(c), slots_((size_t)kFastBatch * kFastSlot) {
  flows_.reserve(cfg_.max_flows);
  memset(msgs_, 0, sizeof msgs_);
}

// ip: the IPv4 header; avail: bytes from it to the frame's end.
bool UdpFastPath::Eligible(const uint8_t* ip, size_t avail, uint32_t* dst, uint64_t* key) const {
  if (avail < 28 || ip[0] != 0x45 || ip[9] != IPPROTO_UDP) return false;  // IPv4, no options, UDP
  if ((Be16(ip + 6) & 0x3fff) != 0) return false;                        // a fragment
  size_t total = Be16(ip + 2);
  if (total < 28 || total > avail || Be16(ip + 24) != total - 20) return false;
  memcpy(dst, ip + 16, 4);
  uint32_t d = *dst;
  const uint8_t* db = ip + 16;
  if (db[0] == 0 || db[0] == 127 || db[0] >= 224) return false;  // this host, loopback, multicast, broadcast
  if ((d & cfg_.netmask) == cfg_.network) {
    // In the virtual network only the gateway is forwarded as is (to the
    // host's loopback); DNS, DHCP and the rest are libslirp's own.
    if (d != cfg_.gateway || cfg_.disable_host_loopback) return false;
    *dst = htonl(INADDR_LOOPBACK);
  }
  // libslirp drops a datagram whose checksum is wrong; we must not send it.
  if (ip[26] != 0 || ip[27] != 0) {
    uint64_t sum = CsumAdd(ip + 12, 8, 0);
    sum += htons(IPPROTO_UDP);
    sum += htons((uint16_t)(total - 20));
    if (CsumFold(CsumAdd(ip + 20, total - 20, sum)) != 0xffff) return false;
  }
  uint32_t src;
  memcpy(&src, ip + 12, 4);
  uint16_t sport;
  memcpy(&sport, ip + 20, 2);
  *key = (uint64_t)src << 16 | sport;
  return true;
}

bool UdpFastPath::Offer(const uint8_t* f, size_t len, int64_t now_ms) {
  expect_ = false;
  if (len < kEth + 28 || Be16(f + 12) != 0x0800) return false;
  const uint8_t* ip = f + kEth;
  uint32_t dst;
  uint64_t key;
  if (!Eligible(ip, len - kEth, &dst, &key)) return false;
  auto it = flows_.find(key);
  if (it == flows_.end()) {
    // libslirp's socket for this source, if it opens one now, is the flow's.
    expect_ = true;
    expect_key_ = key;
    expect_ms_ = now_ms;
    return false;
  }
  Flow& fl = it->second;
  if (now_ms - fl.slirp_ms >= kRefreshMs) {
    fl.slirp_ms = now_ms;
    return false;
  }
  size_t total = Be16(ip + 2);
  uint16_t dport;
  memcpy(&dport, ip + 22, 2);
  Queue(fl.fd, ip + 28, total - 28, dst, dport);
  return true;
}

void UdpFastPath::SocketOpened(int fd) {
  if (fd < 0) return;
  SocketClosed(fd);  // a number reused without our seeing the close
  if (!expect_) return;
  expect_ = false;
  int type = 0;
  socklen_t tl = sizeof type;
  if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) < 0 || type != SOCK_DGRAM) return;
  sockaddr_storage local;
  socklen_t ll = sizeof local;
  if (getsockname(fd, (sockaddr*)&local, &ll) < 0 || local.ss_family != AF_INET) return;
  if (flows_.size() >= cfg_.max_flows) {
    if (!full_logged_) {
      full_logged_ = true;
      line_ = "UDP fast path: flow budget " + std::to_string(cfg_.max_flows) +
              " reached, further UDP flows take libslirp's slower path";
    }
    return;
  }
  if ((size_t)fd >= key_of_fd_.size()) key_of_fd_.resize((size_t)fd + 64, 0);
  key_of_fd_[fd] = expect_key_ + 1;
  flows_[expect_key_] = Flow{fd, expect_ms_};
  ctr_.flows = flows_.size();
}

void UdpFastPath::SocketClosed(int fd) {
  if (fd < 0 || (size_t)fd >= key_of_fd_.size() || key_of_fd_[fd] == 0) return;
  if (batch_fd_ == fd) Flush();
  flows_.erase(key_of_fd_[fd] - 1);
  key_of_fd_[fd] = 0;
  ctr_.flows = flows_.size();
  if (full_logged_ && flows_.size() < cfg_.max_flows - cfg_.max_flows / 10) full_logged_ = false;
}

bool UdpFastPath::TakeLogLine(std::string* line) {
  if (line_.empty()) return false;
  line->swap(line_);
  line_.clear();
  return true;
}

void UdpFastPath::SendOne(int fd, const uint8_t* payload, size_t n, const sockaddr_in& to) {
  ssize_t w;
  do w = sendto(fd, payload, n, 0, (const sockaddr*)&to, sizeof to); while (w < 0 && errno == EINTR);
  if (w < 0) ctr_.dropped++;
  else ctr_.packets++;
}

void UdpFastPath::Queue(int fd, const uint8_t* payload, size_t n, uint32_t dst, uint16_t dport) {
  sockaddr_in to;
  memset(&to, 0, sizeof to);
  to.sin_family = AF_INET;
  to.sin_addr.s_addr = dst;
  to.sin_port = dport;
  if (fd != batch_fd_ || nbatch_ == kFastBatch || n > kFastSlot) Flush();
  if (n > kFastSlot) {
    SendOne(fd, payload, n, to);
    return;
  }
  batch_fd_ = fd;
  uint8_t* slot = slots_.data() + (size_t)nbatch_ * kFastSlot;
  memcpy(slot, payload, n);
  to_[nbatch_] = to;
  iov_[nbatch_] = {slot, n};
  msghdr& h = msgs_[nbatch_].msg_hdr;
  memset(&h, 0, sizeof h);
  h.msg_name = &to_[nbatch_];
  h.msg_namelen = sizeof to;
  h.msg_iov = &iov_[nbatch_];
  h.msg_iovlen = 1;
  nbatch_++;
}

void UdpFastPath::Flush() {
  int i = 0;
  while (i < nbatch_) {
    int r = sendmmsg(batch_fd_, msgs_ + i, (unsigned)(nbatch_ - i), 0);
    if (r < 0 && errno == EINTR) continue;
    ctr_.batches++;
    if (r < 0 && errno == EAGAIN) {
      // The socket's buffer is full: the rest is lost, as on a busy link.
      ctr_.dropped += (uint64_t)(nbatch_ - i);
      break;
    }
    if (r <= 0) {
      // The first one failed (an error a peer's ICMP left, a refused
      // address): drop it, like a lost datagram.
      ctr_.dropped++;
      i++;
      continue;
    }
    ctr_.packets += (uint64_t)r;
    i += r;
  }
  nbatch_ = 0;
  batch_fd_ = -1;
}

}  // namespace rk
