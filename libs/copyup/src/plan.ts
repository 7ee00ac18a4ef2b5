import { PlanBuilder } from './builder.js';
import { propagationSteps } from './propagation.js';
import { tmpfsSymlinkSteps } from './tmpfs-symlink.js';
import type { CopyUpOptions, MountPlan } from './types.js';
import { resolveCopyUp } from './validate.js';

/**
 * Validates `opts` (RkError on a refusal) and computes every step: the
 * propagation of "/" first (when given), then each directory in order.
 * Nothing is changed on the system by this call; runPlan executes the steps.
 */
export function copyUpPlan(opts: CopyUpOptions): MountPlan {
  const { dirs } = resolveCopyUp(opts);
  const b = new PlanBuilder();
  if (opts.propagation !== undefined) {
    for (const s of propagationSteps(opts.propagation)) b.add(s, `set the propagation of / to ${opts.propagation}`);
  }
  for (const dir of dirs) tmpfsSymlinkSteps(b, dir, opts.emptyDirs ?? []);
  return b.build();
}
