import { PlanBuilder } from './builder.js';
import { propagationSteps } from './propagation.js';
import { overlaySteps } from './overlay.js';
import { readMounts, submountsBelow } from './submounts.js';
import { tmpfsSymlinkSteps } from './tmpfs-symlink.js';
import { DEFAULT_COPY_UP_MODE, type CopyUpOptions, type MountPlan } from './types.js';
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
  const mode = opts.mode ?? DEFAULT_COPY_UP_MODE;
  const mounts = mode === 'tmpfs+symlink' || dirs.length === 0 ? [] : (opts.mounts ?? readMounts());
  for (const dir of dirs) {
    if (mode === 'tmpfs+symlink') tmpfsSymlinkSteps(b, dir, opts.emptyDirs ?? []);
    else overlaySteps(b, dir, submountsBelow(dir.path, mounts), opts.emptyDirs ?? [], mode === 'auto');
  }
  return b.build();
}
