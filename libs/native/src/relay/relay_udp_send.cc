// Sending batches of datagrams: GSO trains (UDP_SEGMENT) where the kernel
// and path take them, sendmmsg otherwise. See relay_udp.h.
#include <errno.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <string.h>

#include <atomic>

#include "relay/relay_udp.h"

namespace rk {
namespace relay {

namespace {

// Cleared for good when the kernel does not know UDP_SEGMENT (before 4.18).
std::atomic<bool> g_kernel_gso{true};

// Packs datagrams i.. of one size (the last may be shorter) into u->train;
// returns how many, with *seg their size and *total the bytes packed.
int Pack(UdpBufs* u, int i, int b, size_t* seg, size_t* total) {
  *seg = u->msgs[i].msg_len;
  *total = 0;
  if (*seg == 0 || u->seg[i] != 0) return 0;
  int n = 0;
  for (; i < b && n < kTrainMax; i++, n++) {
    size_t len = u->msgs[i].msg_len;
    // an empty datagram cannot be a segment: it goes on its own
    if (u->seg[i] != 0 || len == 0 || len > *seg || *total + len > kTrainBytes) break;
    memcpy(u->train + *total, u->iov[i].iov_base, len);
    *total += len;
    if (len < *seg) {
      n++;
      break;
    }
  }
  return n;
}

// sendmmsg of msgs[i, b) as they are; returns how many went (the rest dropped).
int SendEach(UdpBufs* u, int fd, int i, int b, const sockaddr_storage* to, socklen_t tolen, const char* ctrl, size_t ctrl_len) {
  for (int k = i; k < b; k++) {
    msghdr& h = u->msgs[k].msg_hdr;
    u->iov[k].iov_len = u->msgs[k].msg_len;
    h.msg_name = const_cast<sockaddr_storage*>(to);
    h.msg_namelen = to ? tolen : 0;
    h.msg_control = ctrl_len ? const_cast<char*>(ctrl) : nullptr;
    h.msg_controllen = ctrl_len;
  }
  int sent = 0;
  int retries = 0;
  while (i < b) {
    int n = sendmmsg(fd, &u->msgs[i], (unsigned)(b - i), MSG_DONTWAIT);
    if (n > 0) {
      i += n;
      sent += n;
      continue;
    }
    if (errno == EINTR) continue;
    // ECONNREFUSED: an earlier datagram found no server (ICMP); this one may.
    if (errno == ECONNREFUSED && retries++ < 2) continue;
    i++;  // a full buffer or a failing target: lost, as UDP allows
  }
  return sent;
}

// One sendmsg of len bytes at data as datagrams of seg bytes (UDP_SEGMENT).
// Returns 0 or the errno (EINTR and a refused earlier datagram retried).
int SendTrain(int fd, const char* data, size_t len, uint16_t seg, const sockaddr_storage* to, socklen_t tolen, const char* ctrl,
              size_t ctrl_len) {
  alignas(cmsghdr) char cbuf[CMSG_SPACE(sizeof(in6_pktinfo)) + CMSG_SPACE(sizeof(uint16_t))];
  memset(cbuf, 0, sizeof cbuf);
  memcpy(cbuf, ctrl, ctrl_len);
  cmsghdr* cm = reinterpret_cast<cmsghdr*>(cbuf + ctrl_len);
  cm->cmsg_level = IPPROTO_UDP;
  cm->cmsg_type = UDP_SEGMENT;
  cm->cmsg_len = CMSG_LEN(sizeof(uint16_t));
  memcpy(CMSG_DATA(cm), &seg, sizeof seg);
  iovec iov = {const_cast<char*>(data), len};
  msghdr h{};
  h.msg_iov = &iov;
  h.msg_iovlen = 1;
  h.msg_name = const_cast<sockaddr_storage*>(to);
  h.msg_namelen = to ? tolen : 0;
  h.msg_control = cbuf;
  h.msg_controllen = ctrl_len + CMSG_SPACE(sizeof(uint16_t));
  ssize_t r;
  int retries = 0;
  do r = sendmsg(fd, &h, MSG_DONTWAIT);
  while (r < 0 && (errno == EINTR || (errno == ECONNREFUSED && retries++ < 2)));
  return r < 0 ? errno : 0;
}

// A received train (message k) one datagram at a time; returns how many went.
int SendPieces(UdpBufs* u, int fd, int k, const sockaddr_storage* to, socklen_t tolen, const char* ctrl, size_t ctrl_len) {
  const char* data = static_cast<const char*>(u->iov[k].iov_base);
  size_t len = u->msgs[k].msg_len, seg = u->seg[k];
  int sent = 0;
  for (size_t off = 0; off < len; off += seg) {
    iovec iov = {const_cast<char*>(data + off), len - off < seg ? len - off : seg};
    msghdr h{};
    h.msg_iov = &iov;
    h.msg_iovlen = 1;
    h.msg_name = const_cast<sockaddr_storage*>(to);
    h.msg_namelen = to ? tolen : 0;
    h.msg_control = ctrl_len ? const_cast<char*>(ctrl) : nullptr;
    h.msg_controllen = ctrl_len;
    ssize_t r;
    int retries = 0;
    do r = sendmsg(fd, &h, MSG_DONTWAIT);
    while (r < 0 && (errno == EINTR || (errno == ECONNREFUSED && retries++ < 2)));
    if (r >= 0) sent++;
  }
  return sent;
}

}  // namespace

int SendDatagrams(UdpBufs* u, int fd, int a, int b, const sockaddr_storage* to, socklen_t tolen, const char* ctrl,
                  size_t ctrl_len, bool* gso) {
  int sent = 0;
  int i = a;
  while (i < b) {
    if (u->seg[i] != 0) {
      // A train as it came (UDP_GRO): on as one, or cut up.
      size_t len = u->msgs[i].msg_len;
      int count = (int)((len + u->seg[i] - 1) / u->seg[i]);
      if (*gso && g_kernel_gso.load(std::memory_order_relaxed)) {
        int err = SendTrain(fd, static_cast<const char*>(u->iov[i].iov_base), len, u->seg[i], to, tolen, ctrl, ctrl_len);
        if (err == 0) sent += count;
        if (err == 0 || err == EAGAIN || err == ENOBUFS || err == ECONNREFUSED) {
          i++;  // sent, or lost as UDP allows
          continue;
        }
        // EMSGSIZE: too long with this path's headers (an IPv4 client's
        // train to an IPv6 target): this one in pieces, the next may fit.
        if (err == ENOPROTOOPT || err == EOPNOTSUPP) g_kernel_gso = false;
        if (err != EMSGSIZE) *gso = false;
      }
      sent += SendPieces(u, fd, i, to, tolen, ctrl, ctrl_len);
      i++;
      continue;
    }
    int end = i;
    while (end < b && u->seg[end] == 0) end++;
    if (!*gso || !g_kernel_gso.load(std::memory_order_relaxed) || end - i < 2) {
      sent += SendEach(u, fd, i, end, to, tolen, ctrl, ctrl_len);
      i = end;
      continue;
    }
    size_t seg, total;
    int n = Pack(u, i, end, &seg, &total);
    if (n < 2) {
      sent += SendEach(u, fd, i, i + 1, to, tolen, ctrl, ctrl_len);
      i++;
      continue;
    }
    int err = SendTrain(fd, u->train, total, (uint16_t)seg, to, tolen, ctrl, ctrl_len);
    if (err == 0) {
      sent += n;
      i += n;
      continue;
    }
    if (err == EAGAIN || err == ENOBUFS || err == ECONNREFUSED) {
      i += n;  // lost, as UDP allows
      continue;
    }
    // Not for this path (EINVAL: larger than the MTU; EIO: no checksum
    // offload), or not in this kernel (ENOPROTOOPT): one datagram at a time.
    if (err == ENOPROTOOPT || err == EOPNOTSUPP) g_kernel_gso = false;
    *gso = false;
  }
  return sent;
}

}  // namespace relay
}  // namespace rk
