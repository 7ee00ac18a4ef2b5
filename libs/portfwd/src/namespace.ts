// The target network namespace of a port driver: the user and network
// namespaces of a process (and its mount namespace, where a socket file
// target is looked up), held open (by fd) for the relay.
import { closeSync, statSync } from 'node:fs';
import { RkError } from '@rk/cli';
import { openNamespaces } from '@rk/native';

export interface TargetNamespace {
  /** Namespace fds in setns order: the user namespace (unless it is ours), then the network namespace. */
  readonly fds: number[];
  /** The same with the mount namespace (user, mnt, net): for a socket file path inside. */
  readonly mntFds: number[];
  /** pidfd of the process the namespaces were taken from (readable once it exits). */
  readonly pidfd: number;
  readonly pid: number;
  close(): void;
}

function ownUserNsInode(): number {
  return statSync('/proc/self/ns/user').ino;
}

/** Opens PID's user and network namespaces; throws RkError naming the fix. */
export function openTargetNamespace(pid: number): TargetNamespace {
  let ns;
  try {
    ns = openNamespaces(pid, ['user', 'mnt', 'net']);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ESRCH' || code === 'ENOENT') throw new RkError(`no process ${pid}: is the namespace's process still running?`);
    if (code === 'EACCES' || code === 'EPERM') {
      throw new RkError(`cannot open the namespaces of process ${pid} (${code}): it must be a process of yours (e.g. started by rootlesskit or rk-unshare)`);
    }
    throw new RkError(`cannot open the namespaces of process ${pid}: ${(e as Error).message}`);
  }
  const userFd = ns.fds.user!;
  const sameUser = ns.inodes.user === ownUserNsInode();
  // setns() into the user namespace we are already in fails: skip it then.
  const fds = sameUser ? [ns.fds.net!] : [userFd, ns.fds.net!];
  const mntFds = sameUser ? [ns.fds.mnt!, ns.fds.net!] : [userFd, ns.fds.mnt!, ns.fds.net!];
  let closed = false;
  return {
    fds,
    mntFds,
    pidfd: ns.pidfd,
    pid,
    close() {
      if (closed) return;
      closed = true;
      for (const fd of [ns.fds.user!, ns.fds.mnt!, ns.fds.net!, ns.pidfd]) {
        try {
          closeSync(fd);
        } catch {
          // already closed
        }
      }
    },
  };
}
