// The relay's JS binding: create an engine, add and remove ports, read its
// counters, and (only while debug is on) receive per-connection events.
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include "common/errors.h"
#include "common/exports.h"
#include "relay/relay.h"

namespace rk {

namespace {

using relay::Addr;
using relay::Engine;
using relay::Event;
using relay::Port;

struct Box {
  std::unique_ptr<Engine> engine;
  Napi::ThreadSafeFunction tsfn;
  bool has_tsfn = false;
  bool closed = false;
  int next_id = 1;
  void Close() {
    if (closed) return;
    closed = true;
    engine->Stop();
    if (has_tsfn) tsfn.Release();
  }
  ~Box() { Close(); }
};

const char* KindName(Event::Kind k) {
  switch (k) {
    case Event::kOpen: return "open";
    case Event::kClose: return "close";
    case Event::kRefused: return "refused";
    case Event::kReset: return "reset";
    case Event::kFlowOpen: return "flow";
    case Event::kFlowClose: return "flowEnd";
    case Event::kError: return "error";
    case Event::kLimit: return "limit";
    case Event::kDone: return "done";
  }
  return "?";
}

void DeliverEvent(Napi::Env env, Napi::Function fn, Event* ev) {
  if (env != nullptr && fn != nullptr) {
    Napi::Object o = Napi::Object::New(env);
    o.Set("kind", KindName(ev->kind));
    o.Set("port", Napi::Number::New(env, ev->port_id));
    if (ev->client.len) o.Set("client", ev->client.Unmapped().ToString());
    if (ev->target.len) o.Set("target", ev->target.ToString());
    if (ev->kind == Event::kClose || ev->kind == Event::kReset || ev->kind == Event::kFlowClose) {
      o.Set("up", Napi::Number::New(env, (double)ev->up));
      o.Set("down", Napi::Number::New(env, (double)ev->down));
    }
    if (ev->err) {
      o.Set("code", ErrnoName(ev->err));
      o.Set("message", strerror(ev->err));
    }
    if (!ev->what.empty()) o.Set("what", ev->what);
    fn.Call({o});
  }
  delete ev;
}

Box* BoxOf(const Napi::CallbackInfo& info) {
  Box* b = info[0].As<Napi::External<Box>>().Data();
  if (b->closed) throw Napi::Error::New(info.Env(), "relay: closed");
  return b;
}

int IntOf(const Napi::Object& o, const char* key, int def) {
  Napi::Value v = o.Get(key);
  return v.IsNumber() ? v.As<Napi::Number>().Int32Value() : def;
}

// {ip, port} or {path} or {abstract}.
Addr AddrOf(Napi::Env env, const Napi::Object& o, const char* what) {
  Napi::Value path = o.Get("path"), abs = o.Get("abstract");
  if (path.IsString() || abs.IsString()) {
    std::string name = (path.IsString() ? path : abs).As<Napi::String>().Utf8Value();
    Addr a;
    if (!relay::ParseUnixAddr(name, abs.IsString(), &a)) {
      Napi::Error e = ErrnoError(env, ENAMETOOLONG, "bind", std::string("relay: ") + what + " socket " + name + " does not fit sun_path (107 bytes)");
      throw e;
    }
    return a;
  }
  std::string ip = o.Get("ip").ToString().Utf8Value();
  int port = IntOf(o, "port", -1);
  Addr a;
  if (port < 0 || port > 65535 || !relay::ParseAddr(ip, port, &a)) {
    throw Napi::TypeError::New(env, std::string("relay: bad ") + what + " address " + ip + ":" + std::to_string(port));
  }
  return a;
}

}  // namespace

// relayCreate({threads, pipeSize, nsPool}, onEvent?) -> handle
Napi::Value RelayCreate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = info[0].As<Napi::Object>();
  int threads = IntOf(o, "threads", 1);
  int pipe_size = IntOf(o, "pipeSize", 1 << 20);
  int ns_pool = IntOf(o, "nsPool", 8);
  Box* b = new Box();
  b->engine.reset(new Engine(threads, (size_t)pipe_size, ns_pool));
  if (info.Length() > 1 && info[1].IsFunction()) {
    b->tsfn = Napi::ThreadSafeFunction::New(env, info[1].As<Napi::Function>(), "rk-relay", 0, 1);
    b->tsfn.Unref(env);
    b->has_tsfn = true;
    Napi::ThreadSafeFunction t = b->tsfn;
    b->engine->sink = [t](Event&& ev) mutable {
      Event* e = new Event(std::move(ev));
      if (t.NonBlockingCall(e, DeliverEvent) != napi_ok) delete e;
    };
  }
  return Napi::External<Box>::New(env, b, [](Napi::Env, Box* box) { delete box; });
}

// relayAddPort(handle, {proto, listen: [{ip, port, v6only}], target: {ip, port},
//   nsFds?, transparent?, udpIdleMs?}) -> {id, ports: number[], transparent}
Napi::Value RelayAddPort(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Box* b = BoxOf(info);
  Napi::Object o = info[1].As<Napi::Object>();
  auto p = std::make_shared<Port>();
  std::string proto = o.Get("proto").ToString().Utf8Value();
  if (proto != "tcp" && proto != "udp") throw Napi::TypeError::New(env, "relay: proto must be tcp or udp");
  p->type = proto == "tcp" ? SOCK_STREAM : SOCK_DGRAM;
  p->target = AddrOf(env, o.Get("target").As<Napi::Object>(), "target");
  p->udp_idle_ms = IntOf(o, "udpIdleMs", 90000);
  p->max_conns = std::max(1, std::min(relay::kTcpConnsPerPort, IntOf(o, "maxConns", relay::kTcpConnsPerPort)));
  p->idle_ms = std::max(0, IntOf(o, "idleMs", 0));
  p->proxy = IntOf(o, "proxy", 0);
  p->one_shot = o.Get("oneShot").ToBoolean();
  Napi::Value rv = o.Get("ranges");
  if (rv.IsArray()) {
    Napi::Array ra = rv.As<Napi::Array>();
    for (uint32_t i = 0; i < ra.Length(); i++) {
      Napi::Object r = ra.Get(i).As<Napi::Object>();
      Addr a;
      std::string ip = r.Get("ip").ToString().Utf8Value();
      int prefix = IntOf(r, "prefix", -1);
      if (!relay::ParseAddr(ip, 0, &a) || prefix < 0 || prefix > (a.family() == AF_INET ? 32 : 128)) {
        throw Napi::TypeError::New(env, "relay: bad range " + ip + "/" + std::to_string(prefix));
      }
      p->ranges.emplace_back(a, prefix);
    }
  }
  bool unix_target = p->target.family() == AF_UNIX;
  if (unix_target && p->type != SOCK_STREAM) throw Napi::TypeError::New(env, "relay: a UNIX target needs proto tcp (a stream)");
  bool want_transparent = o.Get("transparent").ToBoolean();
  Napi::Value nsv = o.Get("nsFds");
  if (nsv.IsArray()) {
    Napi::Array a = nsv.As<Napi::Array>();
    if (a.Length() > 4) throw Napi::TypeError::New(env, "relay: at most 4 namespace fds");
    // One set of namespace fds per namespace: ports into the same one share it.
    std::string key;
    std::vector<int> given;
    for (uint32_t i = 0; i < a.Length(); i++) {
      int fd = a.Get(i).As<Napi::Number>().Int32Value();
      struct stat st;
      if (fstat(fd, &st) < 0) throw ErrnoError(env, errno, "fstat", "namespace fd " + std::to_string(fd));
      key += std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino) + ",";
      given.push_back(fd);
    }
    Engine* eng = b->engine.get();
    {
      std::lock_guard<std::mutex> g(eng->mu);
      auto it = eng->nets.find(key);
      if (it != eng->nets.end()) p->net = it->second.lock();
    }
    if (!p->net) {
      auto net = std::make_shared<relay::NsShared>();
      for (size_t i = 0; i < given.size(); i++) {
        int d = fcntl(given[i], F_DUPFD_CLOEXEC, 3);
        if (d < 0) throw ErrnoError(env, errno, "dup", "namespace fd " + std::to_string(given[i]));
        net->ns.fds[i] = d;
      }
      std::lock_guard<std::mutex> g(eng->mu);
      for (auto it = eng->nets.begin(); it != eng->nets.end();) it = it->second.expired() ? eng->nets.erase(it) : std::next(it);
      eng->nets[key] = net;
      p->net = net;
    }
    p->ns = p->net->ns;
    p->in_ns = true;
    if (!unix_target) {  // UNIX targets are connected by a helper per connection (the path is resolved in there)
      bool made = false;
      p->pool = p->net->Pool(p->target.family(), p->type, eng->ns_pool, &made);
      int err = made ? p->pool->Fill() : 0;
      if (err != 0) throw ErrnoError(env, err, "socket", "in the target network namespace");
    }
  }
  if (p->type == SOCK_STREAM && !unix_target) {
    // Whether the target is reached over loopback (see UseLoopbackCongestion).
    int udp = -1;
    if (p->in_ns) {
      int fd;
      if (NsSockets(p->ns, p->target.family(), SOCK_DGRAM, 0, 1, &fd) == 0) udp = fd;
    } else {
      udp = socket(p->target.family(), SOCK_DGRAM | SOCK_CLOEXEC, 0);
    }
    p->target_local = udp >= 0 ? relay::IsLocalTarget(udp, p->target) : p->target.IsLoopback();
  }
  if (want_transparent && p->in_ns && !unix_target) {
    int fd = relay::TargetSocket(b->engine.get(), p.get(), p->type);
    int one = 1;
    int r = fd < 0 ? -1
            : p->target.family() == AF_INET ? setsockopt(fd, IPPROTO_IP, IP_TRANSPARENT, &one, sizeof one)
                                            : setsockopt(fd, IPPROTO_IPV6, IPV6_TRANSPARENT, &one, sizeof one);
    if (fd >= 0) close(fd);
    p->transparent = r == 0;
  }
  Napi::Array listen = o.Get("listen").As<Napi::Array>();
  Napi::Array ports = Napi::Array::New(env);
  for (uint32_t i = 0; i < listen.Length(); i++) {
    Napi::Object l = listen.Get(i).As<Napi::Object>();
    Addr a = AddrOf(env, l, "listen");
    Addr bound;
    int fd;
    if (a.family() == AF_UNIX) {
      if (p->type != SOCK_STREAM) throw Napi::TypeError::New(env, "relay: a UNIX listener needs proto tcp (a stream)");
      relay::UnixFileOpts uo;
      uo.mode = IntOf(l, "mode", -1);
      uo.uid = IntOf(l, "uid", -1);
      uo.gid = IntOf(l, "gid", -1);
      uo.unlink_early = l.Get("unlinkEarly").ToBoolean();
      uint64_t dev = 0, ino = 0;
      fd = relay::OpenUnixListener(a, uo, &dev, &ino);
      if (fd >= 0 && ino != 0) {
        p->unix_path = l.Get("path").ToString().Utf8Value();
        p->unix_dev = dev;
        p->unix_ino = ino;
      }
      bound = a;
    } else {
      fd = relay::OpenListener(a, p->type, l.Get("v6only").ToBoolean(), &bound);
    }
    if (fd < 0) {
      // Port::~Port closes the listeners opened so far.
      Napi::Error e = ErrnoError(env, -fd, proto == "tcp" ? "listen" : "bind", a.ToString());
      e.Set("address", l.Get("ip"));
      e.Set("port", Napi::Number::New(env, a.port()));
      throw e;
    }
    p->listen_fds.push_back(fd);
    p->listen_addrs.push_back(bound);
    ports.Set(i, Napi::Number::New(env, bound.port()));
  }
  p->id = b->next_id++;
  int err = b->engine->AddPort(p);
  if (err < 0) throw ErrnoError(env, -err, "relay");
  Napi::Object r = Napi::Object::New(env);
  r.Set("id", Napi::Number::New(env, p->id));
  r.Set("ports", ports);
  r.Set("transparent", Napi::Boolean::New(env, p->transparent));
  return r;
}

// relayRemovePort(handle, id) -> boolean (false: no such port)
Napi::Value RelayRemovePort(const Napi::CallbackInfo& info) {
  Box* b = BoxOf(info);
  int id = info[1].As<Napi::Number>().Int32Value();
  return Napi::Boolean::New(info.Env(), b->engine->RemovePort(id));
}

// relayStats(handle) -> counters
Napi::Value RelayStats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Box* b = BoxOf(info);
  int64_t conns = 0, flows = 0, accepted = 0, pipes = 0, idle = 0, pooled = 0;
  for (auto& w : b->engine->workers) {
    conns += w->stat_conns.load();
    flows += w->stat_flows.load();
    accepted += w->stat_accepted.load();
    pipes += w->pipes.in_use.load();
    idle += w->pipes.idle_n.load();
  }
  {
    std::lock_guard<std::mutex> g(b->engine->mu);
    std::vector<relay::NsPool*> seen;  // pools are shared by the ports of a namespace
    for (auto& kv : b->engine->ports) {
      relay::NsPool* pool = kv.second->pool.get();
      if (!pool || std::find(seen.begin(), seen.end(), pool) != seen.end()) continue;
      seen.push_back(pool);
      pooled += (int64_t)pool->size();
    }
  }
  Napi::Object r = Napi::Object::New(env);
  r.Set("threads", Napi::Number::New(env, (double)b->engine->workers.size()));
  r.Set("connections", Napi::Number::New(env, (double)conns));
  r.Set("flows", Napi::Number::New(env, (double)flows));
  r.Set("accepted", Napi::Number::New(env, (double)accepted));
  r.Set("pipesInUse", Napi::Number::New(env, (double)pipes));
  r.Set("pipesIdle", Napi::Number::New(env, (double)idle));
  r.Set("nsSocketsPooled", Napi::Number::New(env, (double)pooled));
  return r;
}

// relaySetDebug(handle, on): per-connection events go to onEvent only while on.
Napi::Value RelaySetDebug(const Napi::CallbackInfo& info) {
  Box* b = BoxOf(info);
  b->engine->debug = info[1].ToBoolean().Value() && b->has_tsfn;
  return info.Env().Undefined();
}

// relayClose(handle): stops the threads, closes every port and connection.
Napi::Value RelayClose(const Napi::CallbackInfo& info) {
  Box* b = info[0].As<Napi::External<Box>>().Data();
  b->Close();
  return info.Env().Undefined();
}

}  // namespace rk
