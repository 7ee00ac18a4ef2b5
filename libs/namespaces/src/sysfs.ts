import { existsSync } from 'node:fs';
import { constants, type PlanStep } from '@rk/native';

/**
 * A fresh /sys for a new network namespace (so /sys/class/net shows its own
 * interfaces), keeping /sys/fs/cgroup: its mount tree is cloned as a detached
 * tree (open_tree, visible nowhere), sysfs is mounted, and the tree is
 * attached again at /sys/fs/cgroup (move_mount). No host-visible temp dir.
 */
export function sysfsPlan(): { steps: PlanStep[]; describe: string[] } {
  const keepCgroup = existsSync('/sys/fs/cgroup');
  const steps: PlanStep[] = [];
  const describe: string[] = [];
  const add = (s: PlanStep, d: string) => {
    steps.push(s);
    describe.push(d);
  };
  if (keepCgroup) add({ op: 'cloneTree', path: '/sys/fs/cgroup', slot: 0 }, 'take a detached copy of /sys/fs/cgroup (open_tree)');
  add({ op: 'mount', source: 'none', target: '/sys', fstype: 'sysfs', flags: constants.MS_NOSUID | constants.MS_NODEV | constants.MS_NOEXEC }, 'mount a fresh sysfs on /sys for the network namespace');
  if (keepCgroup) add({ op: 'moveTree', slot: 0, target: '/sys/fs/cgroup' }, 'attach /sys/fs/cgroup again on the fresh sysfs (move_mount)');
  return { steps, describe };
}
