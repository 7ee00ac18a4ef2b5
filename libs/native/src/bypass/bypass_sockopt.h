#pragma once

namespace rk {
namespace bypass {
// Copies the options set on `from` (the application's socket) to `to` (the
// host socket, same family and type) where they differ. Returns how many.
int CopySockopts(int from, int to, int family, int type);
}  // namespace bypass
}  // namespace rk
