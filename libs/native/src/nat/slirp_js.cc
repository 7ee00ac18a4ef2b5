// JS bindings of the NAT engine (slirp_engine.h): slirpStart, slirpStop,
// slirpStats. An engine is named by a number; the engine ending on its own
// reaches JS once, through a ThreadSafeFunction (which also keeps Node's
// event loop alive while the engine runs).
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include <map>
#include <set>
#include <string>

#include "common/errors.h"
#include "common/exports.h"
#include "nat/slirp_engine.h"

namespace rk {

namespace {

struct Running {
  SlirpEngine* engine;
  Napi::ThreadSafeFunction tsfn;
  napi_env env;
};

// Running engines. Touched on the JS thread only (one addon instance per
// process is what the commands use; worker threads would need a lock).
std::map<uint32_t, Running> g_engines;
uint32_t g_next_id = 1;
std::set<napi_env> g_hooked;  // envs with a cleanup hook

[[noreturn]] void Bad(Napi::Env env, const std::string& msg) {
  throw Napi::TypeError::New(env, "slirpStart: " + msg);
}

bool Has(const Napi::Object& o, const char* key) {
  Napi::Value v = o.Get(key);
  return !v.IsUndefined() && !v.IsNull();
}

int IntOpt(Napi::Env env, const Napi::Object& o, const char* key, int def, int lo, int hi) {
  if (!Has(o, key)) return def;
  Napi::Value v = o.Get(key);
  double d = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : -1e300;
  if (d != (double)(int64_t)d || d < lo || d > hi) {
    Bad(env, std::string(key) + " must be an integer from " + std::to_string(lo) + " to " + std::to_string(hi));
  }
  return (int)d;
}

bool BoolOpt(const Napi::Object& o, const char* key) { return o.Get(key).ToBoolean(); }

in_addr V4(Napi::Env env, const std::string& s, const char* key) {
  in_addr a;
  if (inet_pton(AF_INET, s.c_str(), &a) != 1) Bad(env, std::string(key) + " is not an IPv4 address: " + s);
  return a;
}

in6_addr V6(Napi::Env env, const std::string& s, const char* key) {
  in6_addr a;
  if (inet_pton(AF_INET6, s.c_str(), &a) != 1) Bad(env, std::string(key) + " is not an IPv6 address: " + s);
  return a;
}

std::string StrOpt(const Napi::Object& o, const char* key) {
  return Has(o, key) ? o.Get(key).ToString().Utf8Value() : std::string();
}

in_addr V4Opt(Napi::Env env, const Napi::Object& o, const char* key, in_addr def) {
  return Has(o, key) ? V4(env, StrOpt(o, key), key) : def;
}

in_addr Offset(in_addr net, uint32_t i) { return in_addr{htonl(ntohl(net.s_addr) + i)}; }

// A host address of the network: not the network or broadcast address.
void CheckInside(Napi::Env env, const EngineOptions& e, in_addr a, const char* key) {
  uint32_t host = ntohl(a.s_addr) & ~ntohl(e.netmask.s_addr);
  if ((a.s_addr & e.netmask.s_addr) != e.network.s_addr || host == 0 || host == ~ntohl(e.netmask.s_addr)) {
    char buf[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &a, buf, sizeof buf);
    Bad(env, std::string(key) + " " + buf + " is not a host address of the network");
  }
}

EngineOptions Parse(Napi::Env env, const Napi::Object& o) {
  EngineOptions e;
  e.tap_fd = IntOpt(env, o, "tapFd", -1, 0, 1 << 30);
  if (e.tap_fd < 0) Bad(env, "tapFd is required");
  e.mtu = IntOpt(env, o, "mtu", 1500, 68, 65521);
  e.vnet_hdr = BoolOpt(o, "vnetHdr");
  int prefix = IntOpt(env, o, "prefix", 24, 1, 30);
  e.netmask.s_addr = htonl(~0u << (32 - prefix));
  e.network = V4Opt(env, o, "network", V4(env, "10.0.2.0", "network"));
  if ((e.network.s_addr & e.netmask.s_addr) != e.network.s_addr) {
    Bad(env, "network " + StrOpt(o, "network") + " has host bits set for prefix " + std::to_string(prefix));
  }
  e.guest = V4Opt(env, o, "guest", Offset(e.network, 100));
  e.host = V4Opt(env, o, "host", Offset(e.network, 2));
  e.dns = V4Opt(env, o, "dns", Offset(e.network, 3));
  CheckInside(env, e, e.guest, "guest");
  CheckInside(env, e, e.host, "host");
  CheckInside(env, e, e.dns, "dns");
  if (e.guest.s_addr == e.host.s_addr || e.guest.s_addr == e.dns.s_addr) Bad(env, "guest must differ from host and dns");
  e.disable_host_loopback = BoolOpt(o, "disableHostLoopback");
  e.ipv6 = BoolOpt(o, "ipv6");
  e.prefix6 = Has(o, "prefix6") ? V6(env, StrOpt(o, "prefix6"), "prefix6") : V6(env, "fd00::", "prefix6");
  e.prefix6_len = IntOpt(env, o, "prefix6Len", 64, 8, 126);
  in6_addr h6 = e.prefix6, d6 = e.prefix6;
  h6.s6_addr[15] = 2;
  d6.s6_addr[15] = 3;
  e.host6 = Has(o, "host6") ? V6(env, StrOpt(o, "host6"), "host6") : h6;
  e.dns6 = Has(o, "dns6") ? V6(env, StrOpt(o, "dns6"), "dns6") : d6;
  if (Has(o, "dnsUpstream")) {
    std::string s = StrOpt(o, "dnsUpstream");
    size_t colon = s.rfind(':');
    char* end = nullptr;
    long port = colon == std::string::npos ? -1 : strtol(s.c_str() + colon + 1, &end, 10);
    if (port < 1 || port > 65535 || !end || *end) Bad(env, "dnsUpstream must be IPv4:PORT, e.g. 127.0.0.1:5353: " + s);
    e.dns_upstream = true;
    e.upstream_addr = V4(env, s.substr(0, colon), "dnsUpstream");
    e.upstream_port = htons((uint16_t)port);
  }
  if (Has(o, "pidfd")) e.pidfd = IntOpt(env, o, "pidfd", -1, 0, 1 << 30);
  return e;
}

Napi::Object EndInfo(Napi::Env env, const SlirpEngine& e) {
  Napi::Object r = Napi::Object::New(env);
  switch (e.end_reason) {
    case EndReason::kProcessExited: r.Set("reason", "exited"); break;
    case EndReason::kTapGone: r.Set("reason", "tap-gone"); break;
    default:
      r.Set("reason", "error");
      r.Set("error", ErrnoError(env, e.end_errno, e.end_what).Value());
  }
  return r;
}

// Stops an engine on the JS thread and forgets it. The thread holds the
// ThreadSafeFunction until it ends: when it ended on its own it released it
// itself.
void Finish(std::map<uint32_t, Running>::iterator it) {
  SlirpEngine* e = it->second.engine;
  e->Stop();
  if (e->end_reason == EndReason::kStopped) it->second.tsfn.Release();
  g_engines.erase(it);
}

void CleanupHook(void* arg) {
  napi_env env = static_cast<napi_env>(arg);
  g_hooked.erase(env);
  for (auto it = g_engines.begin(); it != g_engines.end();) {
    auto next = std::next(it);
    if (it->second.env == env) {
      SlirpEngine* e = it->second.engine;
      Finish(it);
      delete e;
    }
    it = next;
  }
}

}  // namespace

// slirpStart(opts, onExit) -> id. Takes over opts.tapFd (closed by
// slirpStop or when the engine ends); dups opts.pidfd.
Napi::Value SlirpStart(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsObject()) throw Napi::TypeError::New(env, "slirpStart: options object required");
  if (!info[1].IsFunction()) throw Napi::TypeError::New(env, "slirpStart: onExit callback required");
  EngineOptions o = Parse(env, info[0].As<Napi::Object>());
  if (o.pidfd >= 0) {
    o.pidfd = fcntl(o.pidfd, F_DUPFD_CLOEXEC, 3);
    if (o.pidfd < 0) throw ErrnoError(env, errno, "fcntl", "pidfd");
  }
  auto tsfn = Napi::ThreadSafeFunction::New(env, info[1].As<Napi::Function>(), "rk-slirp", 0, 1);
  int err = 0;
  std::string what;
  SlirpEngine* e = SlirpEngine::Create(o, &err, &what);
  if (!e) {
    if (o.pidfd >= 0) close(o.pidfd);
    tsfn.Release();
    throw ErrnoError(env, err, what);
  }
  if (g_hooked.insert(env).second) napi_add_env_cleanup_hook(env, CleanupHook, env);
  uint32_t id = g_next_id++;
  g_engines[id] = Running{e, tsfn, env};
  e->Start([id, tsfn]() mutable {
    // On the engine thread, once, when it ended on its own.
    tsfn.BlockingCall([id](Napi::Env env, Napi::Function cb) {
      auto it = g_engines.find(id);
      if (it == g_engines.end()) return;  // slirpStop came first
      SlirpEngine* e = it->second.engine;
      Finish(it);
      Napi::Object r = EndInfo(env, *e);
      delete e;
      cb.Call({r});
    });
    tsfn.Release();
  });
  return Napi::Number::New(env, id);
}

// slirpStop(id) -> true, or false when the engine had already ended.
Napi::Value SlirpStop(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto it = g_engines.find(info[0].ToNumber().Uint32Value());
  if (it == g_engines.end()) return Napi::Boolean::New(env, false);
  SlirpEngine* e = it->second.engine;
  Finish(it);
  delete e;
  return Napi::Boolean::New(env, true);
}

// slirpStats(id) -> counters, or null when the engine has ended.
Napi::Value SlirpStats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto it = g_engines.find(info[0].ToNumber().Uint32Value());
  if (it == g_engines.end()) return env.Null();
  const EngineStats& s = it->second.engine->stats;
  Napi::Object r = Napi::Object::New(env);
  auto set = [&](const char* k, const std::atomic<uint64_t>& v) {
    r.Set(k, Napi::Number::New(env, (double)v.load(std::memory_order_relaxed)));
  };
  set("inPackets", s.in_packets);
  set("inBytes", s.in_bytes);
  set("outPackets", s.out_packets);
  set("outBytes", s.out_bytes);
  set("inDropped", s.in_dropped);
  set("outDropped", s.out_dropped);
  set("inGso", s.in_gso);
  set("outGso", s.out_gso);
  set("guestErrors", s.guest_errors);
  return r;
}

}  // namespace rk
