// Arguments that may be strings (UTF-8) or Buffers (raw bytes: argv and
// environment entries that are not UTF-8 pass through unchanged).
#pragma once
#include <napi.h>
#include <signal.h>
#include <string>

namespace rk {

// The bytes of a string (UTF-8) or a Buffer.
std::string Bytes(const Napi::Value& v);

// The signal dispositions and mask the caller of our command had (captured
// before Node started; see libs/cli/src/inherited.ts): applied to CMD before
// exec so it starts as it would have without us in between.
struct InheritedSignals {
  unsigned long long ignore = 0;  // bit sig-1: SIG_IGN
  unsigned long long block = 0;   // bit sig-1: blocked
};

// Reads {ignore: "hex", block: "hex"} (missing: nothing ignored or blocked).
InheritedSignals ParseInheritedSignals(const Napi::Value& v);

// Async-signal-safe: every signal to SIG_DFL but those in `ignore` (SIG_IGN),
// then the mask to `block`.
void ApplyInheritedSignals(const InheritedSignals& s);

}  // namespace rk
