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
// kCloneFrom: open_tree(slots[from], path, OPEN_TREE_CLONE | AT_RECURSIVE)
// into slot `slot`: the mount tree at the relative path inside a detached
// tree (a submount, to attach again on top of an overlay).
// kOverlay: an overlay on target whose lower layer is the detached tree in
// `slot` (given as /proc/self/fd/N) and whose upper and work dirs live on a
// private tmpfs made for it (fsopen/fsmount, never attached anywhere); the
// upper dir, the overlay's root, gets `mode`. Mounted with userxattr (Linux
// >= 5.11 mounts overlayfs in a user namespace). The slot stays open.
// kSkip: skip the next `count` steps. A step with else_skip >= 0 that fails
// skips the next else_skip steps instead of failing the plan (an
// alternative); jumps only go forward, so a plan always ends.
enum class StepOp { kMount, kUmount, kMkdir, kRmdir, kSymlink, kIfUp, kUnlink, kMkfile, kCloneTree, kMoveTree, kCloneFrom, kOverlay, kSkip };

// Slots for detached mount trees during one RunPlan.
constexpr int kPlanSlots = 8;

struct Step {
  StepOp op;
  std::string source, target, fstype, data, path, name;
  unsigned long flags = 0;
  unsigned mode = 0755;
  bool optional = false;  // failure is ignored
  bool exist_ok = false;  // mkdir: EEXIST is fine
  int slot = 0;           // cloneTree/moveTree/cloneFrom/overlay: 0..kPlanSlots-1
  int from = 0;           // cloneFrom: the slot holding the detached tree
  int count = 0;          // skip: how many steps
  int else_skip = -1;     // >= 0: on failure, skip this many steps and go on
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
