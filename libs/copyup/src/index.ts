// Mount namespace set-up as a plan: propagation and copy-up (tmpfs+symlink or
// overlayfs). The plan is computed here and run by @rk/native (directly, or
// in a child before exec).
export type { Propagation, CopyUpMode, CopyUpDriver, CopyUpOptions, MountPlan } from './types.js';
export { COPY_UP_MODES, DEFAULT_COPY_UP_MODE } from './types.js';
export { propagationSteps } from './propagation.js';
export { copyUpPlan } from './plan.js';
export { validateCopyUp, resolveCopyUp } from './validate.js';
export { copyUpDrivers, type CopyUpDirInfo } from './drivers.js';
