// Mount namespace set-up as a plan: propagation and tmpfs+symlink copy-up.
// The plan is computed here and run by @rk/native (directly, or in a child
// before exec).
export type { Propagation, CopyUpMode, CopyUpOptions, MountPlan } from './types.js';
export { propagationSteps } from './propagation.js';
export { copyUpPlan } from './plan.js';
export { validateCopyUp } from './validate.js';
