#include "common/errors.h"

#include <errno.h>
#include <string.h>
#include <uv.h>

namespace rk {

const char* ErrnoName(int err) {
  // The name Node uses (libuv's), else glibc's own ("ECHILD": libuv has none).
  const char* name = uv_err_name(-err);
  if (name && strncmp(name, "Unknown", 7) != 0) return name;
  name = strerrorname_np(err);
  return name ? name : "UNKNOWN";
}

Napi::Error ErrnoError(Napi::Env env, int err, const std::string& syscall,
                       const std::string& what) {
  std::string msg = syscall;
  if (!what.empty()) msg += " " + what;
  msg += ": ";
  msg += ErrnoName(err);
  msg += " (";
  msg += strerror(err);
  msg += ")";
  Napi::Error e = Napi::Error::New(env, msg);
  e.Set("code", Napi::String::New(env, ErrnoName(err)));
  e.Set("errno", Napi::Number::New(env, -err));
  e.Set("syscall", Napi::String::New(env, syscall));
  if (!what.empty()) e.Set("path", Napi::String::New(env, what));
  return e;
}

}  // namespace rk
