// Refuse to mount where it would change the whole system: in the initial
// user namespace (real root), only a mount namespace that is provably not the
// one of PID 1 or of our parent is accepted. Inside a user namespace no check
// is needed: the kernel only lets us mount in a mount namespace it owns.
import { readFileSync, readlinkSync } from 'node:fs';

function mntNs(pid: number | 'self'): string | undefined {
  try {
    return readlinkSync(`/proc/${pid}/ns/mnt`);
  } catch {
    return undefined;
  }
}

/** Whether this process is in the initial user namespace (uid_map is the identity map of all IDs). */
export function inInitialUserNs(): boolean {
  try {
    const lines = readFileSync('/proc/self/uid_map', 'utf8').trim().split('\n');
    return lines.length === 1 && lines[0]!.trim().split(/\s+/).join(' ') === '0 0 4294967295';
  } catch {
    return true;
  }
}

/**
 * Why mounting here is unsafe, or undefined when it is safe: in the initial
 * user namespace, our mount namespace must differ from PID 1's (when readable)
 * and from our parent's.
 */
export function unsafeMountNamespace(): string | undefined {
  if (!inInitialUserNs()) return undefined;
  const self = mntNs('self');
  if (self === undefined) return 'cannot read /proc/self/ns/mnt';
  const init = mntNs(1);
  if (init !== undefined && init === self) return 'this is the initial mount namespace';
  const parent = mntNs(process.ppid);
  if (parent === undefined) return `cannot tell whether ${self} is a new mount namespace (/proc/${process.ppid}/ns/mnt is unreadable)`;
  if (parent === self) return `the mount namespace ${self} is shared with the parent process (${process.ppid}), so it may be the system's`;
  return undefined;
}
