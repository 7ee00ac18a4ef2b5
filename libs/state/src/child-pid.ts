import { closeSync, fstatSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { RkError } from '@rk/cli';
import { constants as c, openAt } from '@rk/native';
import { CHILD_PID_FILE } from './state-dir.js';

/** The PID in DIR/child_pid (decimal, no newline, written once the child is ready); never read through a symlink. */
export function readChildPid(dir: string): number {
  const file = join(dir, CHILD_PID_FILE);
  let text: string;
  let fd: number;
  try {
    fd = openAt(c.AT_FDCWD, file, c.O_RDONLY | c.O_NOFOLLOW | c.O_NONBLOCK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ELOOP') throw new RkError(`${file} is a symlink, not a child_pid file: is ${dir} a state dir?`);
    throw new RkError(`cannot read ${file} (${code}): is a command running with --state-dir ${dir} (e.g. rk-unshare --gate --state-dir ${dir})?`);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile() || st.size > 20) throw new RkError(`${file} does not hold a PID (${st.isFile() ? `${st.size} bytes` : 'not a regular file'}): is ${dir} a state dir?`);
    const buf = Buffer.alloc(32);
    const n = readSync(fd, buf, 0, buf.length, 0);
    text = buf.subarray(0, n).toString('latin1');
  } finally {
    closeSync(fd);
  }
  if (!/^[1-9]\d*\s*$/.test(text)) throw new RkError(`${file} does not hold a PID (found ${JSON.stringify(text.slice(0, 20))}): is ${dir} a state dir?`);
  return Number(text.trim());
}
