// The namespaces a driver acts on, opened from a PID and pinned to that
// process (a recycled PID is never mistaken for it). With --detach-netns a new
// network namespace is made from inside the child's user and mount
// namespaces and bind-mounted on STATE/netns there (visible to CMD only), as
// upstream does; helpers reach it as /proc/PID/root/STATE/netns.
import { closeSync, fstatSync, openSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { RkError } from '@rk/cli';
import { nsRun, openNamespaces } from '@rk/native';
import type { NetTarget } from './types.js';

export interface OpenedTarget extends NetTarget {
  /** Inode of the network namespace (to find its processes). */
  netInode: number;
  /** Closes the namespace fds (drivers keep what they made inside: taps, sockets). */
  close(): void;
}

function ownInode(kind: string): number {
  return statSync(`/proc/self/ns/${kind}`).ino;
}

function openByPid(pid: number, kinds: string[]) {
  try {
    return openNamespaces(pid, kinds);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ESRCH' || code === 'ENOENT') throw new RkError(`no process ${pid}: is the command still running (check its child_pid)?`);
    if (code === 'EACCES' || code === 'EPERM') throw new RkError(`cannot open the namespaces of process ${pid} (${code}): it must be a process of yours (e.g. started by rk-unshare)`);
    throw new RkError(`cannot open the namespaces of process ${pid}: ${(e as Error).message}`);
  }
}

/** The user and network namespaces of `pid`, which must have a network namespace of its own. */
export function openTarget(pid: number, stateDir?: string): OpenedTarget {
  const ns = openByPid(pid, ['user', 'net']);
  const fds = ns.fds as { user: number; net: number };
  closeSync(ns.pidfd);
  if (ns.inodes.net === ownInode('net')) {
    closeSync(fds.user);
    closeSync(fds.net);
    throw new RkError(`process ${pid} has no network namespace of its own: start it with rk-unshare --net (or rootlesskit --net=...)`);
  }
  let userFd = fds.user;
  if (ns.inodes.user === ownInode('user')) {
    closeSync(userFd);
    userFd = -1;
  }
  return target(pid, userFd, fds.net, ns.inodes.net!, `/proc/${pid}/ns/net`, false, stateDir);
}

/**
 * A new network namespace for `pid` (which stays in its own), kept at
 * STATE/netns inside pid's mount namespace, with loopback up. STATE/netns must
 * exist as an empty file.
 */
export function openDetachedTarget(pid: number, stateDir: string): OpenedTarget {
  const ns = openByPid(pid, ['user', 'mnt']);
  const fds = ns.fds as { user: number; mnt: number };
  closeSync(ns.pidfd);
  const file = join(stateDir, 'netns');
  let netFd: number;
  try {
    const userFds = ns.inodes.user === ownInode('user') ? [] : [fds.user];
    [, , , netFd] = nsRun([...userFds, fds.mnt], [
      { op: 'unshareNet' },
      { op: 'link', name: 'lo', up: true },
      { op: 'bind', path: '/proc/self/ns/net', target: file },
      { op: 'open', path: '/proc/self/ns/net', flags: 0 },
    ]) as [number, number, number, number];
  } catch (e) {
    closeSync(fds.user);
    closeSync(fds.mnt);
    throw new RkError(`cannot create the detached network namespace at ${file}: ${(e as Error).message}`);
  }
  closeSync(fds.mnt);
  const inode = statSync(`/proc/self/fd/${netFd}`).ino;
  let userFd = fds.user;
  if (ns.inodes.user === ownInode('user')) {
    closeSync(userFd);
    userFd = -1;
  }
  return target(pid, userFd, netFd, inode, `/proc/${pid}/root${file}`, true, stateDir);
}

function target(pid: number, userFd: number, netFd: number, netInode: number, netnsPath: string, detached: boolean, stateDir?: string): OpenedTarget {
  let closed = false;
  return {
    pid,
    userFd,
    netFd,
    netnsPath,
    usernsPath: `/proc/${pid}/ns/user`,
    detached,
    stateDir,
    netInode,
    close() {
      if (closed) return;
      closed = true;
      if (userFd >= 0) closeSync(userFd);
      closeSync(netFd);
    },
  };
}

/** The fds to pass to nsRun for a target (user first, when it is not ours). */
export function nsFds(t: NetTarget): number[] {
  return t.userFd >= 0 ? [t.userFd, t.netFd] : [t.netFd];
}

/** A target kept beyond start (fds of our own), for a driver that acts on the namespace again when it restarts its helper. */
export interface HeldTarget extends NetTarget {
  /** Throws unless the paths the helper is given (the PID's) still lead to the same network namespace. */
  checkInPlace(): void;
  close(): void;
}

/** Holds t's namespaces by new fds (t's own are closed once the driver started). */
export function holdTarget(t: NetTarget): HeldTarget {
  const reopen = (fd: number) => (fd < 0 ? -1 : openSync(`/proc/self/fd/${fd}`, 'r'));
  const userFd = reopen(t.userFd);
  const netFd = reopen(t.netFd);
  const netInode = fstatSync(netFd).ino;
  let closed = false;
  return {
    ...t,
    userFd,
    netFd,
    checkInPlace() {
      let ino: number | undefined;
      try {
        ino = statSync(t.netnsPath).ino;
      } catch {
        // gone
      }
      // A recycled PID is never taken for the namespace's process.
      if (ino !== netInode) throw new RkError(`process ${t.pid} left the network namespace: there is nothing to restart the helper for`);
    },
    close() {
      if (closed) return;
      closed = true;
      if (userFd >= 0) closeSync(userFd);
      closeSync(netFd);
    },
  };
}
