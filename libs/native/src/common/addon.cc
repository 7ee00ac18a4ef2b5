// The rootlesskit native addon: the one place for system calls Node lacks.
#include <napi.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <fcntl.h>

#include "common/exports.h"

namespace rk {

static void Constants(Napi::Env env, Napi::Object exports) {
  Napi::Object c = Napi::Object::New(env);
#define K(name) c.Set(#name, Napi::Number::New(env, (double)(name)))
  K(CLONE_NEWUSER); K(CLONE_NEWNS); K(CLONE_NEWNET); K(CLONE_NEWPID);
  K(CLONE_NEWUTS); K(CLONE_NEWIPC); K(CLONE_NEWCGROUP);
  K(MS_RDONLY); K(MS_NOSUID); K(MS_NODEV); K(MS_NOEXEC); K(MS_REMOUNT);
  K(MS_BIND); K(MS_MOVE); K(MS_REC); K(MS_PRIVATE); K(MS_SLAVE); K(MS_SHARED);
  K(MS_UNBINDABLE); K(MNT_DETACH); K(SIGKILL);
  K(O_RDONLY); K(O_WRONLY); K(O_RDWR); K(O_CREAT); K(O_EXCL); K(O_NOFOLLOW); K(O_DIRECTORY); K(O_NONBLOCK);
  K(O_TRUNC); K(O_APPEND); K(AT_FDCWD);
#undef K
  exports.Set("constants", c);
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("spawn", Napi::Function::New(env, Spawn, "spawn"));
  exports.Set("exec", Napi::Function::New(env, Exec, "exec"));
  exports.Set("flock", Napi::Function::New(env, Flock, "flock"));
  exports.Set("mkfifo", Napi::Function::New(env, Mkfifo, "mkfifo"));
  exports.Set("runPlan", Napi::Function::New(env, RunPlanNow, "runPlan"));
  exports.Set("watchChild", Napi::Function::New(env, WatchChild, "watchChild"));
  exports.Set("listenUnix", Napi::Function::New(env, ListenUnix, "listenUnix"));
  exports.Set("whenReadable", Napi::Function::New(env, WhenReadable, "whenReadable"));
  exports.Set("runProgram", Napi::Function::New(env, RunProgram, "runProgram"));
  exports.Set("makePipe", Napi::Function::New(env, MakePipe, "makePipe"));
  exports.Set("nsRun", Napi::Function::New(env, NsRunJs, "nsRun"));
  exports.Set("openNamespaces", Napi::Function::New(env, OpenNamespaces, "openNamespaces"));
  exports.Set("natEngineConfig", Napi::Function::New(env, NatEngineConfig, "natEngineConfig"));
  exports.Set("memfdCreate", Napi::Function::New(env, MemfdCreate, "memfdCreate"));
  exports.Set("frameFilterProbe", Napi::Function::New(env, FrameFilterProbe, "frameFilterProbe"));
  exports.Set("tunnelGsoProbe", Napi::Function::New(env, TunnelGsoProbe, "tunnelGsoProbe"));
  // fsat.cc
  exports.Set("openAt", Napi::Function::New(env, OpenAt, "openAt"));
  exports.Set("unlinkAt", Napi::Function::New(env, UnlinkAt, "unlinkAt"));
  exports.Set("mkfifoAt", Napi::Function::New(env, MkfifoAt, "mkfifoAt"));
  exports.Set("mkdirAt", Napi::Function::New(env, MkdirAt, "mkdirAt"));
  exports.Set("statAt", Napi::Function::New(env, StatAt, "statAt"));
  exports.Set("renameAt", Napi::Function::New(env, RenameAt, "renameAt"));
  exports.Set("pidfdOpen", Napi::Function::New(env, PidfdOpen, "pidfdOpen"));
  exports.Set("pidfdSignal", Napi::Function::New(env, PidfdSignal, "pidfdSignal"));
  exports.Set("ignoreSignals", Napi::Function::New(env, IgnoreSignals, "ignoreSignals"));
  exports.Set("startFramePump", Napi::Function::New(env, StartFramePump, "startFramePump"));
  exports.Set("stopFramePump", Napi::Function::New(env, StopFramePump, "stopFramePump"));
  exports.Set("framePumpStats", Napi::Function::New(env, FramePumpStats, "framePumpStats"));
  exports.Set("setTapMac", Napi::Function::New(env, SetTapMac, "setTapMac"));
  exports.Set("connectUnix", Napi::Function::New(env, ConnectUnix, "connectUnix"));
  exports.Set("bindUdpToDevice", Napi::Function::New(env, BindUdpToDevice, "bindUdpToDevice"));
  exports.Set("setNonBlocking", Napi::Function::New(env, SetNonBlocking, "setNonBlocking"));
  exports.Set("ifMac", Napi::Function::New(env, IfMac, "ifMac"));
  exports.Set("relayCreate", Napi::Function::New(env, RelayCreate, "relayCreate"));
  exports.Set("relayAddPort", Napi::Function::New(env, RelayAddPort, "relayAddPort"));
  exports.Set("relayRemovePort", Napi::Function::New(env, RelayRemovePort, "relayRemovePort"));
  exports.Set("relayStats", Napi::Function::New(env, RelayStats, "relayStats"));
  exports.Set("relaySetDebug", Napi::Function::New(env, RelaySetDebug, "relaySetDebug"));
  exports.Set("relayClose", Napi::Function::New(env, RelayClose, "relayClose"));
  exports.Set("bypassStart", Napi::Function::New(env, BypassStart, "bypassStart"));
  exports.Set("bypassStats", Napi::Function::New(env, BypassStats, "bypassStats"));
  exports.Set("bypassSetDebug", Napi::Function::New(env, BypassSetDebug, "bypassSetDebug"));
  exports.Set("bypassStop", Napi::Function::New(env, BypassStop, "bypassStop"));
  exports.Set("bypassInstall", Napi::Function::New(env, BypassInstall, "bypassInstall"));
  Constants(env, exports);
  return exports;
}

}  // namespace rk

static Napi::Object InitAddon(Napi::Env env, Napi::Object exports) { return rk::Init(env, exports); }

NODE_API_MODULE(rk_native, InitAddon)
