// A probe of the NAT engine's frame filter (frame_filter.h), for tests only:
// frameFilterProbe(config, steps, opts) runs one filter over crafted frames
// and reports each verdict, the whole datagrams it made, its counters and
// its log lines. No engine, no tap, no socket.
#include <arpa/inet.h>
#include <stdlib.h>

#include <string>
#include <vector>

#include "common/exports.h"
#include "nat/frame_filter.h"

namespace rk {

namespace {

[[noreturn]] void Bad(Napi::Env env, const std::string& msg) {
  throw Napi::TypeError::New(env, "frameFilterProbe: " + msg);
}

bool Has(const Napi::Object& o, const char* key) {
  Napi::Value v = o.Get(key);
  return !v.IsUndefined() && !v.IsNull();
}

double Num(Napi::Env env, const Napi::Object& o, const char* key, double lo, double hi) {
  Napi::Value v = o.Get(key);
  double d = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : -1e300;
  if (d != (double)(int64_t)d || d < lo || d > hi) {
    Bad(env, std::string(key) + " must be an integer from " + std::to_string((int64_t)lo) + " to " +
                 std::to_string((int64_t)hi));
  }
  return d;
}

std::string Str(const Napi::Object& o, const char* key) { return o.Get(key).ToString().Utf8Value(); }

void V4(Napi::Env env, const Napi::Object& o, const char* key, uint32_t* out) {
  if (!Has(o, key)) return;
  in_addr a;
  if (inet_pton(AF_INET, Str(o, key).c_str(), &a) != 1) Bad(env, std::string(key) + " is not an IPv4 address");
  *out = a.s_addr;
}

void V6(Napi::Env env, const Napi::Object& o, const char* key, uint8_t* out) {
  if (!Has(o, key)) return;
  if (inet_pton(AF_INET6, Str(o, key).c_str(), out) != 1) Bad(env, std::string(key) + " is not an IPv6 address");
}

FilterConfig ParseConfig(Napi::Env env, const Napi::Object& o) {
  FilterConfig c;
  c.disable_host_loopback = o.Get("disableHostLoopback").ToBoolean();
  if (Has(o, "maxSockets")) c.max_sockets = (size_t)Num(env, o, "maxSockets", 0, 1 << 24);
  V4(env, o, "gateway4", &c.gateway4);
  V4(env, o, "dns4", &c.dns4);
  V6(env, o, "gateway6", c.gateway6);
  V6(env, o, "dns6", c.dns6);
  if (Has(o, "loopbackExempt")) {
    std::string s = Str(o, "loopbackExempt");
    size_t colon = s.rfind(':');
    in_addr a;
    long port = colon == std::string::npos ? -1 : strtol(s.c_str() + colon + 1, nullptr, 10);
    if (port < 1 || port > 65535 || inet_pton(AF_INET, s.substr(0, colon).c_str(), &a) != 1) {
      Bad(env, "loopbackExempt must be IPv4:PORT, e.g. 127.0.0.1:5353");
    }
    c.loopback_exempt4 = a.s_addr;
    c.loopback_exempt_port = htons((uint16_t)port);
  }
  if (Has(o, "reassMaxDatagrams")) c.reass_max_datagrams = (size_t)Num(env, o, "reassMaxDatagrams", 1, 4096);
  if (Has(o, "reassMaxBytes")) c.reass_max_bytes = (size_t)Num(env, o, "reassMaxBytes", 0, 1 << 27);
  if (Has(o, "reassTimeoutMs")) c.reass_timeout_ms = (int64_t)Num(env, o, "reassTimeoutMs", 0, 1e9);
  if (Has(o, "udpSourceWindowMs")) c.udp_source_window_ms = (int64_t)Num(env, o, "udpSourceWindowMs", 0, 1e12);
  return c;
}

Napi::Object StatsObject(Napi::Env env, const FilterStats& s) {
  Napi::Object r = Napi::Object::New(env);
  auto set = [&](const char* k, uint64_t v) { r.Set(k, Napi::Number::New(env, (double)v)); };
  set("passed", s.passed);
  set("malformedDropped", s.malformed_dropped);
  set("loopbackDropped", s.loopback_dropped);
  set("budgetDropped", s.budget_dropped);
  set("fragDropped", s.frag_dropped);
  set("fragHeld", s.frag_held);
  set("reassembled", s.reassembled);
  set("reassBad", s.reass_bad);
  set("reassTooLong", s.reass_too_long);
  set("reassExpired", s.reass_expired);
  set("reassEvicted", s.reass_evicted);
  set("v6FragDropped", s.v6_frag_dropped);
  set("reassPending", s.reass_pending);
  set("reassBytes", s.reass_bytes);
  set("reassBytesPeak", s.reass_bytes_peak);
  set("udpSources", s.udp_sources);
  set("openSockets", s.open_sockets);
  return r;
}

}  // namespace

// frameFilterProbe(config, steps, opts?) -> {verdicts, outputs, snapshots,
// stats, logs, nextExpiryMs}. A step is {nowMs, frame?, openSockets?,
// expire?, snapshot?}, applied in that order: sockets, expiry, frame,
// snapshot. opts.outputs: 'reassembled' (default), 'all' or 'none'.
Napi::Value FrameFilterProbe(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsObject()) Bad(env, "config object required");
  if (!info[1].IsArray()) Bad(env, "steps array required");
  FrameFilter filter(ParseConfig(env, info[0].As<Napi::Object>()));
  std::string outputs = "reassembled";
  if (info[2].IsObject() && Has(info[2].As<Napi::Object>(), "outputs")) outputs = Str(info[2].As<Napi::Object>(), "outputs");
  if (outputs != "reassembled" && outputs != "all" && outputs != "none") Bad(env, "outputs must be reassembled, all or none");

  Napi::Array steps = info[1].As<Napi::Array>();
  uint32_t n = steps.Length();
  Napi::Array verdicts = Napi::Array::New(env, n), outs = Napi::Array::New(env, n);
  Napi::Array snapshots = Napi::Array::New(env), logs = Napi::Array::New(env);
  Napi::String names[4] = {Napi::String::New(env, "pass"), Napi::String::New(env, "drop"),
                           Napi::String::New(env, "held"), Napi::String::New(env, "reassembled")};
  std::vector<uint8_t> scratch;  // the filter may not write to a JS buffer
  std::string line;
  for (uint32_t i = 0; i < n; i++) {
    Napi::Value sv = steps[i];
    if (!sv.IsObject()) Bad(env, "step " + std::to_string(i) + " is not an object");
    Napi::Object st = sv.As<Napi::Object>();
    int64_t now = (int64_t)Num(env, st, "nowMs", -1e15, 1e15);
    if (Has(st, "openSockets")) filter.SetOpenSockets((size_t)Num(env, st, "openSockets", 0, 1e9));
    if (st.Get("expire").ToBoolean()) filter.Expire(now);
    Napi::Value verdict = env.Null(), out = env.Null();
    if (Has(st, "frame")) {
      Napi::Value fv = st.Get("frame");
      if (!fv.IsBuffer()) Bad(env, "step " + std::to_string(i) + ": frame must be a Buffer");
      Napi::Buffer<uint8_t> b = fv.As<Napi::Buffer<uint8_t>>();
      scratch.assign(b.Data(), b.Data() + b.Length());
      const uint8_t* o = nullptr;
      size_t olen = 0;
      FrameFilter::Verdict v = filter.Inbound(scratch.data(), scratch.size(), now, &o, &olen);
      verdict = names[(int)v];
      bool want = (v == FrameFilter::Verdict::kReassembled && outputs != "none") ||
                  (v == FrameFilter::Verdict::kPass && outputs == "all");
      if (want) out = Napi::Buffer<uint8_t>::Copy(env, o, olen);
    }
    verdicts[i] = verdict;
    outs[i] = out;
    while (filter.TakeLogLine(&line)) logs[logs.Length()] = Napi::String::New(env, line);
    if (st.Get("snapshot").ToBoolean()) {
      Napi::Object snap = StatsObject(env, filter.stats());
      snap.Set("step", Napi::Number::New(env, i));
      snap.Set("nextExpiryMs", Napi::Number::New(env, (double)filter.NextExpiryMs()));
      snapshots[snapshots.Length()] = snap;
    }
  }
  Napi::Object r = Napi::Object::New(env);
  r.Set("verdicts", verdicts);
  r.Set("outputs", outs);
  r.Set("snapshots", snapshots);
  r.Set("stats", StatsObject(env, filter.stats()));
  r.Set("logs", logs);
  r.Set("nextExpiryMs", Napi::Number::New(env, (double)filter.NextExpiryMs()));
  return r;
}

}  // namespace rk
