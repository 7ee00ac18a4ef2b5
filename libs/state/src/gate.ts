// The gate of a held child, as a FIFO in the state dir: any process that
// writes a line to STATE/gate (e.g. `rk-unshare --release STATE` or
// `echo > STATE/gate`) releases it.
import { closeSync, constants as fsc, openSync, writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { RkError } from '@rk/cli';
import { mkfifo } from '@rk/native';

export const GATE_FIFO = 'gate';

/** Creates STATE/gate and resolves when someone writes to it. */
export function createGate(stateDir: string): { opened: Promise<void>; close(): void } {
  const path = join(stateDir, GATE_FIFO);
  try {
    mkfifo(path, 0o600);
  } catch (e) {
    throw new RkError(`cannot create the gate FIFO ${path} (${(e as NodeJS.ErrnoException).code}): is another command using ${stateDir}?`);
  }
  // O_RDWR: the FIFO never reports EOF while we wait for the first writer.
  const fd = openSync(path, fsc.O_RDWR | fsc.O_NONBLOCK);
  // node:net is loaded only here, off the start-up path of the other commands.
  const { Socket } = createRequire(import.meta.url)('node:net') as typeof import('node:net');
  const sock = new Socket({ fd, readable: true, writable: false });
  const opened = new Promise<void>((resolve) => sock.once('data', () => resolve()));
  return {
    opened,
    close: () => sock.destroy(),
  };
}

/** Releases a child held at STATE/gate. */
export function releaseGate(stateDir: string): void {
  const path = join(stateDir, GATE_FIFO);
  let fd: number;
  try {
    fd = openSync(path, fsc.O_WRONLY | fsc.O_NONBLOCK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENXIO') throw new RkError(`nothing is held at the gate in ${stateDir} (no ${path} reader): start it with rk-unshare --gate --state-dir ${stateDir}`);
    throw new RkError(`cannot open ${path} (${code})`);
  }
  writeSync(fd, 'release\n');
  closeSync(fd);
}
