import { existsSync } from 'node:fs';
import { randomSuffix } from '@rk/cli';
import { constants, type PlanStep } from '@rk/native';

/**
 * A fresh /sys for a new network namespace (so /sys/class/net shows its own
 * interfaces), keeping /sys/fs/cgroup: it is bind-mounted aside to a
 * temporary dir under `tmpRoot`, sysfs is mounted, and the bind moved back.
 * `cleanup` lists the host-visible temp dir to remove if the plan fails.
 */
export function sysfsPlan(tmpRoot = '/tmp'): { steps: PlanStep[]; cleanup: string[]; describe: string[] } {
  const keepCgroup = existsSync('/sys/fs/cgroup');
  const aside = `${tmpRoot}/rootlesskit-s${randomSuffix()}`;
  const steps: PlanStep[] = [];
  const describe: string[] = [];
  const add = (s: PlanStep, d: string) => {
    steps.push(s);
    describe.push(d);
  };
  if (keepCgroup) {
    add({ op: 'mkdir', path: aside, mode: 0o700 }, `mkdir ${aside}`);
    add({ op: 'mount', source: '/sys/fs/cgroup', target: aside, flags: constants.MS_BIND | constants.MS_REC }, `bind /sys/fs/cgroup to ${aside}`);
  }
  add({ op: 'mount', source: 'none', target: '/sys', fstype: 'sysfs', flags: constants.MS_NOSUID | constants.MS_NODEV | constants.MS_NOEXEC }, 'mount a fresh sysfs on /sys for the network namespace');
  if (keepCgroup) {
    add({ op: 'mount', source: aside, target: '/sys/fs/cgroup', flags: constants.MS_MOVE }, `move ${aside} back to /sys/fs/cgroup`);
    add({ op: 'rmdir', path: aside }, `rmdir ${aside}`);
  }
  return { steps, cleanup: keepCgroup ? [aside] : [], describe };
}
