import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { RkError } from '@rk/cli';
import { CHILD_PID_FILE } from './state-dir.js';

/** The PID in DIR/child_pid (decimal, no newline, written once the child is ready). */
export function readChildPid(dir: string): number {
  const file = join(dir, CHILD_PID_FILE);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new RkError(`cannot read ${file} (${code}): is a command running with --state-dir ${dir} (e.g. rk-unshare --gate --state-dir ${dir})?`);
  }
  if (!/^[1-9]\d*\s*$/.test(text)) throw new RkError(`${file} does not hold a PID (found ${JSON.stringify(text.slice(0, 20))}): is ${dir} a state dir?`);
  return Number(text.trim());
}
