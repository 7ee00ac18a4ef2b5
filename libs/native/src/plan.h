// A mount plan: a list of filesystem steps computed in TypeScript and executed
// here, either directly (rk-copyup) or in a freshly cloned child before exec.
// RunPlan only makes raw system calls: it is safe between fork and exec.
#pragma once
#include <napi.h>
#include <string>
#include <vector>

namespace rk {

enum class StepOp { kMount, kUmount, kMkdir, kRmdir, kSymlink, kIfUp, kUnlink, kMkfile };

struct Step {
  StepOp op;
  std::string source, target, fstype, data, path, name;
  unsigned long flags = 0;
  unsigned mode = 0755;
  bool optional = false;  // failure is ignored
  bool exist_ok = false;  // mkdir: EEXIST is fine
};

using Plan = std::vector<Step>;

// Parses [{op:'mount', source, target, fstype, flags, data}, ...].
Plan ParsePlan(const Napi::Array& steps);

// Runs the steps in order. Returns 0, or the errno of the first failing
// non-optional step and sets *failed to its index.
int RunPlan(const Plan& plan, int* failed);

// Human-readable description of a step, for error messages.
std::string DescribeStep(const Step& step);

}  // namespace rk
