// UDP through the relay. One worker serves a port: its listening sockets and
// every flow, so a flow's datagrams stay in order. A flow is one client
// address: it gets its own target socket (connected to the target, inside
// the namespace, bound to the client's address when the port keeps source
// addresses) and ends after an idle timeout. Datagrams move in batches
// (recvmmsg/sendmmsg); replies leave from the address the client sent to.
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/udp.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "relay/relay_udp.h"

namespace rk {
namespace relay {

namespace {
constexpr int kBatch = kUdpBatch;
constexpr int kRounds = 8;
}  // namespace

void Worker::UdpBufsFree::operator()(UdpBufs* b) const { delete b; }

struct Flow;

struct UdpListener : Handler {
  Port* port;
  int fd;
  bool wildcard;
  std::unordered_map<std::string, Flow*> flows;
  UdpListener(Port* p, int f, bool w) : port(p), fd(f), wildcard(w) {}
  void OnEvent(Worker* w, uint32_t) override;
};

struct Flow : Handler {
  UdpListener* l = nullptr;
  int fd = -1;
  Addr client;
  std::string key;
  // Where the client sent to (for replies from a wildcard listener).
  bool has_local = false;
  bool local_is6 = false;
  in_pktinfo local4{};
  in6_pktinfo local6{};
  int64_t last = 0;
  uint64_t up = 0, down = 0;
  bool answered = false;  // the target sent at least one datagram back
  bool closed = false;
  // Bound to the client's address: left unconnected, since a server bound to
  // a wildcard address answers from whatever source its routing picks (for
  // the local route that carries replies back, the client's address itself).
  bool transparent = false;
  // The address and port the socket is bound to inside (the client's, or
  // the gateway's), and whether the rule steering datagrams to it is in place.
  Addr seen;
  bool routed = false;
  // Whether each direction's path takes GSO trains (cleared on the first refusal).
  bool gso_up = true, gso_down = true;
  void OnEvent(Worker* w, uint32_t) override;
};

namespace {

std::string KeyOf(const sockaddr_storage& ss) {
  if (ss.ss_family == AF_INET) {
    const sockaddr_in* s = reinterpret_cast<const sockaddr_in*>(&ss);
    std::string k(1, '4');
    k.append(reinterpret_cast<const char*>(&s->sin_port), 2);
    k.append(reinterpret_cast<const char*>(&s->sin_addr), 4);
    return k;
  }
  const sockaddr_in6* s = reinterpret_cast<const sockaddr_in6*>(&ss);
  std::string k(1, '6');
  k.append(reinterpret_cast<const char*>(&s->sin6_port), 2);
  k.append(reinterpret_cast<const char*>(&s->sin6_addr), 16);
  k.append(reinterpret_cast<const char*>(&s->sin6_scope_id), 4);
  return k;
}

void Prepare(UdpBufs* b, int n, bool with_names) {
  for (int i = 0; i < n; i++) {
    b->iov[i].iov_base = b->data.get() + (size_t)i * kMaxDatagram;
    b->iov[i].iov_len = kMaxDatagram;
    msghdr& h = b->msgs[i].msg_hdr;
    memset(&h, 0, sizeof h);
    h.msg_iov = &b->iov[i];
    h.msg_iovlen = 1;
    if (with_names) {
      h.msg_name = &b->names[i];
      h.msg_namelen = sizeof b->names[i];
      h.msg_control = b->ctrl[i];
      h.msg_controllen = sizeof b->ctrl[i];
    }
    b->msgs[i].msg_len = 0;
    b->seg[i] = 0;
  }
}

// The datagram size of a message that holds a train (UDP_GRO), else 0.
uint16_t GroSegment(msghdr& h) {
  if (!h.msg_control) return 0;
  for (cmsghdr* cm = CMSG_FIRSTHDR(&h); cm; cm = CMSG_NXTHDR(&h, cm)) {
    if (cm->cmsg_level == SOL_UDP && cm->cmsg_type == UDP_GRO) {
      int seg = 0;
      memcpy(&seg, CMSG_DATA(cm), sizeof seg);
      return seg > 0 && seg < 65536 ? (uint16_t)seg : 0;
    }
  }
  return 0;
}

void ReadPktinfo(Flow* f, msghdr& h) {
  for (cmsghdr* cm = CMSG_FIRSTHDR(&h); cm; cm = CMSG_NXTHDR(&h, cm)) {
    if (cm->cmsg_level == IPPROTO_IP && cm->cmsg_type == IP_PKTINFO) {
      in_pktinfo pi;
      memcpy(&pi, CMSG_DATA(cm), sizeof pi);
      f->local4 = in_pktinfo{};
      f->local4.ipi_spec_dst = pi.ipi_addr;
      f->has_local = true;
      f->local_is6 = false;
    } else if (cm->cmsg_level == IPPROTO_IPV6 && cm->cmsg_type == IPV6_PKTINFO) {
      in6_pktinfo pi;
      memcpy(&pi, CMSG_DATA(cm), sizeof pi);
      f->local6 = in6_pktinfo{};
      f->local6.ipi6_addr = pi.ipi6_addr;
      f->local6.ipi6_ifindex = pi.ipi6_ifindex;
      f->has_local = true;
      f->local_is6 = true;
    }
  }
}

}  // namespace

void Worker::AddUdpListener(const std::shared_ptr<Port>& p, int fd, const Addr& bound) {
  if (!ubufs) ubufs.reset(new UdpBufs());
  bool wildcard = bound.family() == AF_INET
                      ? reinterpret_cast<const sockaddr_in*>(&bound.ss)->sin_addr.s_addr == INADDR_ANY
                      : IN6_IS_ADDR_UNSPECIFIED(&reinterpret_cast<const sockaddr_in6*>(&bound.ss)->sin6_addr);
  UdpListener* l = new UdpListener(p.get(), fd, wildcard);
  Reg& r = regs[p->id];
  r.port = p;
  r.handlers.push_back(l);
  udp_listeners.push_back(l);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.ptr = l;
  epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
}

static void CloseFlow(Worker* w, Flow* f, bool erase);

// Past kUdpFlowsPerPort: ends the least recently used flow, preferring one
// that never got a reply.
static void EvictOne(Worker* w, UdpListener* l) {
  Flow* victim = nullptr;
  for (auto& kv : l->flows) {
    Flow* f = kv.second;
    if (!victim || (victim->answered && !f->answered) || (victim->answered == f->answered && f->last < victim->last)) victim = f;
  }
  if (victim) CloseFlow(w, victim, true);
}

static Flow* NewFlow(Worker* w, UdpListener* l, const sockaddr_storage& from, socklen_t len, msghdr& h) {
  Port* p = l->port;
  if (l->flows.size() >= kUdpFlowsPerPort) {
    w->Limit(p->udp_cap_logged, p->id,
             std::to_string(kUdpFlowsPerPort) + " UDP flows (the cap per port): the least recently used ones end, unanswered first");
    EvictOne(w, l);
  }
  if (!w->TakeFds(1, p->id)) return nullptr;
  Flow* f = new Flow();
  f->l = l;
  memcpy(&f->client.ss, &from, len);
  f->client.len = len;
  f->key = KeyOf(from);
  if (l->wildcard) ReadPktinfo(f, h);
  int fd = TargetSocket(w->engine, p, SOCK_DGRAM);
  if (fd < 0) {
    Event e{Event::kError};
    e.port_id = p->id;
    e.client = f->client;
    e.err = -fd;
    e.what = "target socket";
    w->Emit(std::move(e));
    w->engine->fds_held--;
    delete f;
    return nullptr;
  }
  bool bound = false;
  int berr = BindSource(w, p, fd, f->client, &bound);
  if (berr != 0) {
    close(fd);
    w->engine->fds_held--;
    delete f;
    return nullptr;
  }
  f->transparent = bound;
  if (bound) {
    // Only datagrams to this flow's address and port come back to the relay.
    f->seen.len = sizeof f->seen.ss;
    int rerr = getsockname(fd, reinterpret_cast<sockaddr*>(&f->seen.ss), &f->seen.len) < 0 ? errno : p->net->FlowRoute(false, f->seen);
    if (rerr != 0 && rerr != EEXIST) {
      w->Limit(p->udp_route_logged, p->id,
               std::string("UDP flows of ") + f->client.ToString() + " and later ones dropped: the rule that brings replies back could not be added inside: " +
                   strerror(rerr));
      close(fd);
      w->engine->fds_held--;
      delete f;
      return nullptr;
    }
    f->routed = true;
  }
  if (!f->transparent && connect(fd, reinterpret_cast<const sockaddr*>(&p->target.ss), p->target.len) < 0) {
    Event e{Event::kError};
    e.port_id = p->id;
    e.client = f->client;
    e.target = p->target;
    e.err = errno;
    e.what = "connect";
    w->Emit(std::move(e));
    close(fd);
    w->engine->fds_held--;
    delete f;
    return nullptr;
  }
  f->fd = fd;
  f->last = NowMs();
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.ptr = f;
  epoll_ctl(w->epfd, EPOLL_CTL_ADD, fd, &ev);
  l->flows[f->key] = f;
  if (w->flows++ == 0) w->next_sweep_ms = NowMs() + 1000;
  w->stat_flows++;
  if (w->engine->debug.load(std::memory_order_relaxed)) {
    Event e{Event::kFlowOpen};
    e.port_id = p->id;
    e.client = f->client;
    e.target = p->target;
    w->Emit(std::move(e));
  }
  return f;
}

static void CloseFlow(Worker* w, Flow* f, bool erase) {
  if (f->closed) return;
  f->closed = true;
  epoll_ctl(w->epfd, EPOLL_CTL_DEL, f->fd, nullptr);
  if (f->routed) f->l->port->net->FlowRoute(true, f->seen);  // before the address is free for another flow
  close(f->fd);
  w->engine->fds_held--;
  if (erase) f->l->flows.erase(f->key);
  w->flows--;
  w->stat_flows--;
  if (w->engine->debug.load(std::memory_order_relaxed)) {
    Event e{Event::kFlowClose};
    e.port_id = f->l->port->id;
    e.client = f->client;
    e.target = f->l->port->target;
    e.up = f->up;
    e.down = f->down;
    w->Emit(std::move(e));
  }
  w->Defer(f);
}

// Sends msgs[a, b) (already received) to a flow's target socket.
static void SendRun(Worker* w, Flow* f, int a, int b) {
  if (!f || f->closed || a >= b) return;  // closed: evicted by a newer flow in this batch
  Port* p = f->l->port;
  // Bound to the client's address, the socket is not connected: name the target.
  const sockaddr_storage* to = f->transparent ? &p->target.ss : nullptr;
  f->up += (uint64_t)SendDatagrams(w->ubufs.get(), f->fd, a, b, to, p->target.len, nullptr, 0, &f->gso_up);
  f->last = NowMs();
}

void UdpListener::OnEvent(Worker* w, uint32_t) {
  UdpBufs* u = w->ubufs.get();
  for (int round = 0; round < kRounds; round++) {
    Prepare(u, kBatch, true);
    int n = recvmmsg(fd, u->msgs, kBatch, MSG_DONTWAIT, nullptr);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    Flow* run = nullptr;
    int start = 0;
    for (int i = 0; i < n; i++) {
      msghdr& h = u->msgs[i].msg_hdr;
      u->seg[i] = GroSegment(h);
      if (u->seg[i] >= u->msgs[i].msg_len) u->seg[i] = 0;  // one datagram
      const sockaddr_storage& from = u->names[i];
      auto it = flows.find(KeyOf(from));
      Flow* f = it != flows.end() ? it->second : NewFlow(w, this, from, h.msg_namelen, h);
      if (f != run || i == start) {
        SendRun(w, run, start, i);
        run = f;
        start = i;
      }
    }
    SendRun(w, run, start, n);
    if (n < kBatch) return;
  }
}

void Flow::OnEvent(Worker* w, uint32_t) {
  if (closed) return;
  UdpBufs* u = w->ubufs.get();
  for (int round = 0; round < kRounds; round++) {
    Prepare(u, kBatch, false);
    int n = recvmmsg(fd, u->msgs, kBatch, MSG_DONTWAIT, nullptr);
    if (n < 0) {
      if (errno == EINTR || errno == ECONNREFUSED) continue;  // no server yet: keep the flow
      return;
    }
    if (n == 0) return;
    alignas(cmsghdr) char ctrl[CMSG_SPACE(sizeof(in6_pktinfo))];
    size_t ctrl_len = 0;
    if (has_local) {
      memset(ctrl, 0, sizeof ctrl);
      cmsghdr* cm = reinterpret_cast<cmsghdr*>(ctrl);
      if (!local_is6) {
        cm->cmsg_level = IPPROTO_IP;
        cm->cmsg_type = IP_PKTINFO;
        cm->cmsg_len = CMSG_LEN(sizeof local4);
        memcpy(CMSG_DATA(cm), &local4, sizeof local4);
        ctrl_len = CMSG_SPACE(sizeof local4);
      } else {
        cm->cmsg_level = IPPROTO_IPV6;
        cm->cmsg_type = IPV6_PKTINFO;
        cm->cmsg_len = CMSG_LEN(sizeof local6);
        memcpy(CMSG_DATA(cm), &local6, sizeof local6);
        ctrl_len = CMSG_SPACE(sizeof local6);
      }
    }
    down += (uint64_t)SendDatagrams(u, l->fd, 0, n, &client.ss, client.len, ctrl, ctrl_len, &gso_down);
    last = NowMs();
    answered = true;
    if (n < kBatch) return;
  }
}

void Worker::SweepFlows(int64_t now) {
  for (UdpListener* l : udp_listeners) {
    int idle = l->port->udp_idle_ms;
    int unanswered = idle < kUdpUnansweredIdleMs ? idle : kUdpUnansweredIdleMs;
    for (auto it = l->flows.begin(); it != l->flows.end();) {
      Flow* f = it->second;
      if (now - f->last >= (f->answered ? idle : unanswered)) {
        it = l->flows.erase(it);
        CloseFlow(this, f, false);
      } else {
        ++it;
      }
    }
  }
}

void Worker::CloseFlowsOf(Port* p) {
  for (auto it = udp_listeners.begin(); it != udp_listeners.end();) {
    UdpListener* l = *it;
    if (l->port != p) {
      ++it;
      continue;
    }
    for (auto& kv : l->flows) CloseFlow(this, kv.second, false);
    l->flows.clear();
    it = udp_listeners.erase(it);
  }
}

}  // namespace relay
}  // namespace rk
