// Every function the addon exports, grouped by the file that holds it.
#pragma once
#include <napi.h>

namespace rk {
Napi::Value Spawn(const Napi::CallbackInfo& info);       // spawn.cc
Napi::Value Exec(const Napi::CallbackInfo& info);        // exec.cc
Napi::Value Flock(const Napi::CallbackInfo& info);       // fsops.cc
Napi::Value Mkfifo(const Napi::CallbackInfo& info);      // fsops.cc
Napi::Value RunPlanNow(const Napi::CallbackInfo& info);  // fsops.cc
Napi::Value RunProgram(const Napi::CallbackInfo& info);  // run.cc
Napi::Value WatchChild(const Napi::CallbackInfo& info);  // watch.cc
Napi::Value ListenUnix(const Napi::CallbackInfo& info);  // sock.cc
Napi::Value WhenReadable(const Napi::CallbackInfo& info);  // sock.cc
Napi::Value MakePipe(const Napi::CallbackInfo& info);        // fsops.cc
Napi::Value NsRunJs(const Napi::CallbackInfo& info);        // nsexec.cc
Napi::Value OpenNamespaces(const Napi::CallbackInfo& info); // nsexec.cc
Napi::Value NatEngineConfig(const Napi::CallbackInfo& info);  // engine_js.cc
Napi::Value MemfdCreate(const Napi::CallbackInfo& info);      // engine_js.cc
Napi::Value FrameFilterProbe(const Napi::CallbackInfo& info);  // frame_filter_js.cc (tests only)
Napi::Value TunnelGsoProbe(const Napi::CallbackInfo& info);    // tunnel_gso_js.cc (tests only)
// fsat.cc: files relative to a directory fd, pidfds, ignoring inherited signals
Napi::Value OpenAt(const Napi::CallbackInfo& info);
Napi::Value UnlinkAt(const Napi::CallbackInfo& info);
Napi::Value MkfifoAt(const Napi::CallbackInfo& info);
Napi::Value MkdirAt(const Napi::CallbackInfo& info);
Napi::Value StatAt(const Napi::CallbackInfo& info);
Napi::Value RenameAt(const Napi::CallbackInfo& info);
Napi::Value PidfdOpen(const Napi::CallbackInfo& info);
Napi::Value PidfdSignal(const Napi::CallbackInfo& info);
Napi::Value IgnoreSignals(const Napi::CallbackInfo& info);
// frames.cc: tap <-> length-prefixed stream pump (vde_plug, vpnkit), and its set-up calls
Napi::Value StartFramePump(const Napi::CallbackInfo& info);
Napi::Value StopFramePump(const Napi::CallbackInfo& info);
Napi::Value FramePumpStats(const Napi::CallbackInfo& info);
Napi::Value SetTapMac(const Napi::CallbackInfo& info);
Napi::Value ConnectUnix(const Napi::CallbackInfo& info);
Napi::Value BindUdpToDevice(const Napi::CallbackInfo& info);
Napi::Value SetNonBlocking(const Napi::CallbackInfo& info);
Napi::Value IfMac(const Napi::CallbackInfo& info);
Napi::Value RelayCreate(const Napi::CallbackInfo& info);      // relay_js.cc
Napi::Value RelayAddPort(const Napi::CallbackInfo& info);     // relay_js.cc
Napi::Value RelayRemovePort(const Napi::CallbackInfo& info);  // relay_js.cc
Napi::Value RelayStats(const Napi::CallbackInfo& info);       // relay_js.cc
Napi::Value RelaySetDebug(const Napi::CallbackInfo& info);    // relay_js.cc
Napi::Value RelayClose(const Napi::CallbackInfo& info);       // relay_js.cc
// bypass_js.cc: the socket bypass's supervisor and filter
Napi::Value BypassStart(const Napi::CallbackInfo& info);
Napi::Value BypassStats(const Napi::CallbackInfo& info);
Napi::Value BypassSetDebug(const Napi::CallbackInfo& info);
Napi::Value BypassStop(const Napi::CallbackInfo& info);
Napi::Value BypassInstall(const Napi::CallbackInfo& info);
}  // namespace rk
