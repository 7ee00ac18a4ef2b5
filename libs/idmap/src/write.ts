// Writing /proc/PID/uid_map and gid_map: through the setuid newuidmap and
// newgidmap (which check /etc/subuid,subgid), or directly when we are root or
// map only ourselves. A direct write maps only a process owned by the user
// whose IDs are mapped (as newuidmap insists), and goes through fds opened
// under /proc/PID while a pidfd proves PID is still that process (a recycled
// PID is never mapped instead).
import { constants as c, openAt, pidfdOpen, pidfdSignal, runProgram } from '@rk/native';
import { closeSync, existsSync, readFileSync, readlinkSync, readSync, writeSync } from 'node:fs';
import { RkError } from '@rk/cli';
import { mapText } from './format.js';
import { findMapTool, notSetuidError, type MapTool } from './tools.js';
import type { IdMapLine, IdMaps } from './types.js';

/** Writes both maps of `pid` (newuidmap and newgidmap run in parallel; direct writes when euid is 0). */
export async function writeIdMaps(pid: number, maps: IdMaps): Promise<void> {
  checkPid(pid);
  if (process.geteuid!() === 0) {
    const target = pin(pid, maps.uid, maps.user);
    try {
      await settleAll([writeProc(target, 'uid_map', mapText(maps.uidMap)), writeProc(target, 'gid_map', mapText(maps.gidMap))]);
    } finally {
      target.close();
    }
    return;
  }
  const [uidTool, gidTool] = await settleAll([findMapTool('newuidmap'), findMapTool('newgidmap')]);
  await settleAll([runMapTool(uidTool, pid, maps.uidMap), runMapTool(gidTool, pid, maps.gidMap)]);
}

/** Maps only the caller, as root, like `unshare -r`: setgroups "deny", gid_map "0 GID 1", uid_map "0 UID 1". */
export async function writeRootOnlyMaps(pid: number, uid: number, gid: number): Promise<void> {
  checkPid(pid);
  const target = pin(pid, uid);
  try {
    const gidSide = writeProc(target, 'setgroups', 'deny').then(() => writeProc(target, 'gid_map', `0 ${gid} 1\n`));
    await settleAll([gidSide, writeProc(target, 'uid_map', `0 ${uid} 1\n`)]);
  } finally {
    target.close();
  }
}

/** A process pinned by a pidfd, with its /proc dir open. */
interface Pinned {
  pid: number;
  procFd: number;
  close(): void;
}

/**
 * Pins `pid` (pidfd, then /proc/PID opened, then the pidfd shows the process
 * is still alive: the dir is that process's) and checks it belongs to `uid`:
 * a map is only ever written into a process of the user whose IDs it maps.
 */
function pin(pid: number, uid: number, user?: string): Pinned {
  let pidfd = -1;
  let procFd = -1;
  const close = () => {
    if (procFd >= 0) closeSync(procFd);
    if (pidfd >= 0) closeSync(pidfd);
    procFd = pidfd = -1;
  };
  try {
    pidfd = pidfdOpen(pid);
    procFd = openAt(c.AT_FDCWD, `/proc/${pid}`, c.O_RDONLY | c.O_DIRECTORY);
    pidfdSignal(pidfd, 0);
  } catch (e) {
    close();
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ESRCH' || code === 'ENOENT') throw goneError(pid);
    throw new RkError(`cannot open process ${pid} (${code ?? (e as Error).message})`);
  }
  const owner = ownerOf(procFd);
  if (owner === undefined || owner.real !== uid || owner.effective !== uid) {
    close();
    const who = user ? `${user} (uid ${uid})` : `uid ${uid}`;
    const has = owner === undefined ? 'an unknown owner' : `uid ${owner.effective}`;
    throw new RkError(
      `process ${pid} belongs to ${has}, not to ${who} whose IDs would be mapped: only a process of that user can be mapped (run rk-idmap as the process's own user, who needs subordinate IDs)`,
    );
  }
  return { pid, procFd, close };
}

/** Real and effective uid from /proc/PID/status, read through the pinned dir fd. */
function ownerOf(procFd: number): { real: number; effective: number } | undefined {
  let fd = -1;
  try {
    fd = openAt(procFd, 'status', c.O_RDONLY);
    const buf = Buffer.alloc(8192);
    const n = readSync(fd, buf, 0, buf.length, 0);
    const m = /^Uid:\s+(\d+)\s+(\d+)/m.exec(buf.subarray(0, n).toString('latin1'));
    return m ? { real: Number(m[1]), effective: Number(m[2]) } : undefined;
  } catch {
    return undefined;
  } finally {
    if (fd >= 0) closeSync(fd);
  }
}

function checkPid(pid: number): void {
  if (!Number.isInteger(pid) || pid <= 0) throw new RkError(`invalid PID ${pid}: expected a positive integer`, 2);
  if (gone(pid)) throw goneError(pid);
}

/** True when the process no longer exists or is a zombie. */
function gone(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z';
  } catch {
    return !existsSync(`/proc/${pid}`);
  }
}

function goneError(pid: number): RkError {
  return new RkError(`process ${pid} does not exist (it exited before its ID maps were written)`);
}

async function writeProc(target: Pinned, file: 'uid_map' | 'gid_map' | 'setgroups', text: string): Promise<void> {
  const pid = target.pid;
  const path = `/proc/${pid}/${file}`;
  let fd = -1;
  try {
    fd = openAt(target.procFd, file, c.O_WRONLY);
    writeSync(fd, text);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ESRCH' || gone(pid)) throw goneError(pid);
    if (code === 'EPERM' || code === 'EACCES') {
      const why = whyRefused(pid, file === 'setgroups' ? 'gid_map' : file);
      if (why) throw why;
      throw new RkError(`cannot write ${path} (${code}): it was written already, or process ${pid} is not in a new user namespace of yours`);
    }
    if (code === 'EINVAL') {
      throw new RkError(`the kernel refused ${path} (EINVAL): ${JSON.stringify(text.trim())} overlaps or exceeds the kernel's limits`);
    }
    throw new RkError(`cannot write ${path} (${code ?? (e as Error).message})`);
  } finally {
    if (fd >= 0) closeSync(fd);
  }
}

function runMapTool(tool: MapTool, pid: number, lines: IdMapLine[]): Promise<void> {
  const args = [String(pid), ...lines.flatMap((l) => [String(l.inside), String(l.outside), String(l.count)])];
  return runProgram(tool.path, [tool.name, ...args]).then((r) => {
    if (!r.error && r.code === 0) return;
    if (gone(pid)) throw goneError(pid);
    const why = whyRefused(pid, tool.name === 'newuidmap' ? 'uid_map' : 'gid_map');
    if (why) throw why;
    const said = r.output.trim().split('\n').map((l) => l.trim()).filter(Boolean).join('; ');
    const status = r.error ? r.error.message : r.code !== undefined ? `exit status ${r.code}` : `killed by signal ${r.signal}`;
    if (!tool.verified) {
      const fix = notSetuidError(tool.path).message;
      throw new RkError(`${tool.name} failed for process ${pid}: ${said || status}; ${fix}`);
    }
    throw new RkError(`${tool.name} failed for process ${pid}: ${said || status}`);
  });
}

/** The usual reasons a map cannot be written, named when they apply. */
function whyRefused(pid: number, file: 'uid_map' | 'gid_map'): RkError | undefined {
  try {
    if (readlinkSync(`/proc/${pid}/ns/user`) === readlinkSync('/proc/self/ns/user')) {
      return new RkError(`process ${pid} is in our own user namespace, not a new one: start it with "rk-unshare --user" (or "unshare --user")`);
    }
    if (readFileSync(`/proc/${pid}/${file}`, 'utf8').trim() !== '') {
      return new RkError(`the ${file} of process ${pid} is written already: a map can be written only once`);
    }
  } catch {
    // not ours to inspect: let the tool's own message speak
  }
  return undefined;
}

/** Like Promise.all, but waits for every promise and rejects with the first failure in list order. */
async function settleAll<T extends readonly unknown[]>(ps: { [K in keyof T]: Promise<T[K]> }): Promise<T> {
  const results = await Promise.allSettled(ps);
  for (const r of results) if (r.status === 'rejected') throw r.reason;
  return results.map((r) => (r as PromiseFulfilledResult<unknown>).value) as unknown as T;
}
