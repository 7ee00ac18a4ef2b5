// A probe of the NAT engine's UDP tunnel GSO splitter (tunnel_gso.h), for
// tests only: tunnelGsoProbe(header, frame) -> the segments as Buffers, or
// null when the splitter refuses the frame. header is the 24-byte virtio-net
// header the tap would have given, frame what followed it.
#include <string.h>

#include "common/exports.h"
#include "nat/tunnel_gso.h"

namespace rk {

Napi::Value TunnelGsoProbe(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsBuffer() || !info[1].IsBuffer()) throw Napi::TypeError::New(env, "tunnelGsoProbe(header, frame): two Buffers");
  auto hb = info[0].As<Napi::Buffer<uint8_t>>();
  auto fb = info[1].As<Napi::Buffer<uint8_t>>();
  if (hb.Length() != sizeof(VnetTnlHdr)) throw Napi::TypeError::New(env, "tunnelGsoProbe: the header is 24 bytes");
  VnetTnlHdr h;
  memcpy(&h, hb.Data(), sizeof h);
  std::vector<uint8_t> frame(fb.Data(), fb.Data() + fb.Length());
  TunnelGsoSplitter splitter;
  Napi::Array out = Napi::Array::New(env);
  uint32_t i = 0;
  int n = splitter.Split(h, frame.data(), frame.size(), [&](uint8_t* seg, size_t len) {
    out.Set(i++, Napi::Buffer<uint8_t>::Copy(env, seg, len));
  });
  if (n < 0) return env.Null();
  return out;
}

}  // namespace rk
