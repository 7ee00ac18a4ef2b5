// --evacuate-cgroup2: move every process of our cgroup v2 group into a
// subgroup, so that controllers can be enabled for the group (cgroup v2's
// "no internal processes" rule). Needs a delegated, writable cgroup v2 group.
import { accessSync, constants as fsc, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RkError } from '@rk/cli';

/** Mount point of the cgroup v2 hierarchy, from /proc/self/mountinfo. */
export function cgroup2Mount(mountinfo = readFileSync('/proc/self/mountinfo', 'utf8')): string | undefined {
  for (const line of mountinfo.split('\n')) {
    const [pre, post] = line.split(' - ');
    if (post?.startsWith('cgroup2 ')) return pre!.split(' ')[4];
  }
  return undefined;
}

/** Our cgroup v2 path ("0::/user.slice/...") from /proc/self/cgroup. */
export function ownCgroup2Path(text = readFileSync('/proc/self/cgroup', 'utf8')): string | undefined {
  const line = text.split('\n').find((l) => l.startsWith('0::'));
  return line?.slice(3);
}

export function evacuateCgroup2(name: string): string {
  if (!/^[A-Za-z0-9_.-]+$/.test(name) || name === '.' || name === '..') {
    throw new RkError(`--evacuate-cgroup2: "${name}" is not a valid cgroup name (letters, digits, "_", "-", ".")`);
  }
  const mnt = cgroup2Mount();
  const rel = ownCgroup2Path();
  if (!mnt || rel === undefined) {
    throw new RkError('--evacuate-cgroup2 needs cgroup v2: this machine has no cgroup2 hierarchy mounted (boot with systemd.unified_cgroup_hierarchy=1)');
  }
  const dir = join(mnt, rel);
  try {
    accessSync(join(dir, 'cgroup.procs'), fsc.W_OK);
    accessSync(dir, fsc.W_OK);
  } catch {
    throw new RkError(
      `--evacuate-cgroup2: cgroup ${dir} is not delegated to uid ${process.geteuid!()} (not writable): run under a delegated cgroup, e.g. systemd-run --user -p Delegate=yes --scope rootlesskit ...`,
    );
  }
  const target = join(dir, name);
  mkdirSync(target, { recursive: true });
  for (const pid of readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean)) {
    try {
      writeFileSync(join(target, 'cgroup.procs'), pid);
    } catch {
      // a process that exited or cannot move (kernel thread): skip
    }
  }
  const controllers = readFileSync(join(dir, 'cgroup.controllers'), 'utf8').trim().split(/\s+/).filter(Boolean);
  for (const c of controllers) {
    try {
      writeFileSync(join(dir, 'cgroup.subtree_control'), `+${c}`);
    } catch {
      // controller not delegable here
    }
  }
  return target;
}
