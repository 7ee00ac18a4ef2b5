// The gate of a held child, as a FIFO in the state dir: any process that
// writes a line to STATE/gate (e.g. `rk-unshare --release STATE` or
// `echo > STATE/gate`) releases it.
import { closeSync, fstatSync, writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { RkError } from '@rk/cli';
import { constants as c, openAt, statAt } from '@rk/native';
import type { StateDir } from './state-dir.js';

export const GATE_FIFO = 'gate';

/** Creates STATE/gate and resolves when someone writes to it. */
export function createGate(state: StateDir): { opened: Promise<void>; close(): void } {
  let fd: number;
  try {
    // O_RDWR: the FIFO never reports EOF while we wait for the first writer.
    fd = state.openFifo(GATE_FIFO);
  } catch (e) {
    if (e instanceof RkError) throw e;
    throw new RkError(`cannot create the gate FIFO ${state.file(GATE_FIFO)} (${(e as NodeJS.ErrnoException).code}): is another command using ${state.path}?`);
  }
  // node:net is loaded only here, off the start-up path of the other commands.
  const { Socket } = createRequire(import.meta.url)('node:net') as typeof import('node:net');
  const sock = new Socket({ fd, readable: true, writable: false });
  const opened = new Promise<void>((resolve) => sock.once('data', () => resolve()));
  return {
    opened,
    close: () => sock.destroy(),
  };
}

/**
 * Releases a child held at STATE/gate. Writes only to a FIFO reached without
 * following a symlink (checked before and after opening): a regular file, a
 * symlink or a device named `gate` is refused and left untouched.
 */
export function releaseGate(stateDir: string): void {
  const path = join(stateDir, GATE_FIFO);
  const nothingHeld = () => new RkError(`nothing is held at the gate in ${stateDir} (no ${path} reader): start it with rk-unshare --gate --state-dir ${stateDir}`);
  let dirFd: number;
  try {
    dirFd = openAt(c.AT_FDCWD, stateDir, c.O_RDONLY | c.O_DIRECTORY);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw nothingHeld();
    throw new RkError(`cannot open the state dir ${stateDir} (${code})`);
  }
  let fd = -1;
  try {
    let st;
    try {
      st = statAt(dirFd, GATE_FIFO);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw nothingHeld();
      throw new RkError(`cannot check ${path} (${(e as NodeJS.ErrnoException).code})`);
    }
    if ((st.mode & 0o170000) !== 0o010000) {
      const what = (st.mode & 0o170000) === 0o120000 ? 'a symlink' : (st.mode & 0o170000) === 0o100000 ? 'a regular file' : 'not a FIFO';
      throw new RkError(`${path} is ${what}, not the gate FIFO of rk-unshare: nothing written (is ${stateDir} the state dir of rk-unshare --gate?)`);
    }
    try {
      fd = openAt(dirFd, GATE_FIFO, c.O_WRONLY | c.O_NONBLOCK | c.O_NOFOLLOW);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENXIO') throw nothingHeld();
      throw new RkError(`cannot open ${path} (${code})`);
    }
    const now = fstatSync(fd);
    if (!now.isFIFO() || now.ino !== st.ino) throw new RkError(`${path} changed while being opened: nothing written`);
    writeSync(fd, 'release\n');
  } finally {
    if (fd >= 0) closeSync(fd);
    closeSync(dirFd);
  }
}
