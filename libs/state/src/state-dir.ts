// The state dir shared with upstream rootlesskit's layout: `lock` (flock held
// for the lifetime), `child_pid` (decimal, no newline, written when ready),
// `api.sock`, and our own files. Stale files of a killed run are wiped at start.
import { closeSync, mkdirSync, mkdtempSync, openSync, renameSync, rmdirSync, rmSync, writeFileSync, accessSync, constants as fsc } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { RkError } from '@rk/cli';
import { flock } from '@rk/native';

export const LOCK_FILE = 'lock';
export const CHILD_PID_FILE = 'child_pid';
export const API_SOCK_FILE = 'api.sock';

/**
 * Every file a run may leave in a state dir. Only these are wiped at start and
 * removed at exit, so a --state-dir pointing at a dir with other content
 * (say $HOME by mistake) never loses anything else.
 */
export const STATE_FILES = [CHILD_PID_FILE, `.${CHILD_PID_FILE}.tmp`, API_SOCK_FILE, 'gate', 'netns', 'resolv.conf', 'hosts', 'net.json', '.s4nn.sock', 'vpnkit-ethernet.sock', '.pasta.ready'];

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

  /** Removes the state files a run that was SIGKILLed left behind (not the lock). */
  private wipeStale(): void {
    for (const name of STATE_FILES) rmSync(join(this.path, name), { force: true });
  }

  /** Writes child_pid atomically: decimal, no newline, read-only. */
  writeChildPid(pid: number): void {
    const tmp = this.file(`.${CHILD_PID_FILE}.tmp`);
    writeFileSync(tmp, String(pid), { mode: 0o444 });
    renameSync(tmp, this.file(CHILD_PID_FILE));
  }

  /** Removes the state files and the dir (if nothing else is in it) and drops the lock (at exit). */
  remove(): void {
    try {
      if (this.isTemp) {
        rmSync(this.path, { recursive: true, force: true });
      } else {
        for (const name of [...STATE_FILES, LOCK_FILE]) rmSync(join(this.path, name), { force: true });
        rmdirSync(this.path);
      }
    } catch {
      // best effort at exit: a dir that holds other files stays
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
