// The state dir shared with upstream rootlesskit's layout: `lock` (flock held
// for the lifetime), `child_pid` (decimal, no newline, written when ready),
// `api.sock`, and our own files. Stale files of a killed run are wiped at start.
import { closeSync, mkdirSync, mkdtempSync, openSync, readdirSync, renameSync, rmSync, writeFileSync, accessSync, constants as fsc } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { RkError } from '@rk/cli';
import { flock } from '@rk/native';

export const LOCK_FILE = 'lock';
export const CHILD_PID_FILE = 'child_pid';
export const API_SOCK_FILE = 'api.sock';

export interface OpenOptions {
  /** Program name for the "in use" message. */
  owner?: string;
}

export class StateDir {
  private lockFd: number;
  private constructor(readonly path: string, readonly isTemp: boolean, lockFd: number) {
    this.lockFd = lockFd;
  }

  /**
   * Creates (or reuses) `dir`, takes its lock, and wipes files a previous run
   * left. Without `dir`, makes a fresh one under $XDG_RUNTIME_DIR or $TMPDIR.
   */
  static open(dir: string | undefined, opts: OpenOptions = {}): StateDir {
    const owner = opts.owner ?? 'rootlesskit';
    let path: string;
    let isTemp = false;
    if (dir === undefined || dir === '') {
      path = mkdtempSync(join(defaultParent(), 'rootlesskit'));
      isTemp = true;
    } else {
      path = resolve(dir);
      try {
        mkdirP(path);
        accessSync(path, fsc.W_OK | fsc.X_OK);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        throw new RkError(`state dir ${path} is not writable (${code}): choose another --state-dir, e.g. under $XDG_RUNTIME_DIR`);
      }
    }
    let fd: number;
    try {
      fd = openSync(join(path, LOCK_FILE), 'a+', 0o600);
    } catch (e) {
      throw new RkError(`cannot open ${join(path, LOCK_FILE)} (${(e as NodeJS.ErrnoException).code}): choose a writable --state-dir`);
    }
    if (!flock(fd, true, true)) {
      closeSync(fd);
      throw new RkError(`state dir ${path} is in use by another ${owner} (${join(path, LOCK_FILE)} is locked): stop it or choose another --state-dir`);
    }
    const st = new StateDir(path, isTemp, fd);
    st.wipeStale();
    return st;
  }

  file(name: string): string {
    return join(this.path, name);
  }

  /** Removes everything but the lock (files of a run that was SIGKILLed). */
  private wipeStale(): void {
    for (const name of readdirSync(this.path)) {
      if (name === LOCK_FILE) continue;
      rmSync(join(this.path, name), { recursive: true, force: true });
    }
  }

  /** Writes child_pid atomically: decimal, no newline, read-only. */
  writeChildPid(pid: number): void {
    const tmp = this.file(`.${CHILD_PID_FILE}.tmp`);
    writeFileSync(tmp, String(pid), { mode: 0o444 });
    renameSync(tmp, this.file(CHILD_PID_FILE));
  }

  /** Removes the whole dir and drops the lock (at exit). */
  remove(): void {
    try {
      rmSync(this.path, { recursive: true, force: true });
    } catch {
      // best effort at exit
    }
    if (this.lockFd >= 0) {
      try {
        closeSync(this.lockFd);
      } catch {
        // already closed
      }
      this.lockFd = -1;
    }
  }
}

function defaultParent(): string {
  const xdg = process.env.XDG_RUNTIME_DIR;
  if (xdg) {
    try {
      accessSync(xdg, fsc.W_OK | fsc.X_OK);
      return xdg;
    } catch {
      // fall back to TMPDIR
    }
  }
  return tmpdir();
}

/** mkdir -p, one component at a time (Node's recursive mkdir can spin on /proc). */
function mkdirP(path: string): void {
  let cur = '';
  for (const part of path.split('/').filter(Boolean)) {
    cur += `/${part}`;
    try {
      mkdirSync(cur, { mode: 0o755 });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
  }
}
