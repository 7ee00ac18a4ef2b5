// The mounts below a directory, as /proc/PID/mountinfo lists them: an
// overlay does not show the mounts of its lower layer, so overlay copy-up
// attaches them again on top (overlay.ts), and the copy-up mode that was
// used for a directory is read back from the mount on it (drivers.ts).
import { readFileSync } from 'node:fs';
import { isUnder } from './validate.js';

export interface MountEntry {
  /** Mount point, unescaped. */
  target: string;
  fstype: string;
}

/** \040 and the other octal escapes of mountinfo, decoded. */
function unescape(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/** Every mount of process `pid` ("self" by default), in mountinfo order (a later one covers an earlier one on the same point). */
export function readMounts(pid: number | 'self' = 'self'): MountEntry[] {
  const out: MountEntry[] = [];
  for (const line of readFileSync(`/proc/${pid}/mountinfo`, 'utf8').split('\n')) {
    const f = line.split(' ');
    const sep = f.indexOf('-');
    if (f.length < 7 || sep < 0) continue;
    out.push({ target: unescape(f[4]!), fstype: f[sep + 1] ?? '' });
  }
  return out;
}

/**
 * Mount points strictly below `dir`, relative to it, outermost only (a mount
 * below another one comes along with it when that one is cloned), sorted.
 */
export function submountsBelow(dir: string, mounts: MountEntry[]): string[] {
  const below = [...new Set(mounts.map((m) => m.target).filter((t) => t !== dir && isUnder(t, dir)))];
  const outer = below.filter((t) => !below.some((o) => o !== t && isUnder(t, o)));
  const prefix = dir === '/' ? 1 : dir.length + 1;
  return outer.map((t) => t.slice(prefix)).sort();
}
