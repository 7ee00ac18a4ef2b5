// What each copied-up directory got, read back from the mounts of the
// process that ran the plan: with mode auto the choice is the kernel's (an
// overlay it refused became tmpfs+symlink), so it is looked up, not assumed.
import { readMounts, type MountEntry } from './submounts.js';
import type { CopyUpDriver, CopyUpMode } from './types.js';

export interface CopyUpDirInfo {
  path: string;
  driver: CopyUpDriver;
}

/** The driver of each directory: the fstype of the topmost mount on it (overlay or tmpfs). */
export function copyUpDrivers(dirs: string[], mode: CopyUpMode, pid: number | 'self' = 'self'): CopyUpDirInfo[] {
  if (mode !== 'auto') return dirs.map((path) => ({ path, driver: mode }));
  let mounts: MountEntry[];
  try {
    mounts = readMounts(pid);
  } catch {
    mounts = [];
  }
  return dirs.map((path) => {
    const top = mounts.filter((m) => m.target === path).pop();
    return { path, driver: top?.fstype === 'overlay' ? 'overlayfs' : 'tmpfs+symlink' };
  });
}
