import { constants, type PlanStep } from '@rk/native';
import type { Propagation } from './types.js';

/** mount(2) flags that set a propagation type, recursively for the "r" variants. */
export function propagationFlags(p: Propagation): number {
  const rec = p.startsWith('r') ? constants.MS_REC : 0;
  switch (p) {
    case 'rprivate':
    case 'private':
      return rec | constants.MS_PRIVATE;
    case 'rslave':
    case 'slave':
      return rec | constants.MS_SLAVE;
    case 'rshared':
    case 'shared':
      return rec | constants.MS_SHARED;
  }
  throw new TypeError(`unknown propagation: ${String(p)}`);
}

/** The one step that sets the propagation of "/" (like `mount --make-rprivate /`). */
export function propagationSteps(p: Propagation): PlanStep[] {
  return [{ op: 'mount', source: 'none', target: '/', flags: propagationFlags(p) }];
}
