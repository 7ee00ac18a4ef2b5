#pragma once
#include <napi.h>

namespace rk {
// spawn({file, argv, env, cloneFlags, gate, pdeathsig, fds, plan, reaper})
//   -> {pid, gateFd, reportFd}

// Size of one record the child writes on reportFd.
constexpr int kReportSize = 16;
}  // namespace rk
