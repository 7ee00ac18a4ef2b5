// Writing /proc/PID/uid_map and gid_map: through the setuid newuidmap and
// newgidmap (which check /etc/subuid,subgid), or directly when we are root or
// map only ourselves.
import { runProgram } from '@rk/native';
import { existsSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { RkError } from '@rk/cli';
import { mapText } from './format.js';
import { findMapTool, notSetuidError, type MapTool } from './tools.js';
import type { IdMapLine, IdMaps } from './types.js';

/** Writes both maps of `pid` (newuidmap and newgidmap run in parallel; direct writes when euid is 0). */
export async function writeIdMaps(pid: number, maps: IdMaps): Promise<void> {
  checkPid(pid);
  if (process.geteuid!() === 0) {
    await settleAll([writeProc(pid, 'uid_map', mapText(maps.uidMap)), writeProc(pid, 'gid_map', mapText(maps.gidMap))]);
    return;
  }
  const [uidTool, gidTool] = await settleAll([findMapTool('newuidmap'), findMapTool('newgidmap')]);
  await settleAll([runMapTool(uidTool, pid, maps.uidMap), runMapTool(gidTool, pid, maps.gidMap)]);
}

/** Maps only the caller, as root, like `unshare -r`: setgroups "deny", gid_map "0 GID 1", uid_map "0 UID 1". */
export async function writeRootOnlyMaps(pid: number, uid: number, gid: number): Promise<void> {
  checkPid(pid);
  const gidSide = writeProc(pid, 'setgroups', 'deny').then(() => writeProc(pid, 'gid_map', `0 ${gid} 1\n`));
  await settleAll([gidSide, writeProc(pid, 'uid_map', `0 ${uid} 1\n`)]);
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

async function writeProc(pid: number, file: 'uid_map' | 'gid_map' | 'setgroups', text: string): Promise<void> {
  const path = `/proc/${pid}/${file}`;
  try {
    writeFileSync(path, text);
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
