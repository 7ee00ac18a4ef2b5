// What the parent hands the rk-nat-engine process (engine_main.cc), built by
// natEngineConfig (engine_js.cc) from the JS options: the engine's options as
// bytes on a pipe (fd 4), and a memfd (fd 5) that the engine maps to publish
// its counters, which the parent reads with pread (Node: fs.readSync).
// Both sides are this one build, so the struct's layout is shared as is.
#pragma once
#include <stdint.h>

#include <type_traits>

#include "nat/slirp_engine.h"

namespace rk {

// The fds of the engine process.
constexpr int kEngineTapFd = 3, kEngineConfigFd = 4, kEngineStatsFd = 5;

constexpr uint32_t kEngineConfigMagic = 0x524b4e31;  // "RKN1"

struct EngineConfigBlob {
  uint32_t magic = kEngineConfigMagic;
  uint32_t size = sizeof(EngineConfigBlob);
  EngineOptions opts;  // tap_fd is ignored: the tap is fd 3
};
static_assert(std::is_trivially_copyable<EngineConfigBlob>::value, "sent as bytes");

// The counters in the memfd: EngineStats, each a little-endian uint64, in
// the order of the fields of EngineStats (index.ts reads them by name).
static_assert(sizeof(std::atomic<uint64_t>) == 8 && std::atomic<uint64_t>::is_always_lock_free, "shared counters");
constexpr size_t kEngineStatsBytes = 4096;
static_assert(sizeof(EngineStats) <= kEngineStatsBytes, "stats fit the memfd");

// Exit statuses of the engine process.
constexpr int kEngineExitTapGone = 3;   // the tap device went away (the namespace is gone)
constexpr int kEngineExitBadSetup = 2;  // bad fds or config (a bug of ours)
constexpr int kEngineExitError = 1;     // set-up or loop failed (stderr says why)

}  // namespace rk
