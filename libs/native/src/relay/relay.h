// The port-forwarding relay: bytes move between sockets on dedicated native
// threads, never through JavaScript.
//
// An Engine owns N worker threads, each with its own epoll loop and pipe pool.
// A Port is one forwarded port: one or two listening sockets (v4, v6) and a
// target address, either on the host or inside another process's network
// namespace (target sockets made there by NsSockets, kept in a small pool
// shared by every port into that namespace, with its fds: NsShared).
//
// TCP: every worker waits on every TCP listener (EPOLLEXCLUSIVE), so the
// worker that accepts a connection serves it: splice(2) client -> pipe ->
// target and back. A pipe is held only while bytes sit in it, so idle
// connections hold none and a worker keeps at most kIdlePipes spare ones.
// UDP: one worker owns a UDP port (its listeners and all its flows), so
// datagrams of a flow are never reordered; one target socket per client
// address, batched with recvmmsg/sendmmsg, closed after an idle timeout.
//
// Files: relay_engine.cc (threads, ports, commands), relay_tcp.cc,
// relay_udp.cc, relay_pool.cc (pipes, namespace sockets), relay_addr.cc
// (addresses, listening and target sockets), relay_js.cc (the JS binding).
#pragma once
#include <netinet/in.h>
#include <stdint.h>
#include <sys/socket.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "common/clock.h"
#include "common/loopback_tcp.h"
#include "process/nsexec.h"

namespace rk {
namespace relay {

// ---- budgets: a remote client must not starve the process ----
// UDP flows (one target socket each) per published port. A DNS-like server
// gets one flow per query; past the cap the least recently used flow goes,
// unanswered ones first, so a flood of new source ports evicts its own
// flows before the flows of clients that got answers.
constexpr size_t kUdpFlowsPerPort = 1024;
// A flow that never got a reply ends after this long without a datagram
// (answered flows: the port's idle timeout, 90 s by default): a server
// answers within seconds, so an unanswered flow is a scan or a spoofed
// source, and holding its socket for 90 s is what exhausted fds.
constexpr int kUdpUnansweredIdleMs = 5000;
// TCP connections (two fds each) per published port; past it a new
// connection is accepted and reset at once (a clean refusal, not a hang).
constexpr int kTcpConnsPerPort = 4096;
// Fds the relay never takes, below RLIMIT_NOFILE: the API (api.sock), Node
// itself, the network driver and the namespace helpers keep working
// whatever clients of the ports do.
constexpr int64_t kFdHeadroom = 1024;

// The policy routing table (its only route: "local default dev lo") and
// rule priority that bring replies to kept client addresses back to the
// relay's sockets (libs/portfwd/src/source-ip.ts makes the table's routes).
constexpr int kSourceIpTable = 100;
constexpr int kSourceIpPriority = 100;

// ---- addresses (relay_addr.cc) ----

struct Addr {
  sockaddr_storage ss{};
  socklen_t len = 0;
  int family() const { return ss.ss_family; }
  uint16_t port() const;
  void SetPort(uint16_t port);
  bool IsLoopback() const;
  // A v4-mapped IPv6 address as plain IPv4 (other addresses unchanged).
  Addr Unmapped() const;
  std::string ToString() const;  // "1.2.3.4:80", "[::1]:80"
  // Same family and address (ports ignored; v4-mapped IPv6 read as IPv4).
  bool SameHost(const Addr& o) const;
};

// Parses an IP literal and a port; false when ip is not an IPv4/IPv6 literal.
bool ParseAddr(const std::string& ip, int port, Addr* out);
// A UNIX socket address: a path, or (abstract) a name in the abstract
// namespace (no NUL added, as socat). False when it does not fit sun_path.
bool ParseUnixAddr(const std::string& name, bool abstract, Addr* out);
std::string UnixAddrString(const Addr& a);  // "unix:/path", "unix:@name"

// ---- UNIX sockets (relay_unix.cc) ----

// How a socket file is made: mode (-1: the umask's), owner (-1: ours), and
// whether an existing file at the path is removed first (socat's
// unlink-early). bind(2) never follows a symlink and fails on any existing
// file, so nothing planted at the path is used or changed.
struct UnixFileOpts {
  int mode = -1;
  int uid = -1, gid = -1;
  bool unlink_early = false;
};
// A listening UNIX stream socket. Returns the fd or -errno; *dev/*ino get
// the socket file's identity (0 for an abstract name), so that only that
// file is removed at the end.
int OpenUnixListener(const Addr& a, const UnixFileOpts& o, uint64_t* dev, uint64_t* ino);
// Removes the socket file at path if it is still the one made (dev, ino).
void RemoveUnixFile(const std::string& path, uint64_t dev, uint64_t ino);
// Connects a UNIX stream socket to a (non-blocking; in the namespaces of ns
// when given: the path seen in its mount namespace). Returns the fd or -errno
// (EAGAIN: the server's backlog is full).
int ConnectUnix(const Addr& a, const NsTarget* ns);

// ---- PROXY protocol (relay_proxy.cc) ----

// The PROXY protocol header (version 1 or 2) telling a server that client
// connected to local; "UNKNOWN" (v1) / LOCAL (v2) for non-IP clients.
std::string ProxyHeader(int version, const Addr& client, const Addr& local);

// A listening (TCP) or bound (UDP) socket: SO_REUSEADDR for TCP, IPV6_V6ONLY
// as asked for IPv6, packet info on for a wildcard UDP address. Returns the
// fd or -errno; *bound gets the address actually bound (port 0 resolved).
int OpenListener(const Addr& a, int type, bool v6only, Addr* bound);

// ---- debug events (sent to JS only while debug is on) ----

struct Event {
  enum Kind { kOpen, kClose, kRefused, kReset, kFlowOpen, kFlowClose, kError, kLimit, kDone } kind;
  explicit Event(Kind k) : kind(k) {}
  int port_id = 0;
  Addr client;
  Addr target;
  uint64_t up = 0, down = 0;  // bytes (TCP) or datagrams (UDP) client->target, target->client
  int err = 0;
  std::string what;
};

// ---- pools (relay_pool.cc) ----

struct Pipe {
  int r = -1, w = -1;
  size_t cap = 0;
};

// Spare pipes of one worker (only its thread touches it).
class PipePool {
 public:
  PipePool(size_t pipe_size, size_t max_idle) : size_(pipe_size), max_idle_(max_idle) {}
  ~PipePool();
  // An empty pipe, or nullptr (and errno) when none can be made.
  Pipe* Get();
  // Gives back an empty pipe (kept or closed); a pipe with bytes in it is closed.
  void Put(Pipe* p, bool empty);
  // Counts readable from other threads (stats).
  std::atomic<int64_t> in_use{0};
  std::atomic<int64_t> idle_n{0};

 private:
  size_t size_, max_idle_;
  std::vector<Pipe*> idle_;
};

struct Engine;

// Sockets made in advance inside a target namespace, so that a new connection
// does not wait for a clone. Shared by the workers and the filler thread.
class NsPool {
 public:
  NsPool(const NsTarget& ns, int family, int type, int want) : ns_(ns), family_(family), type_(type), want_(want) {}
  ~NsPool();
  // A socket (close-on-exec, non-blocking) made in the namespace, or -errno.
  // Takes one from the pool; when empty, makes a batch on the calling thread.
  int Take(Engine* e);
  // Tops the pool up to its size (the filler thread; also once at start).
  int Fill();
  void Close();
  size_t size();

 private:
  NsTarget ns_;
  int family_, type_, want_;
  std::mutex mu_;
  std::vector<int> fds_;
  bool closed_ = false;
};

// One target namespace, shared by every port into it: one set of namespace
// fds (our dups) and one socket pool per (family, type), made on first use,
// so that a published port costs only its listening socket.
struct NsShared {
  NsTarget ns;  // owned
  std::mutex mu;
  std::shared_ptr<NsPool> pools[2][2];  // [IPv6][UDP]
  // The pool for sockets of family and type (made now if it is the first).
  std::shared_ptr<NsPool> Pool(int family, int type, int want, bool* made);
  // Where the server inside sees `client` come from, for a target of
  // target_family (relay_route.cc): 1 and *out = client (its own address),
  // 0 and *out = the namespace's gateway (port 0), -1: neither (no gateway).
  int SourceFor(const Addr& client, int target_family, Addr* out);
  // Adds (del: removes) the policy rule that brings the namespace's UDP
  // datagrams to `seen` (address and port a flow's socket is bound to) back
  // to that socket: "to ADDR/32 ipproto udp dport PORT lookup 100". Only
  // replies of relayed flows are steered; a service that sends from its
  // published port to anyone else (gossip, VXLAN, QUIC) is left alone.
  // Returns 0 or an errno.
  int FlowRoute(bool del, const Addr& seen);
  ~NsShared();

 private:
  int Netlink();
  uint32_t nl_seq = 1;
  bool Gateway(int family, Addr* out);
  int nl = -1;  // NETLINK_ROUTE socket made inside (lazy)
  int64_t gw_at[2] = {-1000000, -1000000};
  bool gw_ok[2] = {false, false};
  Addr gw[2];

 public:
};

// ---- ports ----

struct Port {
  int id = 0;
  int type = SOCK_STREAM;  // or SOCK_DGRAM
  std::vector<int> listen_fds;
  std::vector<Addr> listen_addrs;
  Addr target;
  bool in_ns = false;
  std::shared_ptr<NsShared> net;  // declared before pool: the pool goes first
  NsTarget ns;  // net's fds (not owned)
  bool transparent = false;
  std::atomic<bool> transparent_ok{true};
  // The target is reached over loopback (a local address of its namespace).
  bool target_local = false;
  int udp_idle_ms = 90000;
  std::atomic<int> tcp_conns{0};
  // TCP/UNIX streams: the most connections at once (socat's max-children),
  // a connection closed after idle_ms without a byte either way (0: never),
  // the PROXY protocol version written to the target first (0: none).
  int max_conns = kTcpConnsPerPort;
  int idle_ms = 0;
  int proxy = 0;
  // Serve one connection, then stop listening (socat without fork); the
  // JS side hears kDone when it ends.
  bool one_shot = false;
  std::atomic<bool> one_shot_taken{false};
  // Clients allowed (socat's range=): none means any.
  std::vector<std::pair<Addr, int>> ranges;
  bool Allowed(const Addr& client) const;
  // The socket file made for a UNIX listener (removed with the port).
  std::string unix_path;
  uint64_t unix_dev = 0, unix_ino = 0;
  // A budget was hit (logged once per port and kind).
  std::atomic<bool> tcp_cap_logged{false}, udp_cap_logged{false}, no_gateway_logged{false}, udp_route_logged{false}, idle_logged{false};
  std::shared_ptr<NsPool> pool;
  int owner_worker = 0;  // UDP: the worker that serves it
  ~Port();
};

// ---- workers ----

struct Worker;

// Something registered in a worker's epoll set.
struct Handler {
  virtual ~Handler() = default;
  virtual void OnEvent(Worker* w, uint32_t events) = 0;
  // Set when it goes to the graveyard: events already fetched are ignored.
  bool dead = false;
};

struct Conn;
struct UdpListener;

struct Command {
  enum Kind { kAddPort, kRemovePort, kStop } kind;
  std::shared_ptr<Port> port;
  std::function<void()> done;
};

struct Worker {
  Worker(Engine* e, int index, size_t pipe_size);
  ~Worker();
  void Start();
  void Post(Command c);
  void Run();

  // TCP (relay_tcp.cc)
  void AddTcpListener(const std::shared_ptr<Port>& p, int fd);
  void Accept(Port* p, int fd);
  void Pump(Conn* c);
  void CloseConn(Conn* c, bool reset_from_side0, bool reset_from_side1);
  void CloseConnsOf(Port* p);
  void SweepIdle(int64_t now_ms);
  // A one-shot port's connection ended: kDone (sent whether debug is on or not).
  void Done(Port* p, int err = 0);

  // UDP (relay_udp.cc)
  void AddUdpListener(const std::shared_ptr<Port>& p, int fd, const Addr& bound);
  void CloseFlowsOf(Port* p);
  void SweepFlows(int64_t now_ms);

  void Emit(Event ev);
  // A budget hit: logged (not only with debug on), once per `logged` flag.
  void Limit(std::atomic<bool>& logged, int port_id, const std::string& what);
  // Takes n fds from the engine's budget; false (and a log line) when full.
  bool TakeFds(int n, int port_id);
  void Defer(Handler* h) {
    h->dead = true;
    graveyard_.emplace_back(h);
  }
  void MarkReady(Conn* c);
  void PumpReady();

  Engine* engine;
  int index;
  int epfd = -1;
  int evfd = -1;
  int spare_fd = -1;  // closed to accept (and drop) a connection at EMFILE
  PipePool pipes;
  std::thread thread;

  std::mutex qmu;
  std::deque<Command> queue;

  // Listeners of this worker, by port id.
  struct Reg {
    std::shared_ptr<Port> port;
    std::vector<Handler*> handlers;
  };
  std::unordered_map<int, Reg> regs;
  Conn* conns = nullptr;  // intrusive list of live connections
  std::vector<Conn*> ready, ready_next;
  std::vector<std::unique_ptr<Handler>> graveyard_;
  std::vector<UdpListener*> udp_listeners;
  int64_t flows = 0;
  int64_t next_sweep_ms = 0;
  int64_t idle_conns = 0;  // live connections of ports with an idle timeout
  int64_t next_idle_ms = 0;

  // Batch buffers for UDP (allocated on first use; relay_udp.cc).
  struct UdpBufsFree {
    void operator()(struct UdpBufs* b) const;
  };
  std::unique_ptr<struct UdpBufs, UdpBufsFree> ubufs;

  std::atomic<int64_t> stat_conns{0};
  std::atomic<int64_t> stat_flows{0};
  std::atomic<int64_t> stat_accepted{0};
  bool stopping = false;
};

struct Engine {
  Engine(int threads, size_t pipe_size, int ns_pool);
  ~Engine();
  // Opens the listeners (errors come back as -errno with *failed_index) and
  // hands the port to the workers. Returns 0 or -errno.
  int AddPort(std::shared_ptr<Port> p);
  // Stops listening and closes the port's connections and flows; returns
  // once every worker has done so (the port can be bound again at once).
  bool RemovePort(int id);
  void Stop();
  void Emit(Event ev);
  void WakeFiller();

  std::vector<std::unique_ptr<Worker>> workers;
  std::atomic<bool> debug{false};
  // Fds held by connections and flows, and the most they may hold
  // (RLIMIT_NOFILE at start minus kFdHeadroom).
  std::atomic<int64_t> fds_held{0};
  int64_t fd_budget = 0;
  std::atomic<bool> budget_logged{false};
  std::function<void(Event&&)> sink;  // set by relay_js.cc
  int ns_pool;
  std::mutex mu;
  std::unordered_map<int, std::shared_ptr<Port>> ports;
  // Target namespaces by the identity (dev:ino) of their fds, while a port uses them.
  std::unordered_map<std::string, std::weak_ptr<NsShared>> nets;
  int next_worker = 0;

  // The namespace-socket filler thread.
  std::thread filler;
  std::mutex fmu;
  std::condition_variable fcv;
  bool fstop = false;
  bool fwork = false;
  bool stopped = false;
};

// Sets IP(V6)_TRANSPARENT and binds the client's address on a target socket.
// Returns 0 or an errno (the socket is still usable unbound then).
int BindTransparent(int fd, const Addr& client);
void SetNoDelay(int fd);
// Binds a target socket of p so that the server inside sees the client as
// NsShared::SourceFor says (nothing for loopback clients or ports that do
// not keep addresses). Returns 0, or an errno: refuse the client.
int BindSource(Worker* w, Port* p, int fd, const Addr& peer, bool* bound);
// Whether `target` is a local address of the namespace `sock_fd_family`
// sockets are made in: a UDP socket `udp` (unbound) is connected to it and
// its chosen source compared. Closes udp.
bool IsLocalTarget(int udp, const Addr& target);
// A socket of `type` for the port's target: from the namespace pool, or made
// on the host. Returns the fd or -errno.
int TargetSocket(Engine* e, Port* p, int type);
void ResetClose(int fd);  // close with an RST (SO_LINGER 0)

}  // namespace relay
}  // namespace rk
