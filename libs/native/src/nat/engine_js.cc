// JS side of the NAT engine process: natEngineConfig checks the options and
// lays them out for rk-nat-engine (engine_config.h); memfdCreate makes the
// memory its counters are published in. Starting, watching and restarting
// the process is TypeScript's (libs/net/src/nat-engine.ts).
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <string>

#include "common/errors.h"
#include "common/exports.h"
#include "nat/engine_config.h"

namespace rk {

namespace {

[[noreturn]] void Bad(Napi::Env env, const std::string& msg) {
  throw Napi::TypeError::New(env, "natEngineConfig: " + msg);
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
  e.max_sockets = (uint32_t)IntOpt(env, o, "maxSockets", 4096, 16, 1 << 20);
  e.udp_fast = !Has(o, "udpFastPath") || BoolOpt(o, "udpFastPath");
  e.tunnel_gso = !Has(o, "tunnelGso") || BoolOpt(o, "tunnelGso");
  return e;
}

}  // namespace

// natEngineConfig(opts) -> Buffer: the options checked (TypeError naming the
// bad one) and laid out for the engine process (engine_config.h).
Napi::Value NatEngineConfig(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsObject()) throw Napi::TypeError::New(env, "natEngineConfig: options object required");
  EngineConfigBlob blob;
  blob.opts = Parse(env, info[0].As<Napi::Object>());
  blob.opts.tap_fd = -1;
  return Napi::Buffer<uint8_t>::Copy(env, reinterpret_cast<const uint8_t*>(&blob), sizeof blob);
}

// memfdCreate(name, size) -> fd (close-on-exec), zero-filled, of that size.
Napi::Value MemfdCreate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name = info[0].ToString().Utf8Value();
  int64_t size = info[1].ToNumber().Int64Value();
  int fd = memfd_create(name.c_str(), MFD_CLOEXEC);
  if (fd < 0) throw ErrnoError(env, errno, "memfd_create");
  if (ftruncate(fd, size) < 0) {
    int err = errno;
    close(fd);
    throw ErrnoError(env, err, "ftruncate", "memfd");
  }
  return Napi::Number::New(env, fd);
}

}  // namespace rk
