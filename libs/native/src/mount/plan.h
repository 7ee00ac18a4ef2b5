// A mount plan: a list of filesystem steps computed in TypeScript and executed
// here, either directly (rk-copyup) or in a freshly cloned child before exec.
// RunPlan only makes raw system calls: it is safe between fork and exec.
#pragma once
#include <napi.h>
#include <string>
#include <vector>

namespace rk {

// kCloneTree: open_tree(path, OPEN_TREE_CLONE | AT_RECURSIVE) into slot `slot`:
// a detached copy of the mount tree at path, visible nowhere. kMoveTree:
// move_mount the tree in `slot` onto target and close the slot. Together they
// move a tree aside without a host-visible staging dir (Linux >= 5.2).
enum class StepOp { kMount, kUmount, kMkdir, kRmdir, kSymlink, kIfUp, kUnlink, kMkfile, kCloneTree, kMoveTree };

// Slots for detached mount trees during one RunPlan.
constexpr int kPlanSlots = 8;

struct Step {
  StepOp op;
  std::string source, target, fstype, data, path, name;
  unsigned long flags = 0;
  unsigned mode = 0755;
  bool optional = false;  // failure is ignored
  bool exist_ok = false;  // mkdir: EEXIST is fine
  int slot = 0;           // cloneTree/moveTree: 0..kPlanSlots-1
};

using Plan = std::vector<Step>;

// Parses [{op:'mount', source, target, fstype, flags, data}, ...].
Plan ParsePlan(const Napi::Array& steps);

// Runs the steps in order. Returns 0, or the errno of the first failing
// non-optional step and sets *failed to its index. Detached trees still in a
// slot at the end (a failed plan) are closed: they vanish with their fd.
int RunPlan(const Plan& plan, int* failed);

// Human-readable description of a step, for error messages.
std::string DescribeStep(const Step& step);

}  // namespace rk
