// The state dir shared with upstream rootlesskit's layout: `lock` (flock held
// for the lifetime), `child_pid` (decimal, no newline, written when ready),
// `api.sock`, and our own files.
//
// Safety rules (see docs/architecture.md, "Security"):
// - the dir must be the caller's own and writable by nobody else, and its
//   parent must not let others swap it (world-writable without the sticky bit);
// - it is held as a directory fd: every file is created, checked and removed
//   relative to that fd, with O_NOFOLLOW and O_EXCL, never through a path that
//   could lead elsewhere;
// - only files we can prove are ours are ever removed: the reserved names
//   below, of the expected type (a socket, a FIFO, a small regular file), in a
//   dir whose `lock` is empty (upstream's) or carries our marker. A dir that
//   holds a reserved name we did not leave there is refused, and anything
//   else in the dir is never touched. Nothing is ever removed recursively.
import { closeSync, ftruncateSync, fstatSync, mkdirSync, mkdtempSync, readdirSync, readSync, statSync, writeSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { RkError } from '@rk/cli';
import { constants as c, flock, listenUnix, mkfifoAt, openAt, renameAt, statAt, unlinkAt, type StatAtResult } from '@rk/native';

export const LOCK_FILE = 'lock';
export const CHILD_PID_FILE = 'child_pid';
export const API_SOCK_FILE = 'api.sock';

type Kind = 'file' | 'socket' | 'fifo';
const S_IFMT = 0o170000;
const KIND_BITS: Record<Kind, number> = { file: 0o100000, socket: 0o140000, fifo: 0o010000 };

/**
 * The names a run (ours or upstream's) may leave in a state dir, with the
 * type each must have. Only these are wiped at start (when a previous run's
 * `lock` is there) and removed at exit, so a --state-dir pointing at a dir
 * with other content (say $HOME by mistake) never loses anything else.
 */
export const STATE_FILE_KINDS: Readonly<Record<string, Kind>> = {
  [CHILD_PID_FILE]: 'file',
  [`.${CHILD_PID_FILE}.tmp`]: 'file',
  [API_SOCK_FILE]: 'socket',
  gate: 'fifo',
  netns: 'file',
  'resolv.conf': 'file',
  hosts: 'file',
  'net.json': 'file',
  // --bypass (rootlesskit, rk-bypass --supervise)
  'bypass.sock': 'socket',
  'bypass.json': 'file',
  'bypass.json.tmp': 'file',
  '.s4nn.sock': 'socket',
  // upstream's own (builtin port driver, vpnkit)
  '.bp.sock': 'socket',
  '.bp-ready.pipe': 'fifo',
  'vpnkit-ethernet.sock': 'socket',
  '.pasta.ready': 'fifo',
};
export const STATE_FILES = Object.keys(STATE_FILE_KINDS);

/** What we write into `lock`: a dir whose lock says this was used by us. */
export const LOCK_MARKER = 'rootlesskit-ts state dir\n';
/** Regular state files are small; a bigger one is not ours. */
const MAX_STATE_FILE = 1 << 20;

export interface OpenOptions {
  /** Program name for the "in use" message. */
  owner?: string;
}

function kindOf(st: StatAtResult): string {
  switch (st.mode & S_IFMT) {
    case KIND_BITS.file: return 'a regular file';
    case KIND_BITS.socket: return 'a socket';
    case KIND_BITS.fifo: return 'a FIFO';
    case 0o040000: return 'a directory';
    case 0o120000: return 'a symlink';
    default: return 'a special file';
  }
}

/** Whether `st` is what a run of ours (or upstream's) leaves under `name`. */
function isOurs(name: string, st: StatAtResult): boolean {
  const kind = STATE_FILE_KINDS[name];
  if (!kind || (st.mode & S_IFMT) !== KIND_BITS[kind] || st.uid !== process.geteuid!()) return false;
  if (kind === 'file') {
    if (st.nlink !== 1 || st.size > MAX_STATE_FILE) return false;
    if (name === CHILD_PID_FILE || name === `.${CHILD_PID_FILE}.tmp`) return st.size <= 20;
    if (name === 'netns') return st.size === 0;
  }
  return true;
}

function code(e: unknown): string {
  return (e as NodeJS.ErrnoException).code ?? String(e);
}

export class StateDir {
  private dirFd: number;
  private lockFd: number;
  /** We created `lock` in this run (so we may remove it even if we fail before taking it). */
  private createdLock: boolean;
  /** The lock is ours and the dir checked: the reserved names in it are ours to remove. */
  private ready: boolean;
  private constructor(readonly path: string, readonly isTemp: boolean, dirFd: number, lockFd: number) {
    this.dirFd = dirFd;
    this.lockFd = lockFd;
    this.createdLock = false;
    this.ready = false;
  }

  /**
   * Creates (or reuses) `dir`, checks it is safe, takes its lock, and wipes
   * the state files a previous run left. Without `dir`, makes a fresh one
   * under $XDG_RUNTIME_DIR or $TMPDIR.
   */
  static open(dir: string | undefined, opts: OpenOptions = {}): StateDir {
    const owner = opts.owner ?? 'rootlesskit';
    let path: string;
    let made = false;
    let isTemp = false;
    if (dir === undefined || dir === '') {
      path = mkdtempSync(join(defaultParent(), 'rootlesskit'));
      made = isTemp = true;
    } else {
      path = resolve(dir);
      made = mkdirP(path);
    }
    let dirFd: number;
    try {
      dirFd = openAt(c.AT_FDCWD, path, c.O_RDONLY | c.O_DIRECTORY);
    } catch (e) {
      if (code(e) === 'ENOTDIR') throw new RkError(`state dir ${path} is not a directory: choose a directory for --state-dir (e.g. under $XDG_RUNTIME_DIR)`);
      throw new RkError(`cannot open the state dir ${path} (${code(e)}): choose another --state-dir, e.g. under $XDG_RUNTIME_DIR`);
    }
    const st = new StateDir(path, isTemp, dirFd, -1);
    try {
      st.checkSafe();
      st.lock(owner, made);
    } catch (e) {
      st.close(made);
      throw e;
    }
    return st;
  }

  /** The dir fd (close-on-exec): files in it are reached relative to it. */
  get fd(): number {
    return this.dirFd;
  }

  file(name: string): string {
    return join(this.path, name);
  }

  /** A path to NAME in the dir we hold, through /proc/self/fd: immune to the dir being renamed or swapped. */
  fdPath(name: string): string {
    return `/proc/self/fd/${this.dirFd}/${name}`;
  }

  private checkSafe(): void {
    const me = process.geteuid!();
    const st = statAt(this.dirFd, '');
    if (st.uid !== me) {
      throw new RkError(`state dir ${this.path} belongs to uid ${st.uid}, not to you (uid ${me}): choose a dir of your own for --state-dir (e.g. under $XDG_RUNTIME_DIR)`);
    }
    if ((st.mode & 0o022) !== 0) {
      throw new RkError(`state dir ${this.path} can be written by ${st.mode & 0o002 ? 'others' : 'its group'} (mode ${(st.mode & 0o7777).toString(8).padStart(4, '0')}): chmod go-w ${this.path}, or choose a dir only you can write`);
    }
    const parent = dirname(this.path);
    if (parent !== this.path) {
      let p;
      try {
        p = statSync(parent);
      } catch {
        return;
      }
      if ((p.mode & 0o002) !== 0 && (p.mode & 0o1000) === 0) {
        throw new RkError(`state dir ${this.path} is in ${parent}, which anyone can write (mode ${(p.mode & 0o7777).toString(8).padStart(4, '0')}, no sticky bit): another user could swap the dir; choose a dir elsewhere, e.g. under $XDG_RUNTIME_DIR`);
      }
    }
  }

  /** Takes `lock` (empty: upstream's or new; or ours), then wipes stale files or refuses foreign ones. */
  private lock(owner: string, made: boolean): void {
    const lockPath = this.file(LOCK_FILE);
    let created = false;
    let fd: number;
    try {
      fd = openAt(this.dirFd, LOCK_FILE, c.O_RDWR | c.O_CREAT | c.O_EXCL | c.O_NOFOLLOW, 0o600);
      created = true;
    } catch (e) {
      if (code(e) !== 'EEXIST') throw new RkError(`cannot create ${lockPath} (${code(e)}): choose a writable --state-dir`);
      try {
        fd = openAt(this.dirFd, LOCK_FILE, c.O_RDWR | c.O_NOFOLLOW | c.O_NONBLOCK);
      } catch (e2) {
        throw new RkError(`${lockPath} is not a lock file of rootlesskit (${code(e2) === 'ELOOP' ? 'a symlink' : code(e2)}): choose an empty or new --state-dir`);
      }
    }
    this.lockFd = fd;
    this.createdLock = created;
    const lst = fstatSync(fd);
    if (!lst.isFile() || lst.uid !== process.geteuid!() || lst.nlink !== 1 || lst.size > 256) {
      this.lockFd = -1;
      closeSync(fd);
      throw new RkError(`${lockPath} is not a lock file of rootlesskit: choose an empty or new --state-dir (or move ${LOCK_FILE} away)`);
    }
    if (!flock(fd, true, true)) {
      this.lockFd = -1;
      this.createdLock = false;
      closeSync(fd);
      throw new RkError(`state dir ${this.path} is in use by another ${owner} (${lockPath} is locked): stop it or choose another --state-dir`);
    }
    const text = readAll(fd, 256);
    if (text !== '' && text !== LOCK_MARKER) {
      this.lockFd = -1;
      closeSync(fd);
      throw new RkError(`${lockPath} is not a lock file of rootlesskit (it holds other text): choose an empty or new --state-dir (or move ${LOCK_FILE} away)`);
    }
    // A previous run's state files (its lock is there) are wiped; reserved
    // names in a dir that never had a lock are someone else's: refuse.
    const stale: string[] = [];
    for (const name of this.entries()) {
      if (name === LOCK_FILE || !(name in STATE_FILE_KINDS)) continue;
      let st: StatAtResult;
      try {
        st = statAt(this.dirFd, name);
      } catch {
        continue;
      }
      if (created || made || !isOurs(name, st)) {
        const why = created ? 'no rootlesskit run left it there (the dir had no lock file)' : `it is ${kindOf(st)} that no rootlesskit run leaves there`;
        throw new RkError(`state dir ${this.path} holds ${name}, which rootlesskit did not create (${why}): choose an empty or new --state-dir, or move ${join(this.path, name)} away`);
      }
      stale.push(name);
    }
    for (const name of stale) unlinkAt(this.dirFd, name, false);
    ftruncateSync(fd, 0);
    writeSync(fd, LOCK_MARKER, 0);
    this.ready = true;
  }

  private entries(): string[] {
    try {
      return readdirSync(`/proc/self/fd/${this.dirFd}`);
    } catch (e) {
      throw new RkError(`cannot list the state dir ${this.path} (${code(e)})`);
    }
  }

  /** Creates NAME (O_EXCL, O_NOFOLLOW) holding `text`. */
  writeFile(name: string, text: string, mode = 0o644): void {
    const fd = openAt(this.dirFd, name, c.O_WRONLY | c.O_CREAT | c.O_EXCL | c.O_NOFOLLOW, mode);
    try {
      writeSync(fd, text);
    } finally {
      closeSync(fd);
    }
  }

  /** Writes child_pid atomically: decimal, no newline, read-only. */
  writeChildPid(pid: number): void {
    const tmp = `.${CHILD_PID_FILE}.tmp`;
    this.writeFile(tmp, String(pid), 0o444);
    renameAt(this.dirFd, tmp, CHILD_PID_FILE, false);
  }

  /** Makes a FIFO NAME and opens it (O_RDWR, non-blocking): its fd. */
  openFifo(name: string): number {
    mkfifoAt(this.dirFd, name, 0o600);
    const fd = openAt(this.dirFd, name, c.O_RDWR | c.O_NONBLOCK | c.O_NOFOLLOW);
    if (!fstatSync(fd).isFIFO()) {
      closeSync(fd);
      throw new RkError(`${this.file(name)} changed while it was being made: is another command using ${this.path}?`);
    }
    return fd;
  }

  /** A listening unix socket NAME in the dir (bound through the dir fd): its fd. */
  listen(name: string): number {
    const fd = listenUnix(this.fdPath(name));
    return fd;
  }

  /** Removes the state files (by the dir fd), the lock, and the dir when nothing else is in it; drops the lock. */
  remove(): void {
    this.close(true);
  }

  private close(removeDir: boolean): void {
    if (this.dirFd < 0) return;
    if (this.ready) {
      for (const name of STATE_FILES) {
        try {
          if (isOurs(name, statAt(this.dirFd, name))) unlinkAt(this.dirFd, name, false);
        } catch {
          // not there, or busy (a mount point)
        }
      }
    }
    if (this.ready || this.createdLock) {
      try {
        // Ours: we created it, or hold it and wrote our marker into it.
        unlinkAt(this.dirFd, LOCK_FILE, false);
      } catch {
        // gone
      }
    }
    if (removeDir) this.rmdirSelf();
    if (this.lockFd >= 0) {
      closeSync(this.lockFd);
      this.lockFd = -1;
    }
    closeSync(this.dirFd);
    this.dirFd = -1;
  }

  /** rmdir of the dir itself, through its parent's fd, only if the name still is the dir we hold (and it is empty). */
  private rmdirSelf(): void {
    try {
      removeEmptyDir(this.path, statAt(this.dirFd, ''));
    } catch {
      // gone already
    }
  }
}

/**
 * rmdir of path, through its parent's fd, only if that name still is the dir
 * `held` describes (dev, ino) and it is empty. For a helper that outlives the
 * state dir's owner (rk-bypass --supervise): the owner's own rmdir failed
 * while the helper's files were still in it. Never throws.
 */
export function removeEmptyDir(path: string, held: { dev: number; ino: number }): void {
  let parentFd = -1;
  try {
    parentFd = openAt(c.AT_FDCWD, dirname(path), c.O_RDONLY | c.O_DIRECTORY);
    const named = statAt(parentFd, basename(path));
    if (held.dev === named.dev && held.ino === named.ino) unlinkAt(parentFd, basename(path), true);
  } catch {
    // other files are in it (ENOTEMPTY: the owner still runs, it holds `lock`), or it moved: it stays
  } finally {
    if (parentFd >= 0) closeSync(parentFd);
  }
}

function readAll(fd: number, max: number): string {
  const buf = Buffer.alloc(max + 1);
  let n = 0;
  for (;;) {
    const r = readSync(fd, buf, n, buf.length - n, n);
    if (r <= 0) break;
    n += r;
    if (n >= buf.length) break;
  }
  return buf.subarray(0, n).toString('latin1');
}

/**
 * Where a default state dir goes: $XDG_RUNTIME_DIR when it is usable (an
 * absolute path to a dir of ours that only we can write, as the XDG spec
 * requires; a relative or unusable value is ignored), else $TMPDIR (absolute)
 * or /tmp.
 */
export function defaultParent(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env.XDG_RUNTIME_DIR;
  if (xdg && isAbsolute(xdg)) {
    try {
      const st = statSync(xdg);
      if (st.isDirectory() && st.uid === process.geteuid!() && (st.mode & 0o022) === 0) return xdg;
    } catch {
      // fall back to TMPDIR
    }
  }
  const tmp = env.TMPDIR;
  if (tmp && isAbsolute(tmp)) return tmp.length > 1 ? tmp.replace(/\/+$/, '') || '/' : tmp;
  return '/tmp';
}

/** mkdir -p, one component at a time (Node's recursive mkdir can spin on /proc); true when the last one was made. */
function mkdirP(path: string): boolean {
  let cur = '';
  let made = false;
  for (const part of path.split('/').filter(Boolean)) {
    cur += `/${part}`;
    try {
      mkdirSync(cur, { mode: 0o755 });
      made = true;
    } catch (e) {
      made = false;
      const c = code(e);
      if (c === 'EEXIST') continue;
      if (c === 'ENOTDIR') throw new RkError(`state dir ${path} is not a directory (${dirname(cur)} is not one): choose a directory for --state-dir`);
      throw new RkError(`state dir ${path} cannot be created (${c} at ${cur}): choose another --state-dir, e.g. under $XDG_RUNTIME_DIR`);
    }
  }
  return made;
}
