// Errors shaped like Node's own system errors: message, code, errno, syscall.
#pragma once
#include <napi.h>
#include <string>

namespace rk {

// Name of an errno value as Node prints it ("EPERM"), or "UNKNOWN".
const char* ErrnoName(int err);

// Builds an Error with .code, .errno (negative, as Node does), .syscall and an
// optional .path; message is "<syscall> <what>: <CODE> (<strerror>)".
Napi::Error ErrnoError(Napi::Env env, int err, const std::string& syscall,
                       const std::string& what = "");

}  // namespace rk
