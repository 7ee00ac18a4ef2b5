#include "nat/udp_fast.h"

#include <errno.h>
#include <string.h>
#include <netinet/udp.h>
#include <sys/socket.h>

#include "nat/slirp_csum.h"
#include "nat/wire.h"

namespace rk {

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
    if (CsumFold(CsumAdd(ip + 20, total - 20, CsumPseudo(ip, false, IPPROTO_UDP, total - 20))) != 0xffff) return false;
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
  nbatch_++;
}

int UdpFastPath::BuildMessages() {
  int m = 0;
  for (int i = 0; i < nbatch_; m++) {
    size_t seg = iov_[i].iov_len, bytes = seg;
    int j = i + 1;
    // A run: same address, same size; the last one may be shorter.
    while (gso_ && seg > 0 && j < nbatch_ && j - i < kGsoMaxSegments && to_[j].sin_addr.s_addr == to_[i].sin_addr.s_addr &&
           to_[j].sin_port == to_[i].sin_port && iov_[j].iov_len <= seg && iov_[j].iov_len > 0 &&
           bytes + iov_[j].iov_len <= kGsoMaxBytes) {
      bytes += iov_[j].iov_len;
      if (iov_[j++].iov_len < seg) break;
    }
    msghdr& h = msgs_[m].msg_hdr;
    memset(&h, 0, sizeof h);
    h.msg_name = &to_[i];
    h.msg_namelen = sizeof(sockaddr_in);
    h.msg_iov = &iov_[i];
    h.msg_iovlen = (size_t)(j - i);
    if (j - i > 1) {
      memset(&ctl_[m], 0, sizeof ctl_[m]);
      h.msg_control = ctl_[m].bytes;
      h.msg_controllen = sizeof ctl_[m].bytes;
      cmsghdr* cm = CMSG_FIRSTHDR(&h);
      cm->cmsg_level = SOL_UDP;
      cm->cmsg_type = UDP_SEGMENT;
      cm->cmsg_len = CMSG_LEN(sizeof(uint16_t));
      uint16_t gso_size = (uint16_t)seg;
      memcpy(CMSG_DATA(cm), &gso_size, sizeof gso_size);
    }
    first_[m] = i;
    count_[m] = j - i;
    i = j;
  }
  return m;
}

void UdpFastPath::Flush() {
  int nmsg = BuildMessages();
  int i = 0;
  while (i < nmsg) {
    int r = sendmmsg(batch_fd_, msgs_ + i, (unsigned)(nmsg - i), 0);
    if (r < 0 && errno == EINTR) continue;
    ctr_.batches++;
    if (r > 0) {
      for (int k = i; k < i + r; k++) {
        ctr_.packets += (uint64_t)count_[k];
        if (count_[k] > 1) ctr_.gso++;
      }
      i += r;
      continue;
    }
    if (errno == EAGAIN) {
      // The socket's buffer is full: the rest is lost, as on a busy link.
      for (int k = i; k < nmsg; k++) ctr_.dropped += (uint64_t)count_[k];
      break;
    }
    if (count_[i] > 1 && (errno == EINVAL || errno == EIO || errno == EMSGSIZE || errno == ENOPROTOOPT)) {
      // The kernel refused the run as one (a path MTU below its size, no
      // checksum offload): one by one, and GSO off after a few of those.
      if (++gso_failures_ >= kGsoFailures) gso_ = false;
      for (int k = first_[i]; k < first_[i] + count_[i]; k++) {
        SendOne(batch_fd_, static_cast<const uint8_t*>(iov_[k].iov_base), iov_[k].iov_len, to_[k]);
      }
    } else {
      // An error a peer's ICMP left, a refused address: those datagrams
      // are lost.
      ctr_.dropped += (uint64_t)count_[i];
    }
    i++;
  }
  nbatch_ = 0;
  batch_fd_ = -1;
}

}  // namespace rk
