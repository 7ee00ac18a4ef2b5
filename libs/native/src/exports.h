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
Napi::Value NsRunJs(const Napi::CallbackInfo& info);        // nsexec.cc
Napi::Value OpenNamespaces(const Napi::CallbackInfo& info); // nsexec.cc
Napi::Value RelayCreate(const Napi::CallbackInfo& info);      // relay_js.cc
Napi::Value RelayAddPort(const Napi::CallbackInfo& info);     // relay_js.cc
Napi::Value RelayRemovePort(const Napi::CallbackInfo& info);  // relay_js.cc
Napi::Value RelayStats(const Napi::CallbackInfo& info);       // relay_js.cc
Napi::Value RelaySetDebug(const Napi::CallbackInfo& info);    // relay_js.cc
Napi::Value RelayClose(const Napi::CallbackInfo& info);       // relay_js.cc
}  // namespace rk
