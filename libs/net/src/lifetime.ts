// When is a namespace gone? When no process is in it any more. rk-net and
// rk-portfwd run "while the namespace lives": they wait (on a pidfd, no timer,
// no polling loop) for one process of the namespace to exit, then look in
// /proc for another one still in it, and so on until none is left.
import { closeSync, readdirSync, statSync } from 'node:fs';
import { openNamespaces, whenReadable } from '@rk/native';

/** PIDs of the processes whose /proc/PID/ns/<kind> is the namespace with this inode. */
export function processesIn(kind: string, inode: number, skip?: number): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const pid = Number(name);
    if (pid === skip || pid === process.pid) continue;
    try {
      if (statSync(`/proc/${name}/ns/${kind}`).ino === inode) out.push(pid);
    } catch {
      // gone, or not ours to look at
    }
  }
  return out;
}

/** Resolves once no process is left in the namespace (first watching `pid`, one of its processes). */
export function whenNamespaceEmpty(kind: string, inode: number, pid: number): Promise<void> {
  return new Promise((resolve) => {
    const watch = (p: number): void => {
      let pidfd: number;
      try {
        pidfd = openNamespaces(p, []).pidfd;
      } catch {
        next(p);
        return;
      }
      whenReadable(pidfd, () => {
        closeSync(pidfd);
        next(p);
      });
    };
    const next = (gone: number): void => {
      const left = processesIn(kind, inode, gone);
      if (left.length === 0) resolve();
      else watch(left[0]!);
    };
    watch(pid);
  });
}
