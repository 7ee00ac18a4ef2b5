// What rk-copyup adds for a new network namespace, after the copy-up: a fresh
// /sys (--sysfs) and the resolv.conf and hosts rk-net wrote (--state-dir),
// bound over /etc's — the same steps rootlesskit's child runs.
import { existsSync } from 'node:fs';
import { normalize } from 'node:path';
import { RkError, type Logger } from '@rk/cli';
import type { MountPlan } from '@rk/copyup';
import { sysfsPlan } from '@rk/namespaces';
import { netFilePaths, netMountPlan, NO_COPY_UP_WARNING } from '@rk/net/mounts';
import type { PlanStep } from '@rk/native';
import type { CopyUpArgs } from './flags.js';

export function withNetwork(plan: MountPlan, a: CopyUpArgs, log: Logger): MountPlan {
  const steps: PlanStep[] = [...plan.steps];
  const why: string[] = plan.steps.map((_, i) => plan.describe(i));
  if (a.sysfs) {
    const sys = sysfsPlan();
    steps.push(...sys.steps);
    why.push(...sys.describe);
  }
  const dir = a['state-dir'];
  if (dir !== undefined) {
    if (!existsSync(netFilePaths(dir).resolvConf)) {
      throw new RkError(`no ${netFilePaths(dir).resolvConf}: start the network first (rk-net --state-dir ${dir} ...), then release the gate`);
    }
    const etc = a['copy-up'].some((d) => normalize(d).replace(/(.)\/$/, '$1') === '/etc');
    if (!etc) log.warn(NO_COPY_UP_WARNING);
    const m = netMountPlan(dir, etc);
    steps.push(...m.steps);
    why.push(...m.describe);
  }
  return { steps, describe: (i) => (i >= 0 && i < why.length ? `step ${i + 1}/${why.length}: ${why[i]}` : `step ${i}`) };
}
