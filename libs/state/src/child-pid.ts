import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { RkError } from '@rk/cli';
import { CHILD_PID_FILE } from './state-dir.js';

/** Reads STATE/child_pid (decimal PID, no newline) with a clear error. */
export function readChildPid(stateDir: string): number {
  const file = join(stateDir, CHILD_PID_FILE);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new RkError(`cannot read ${file} (${(e as NodeJS.ErrnoException).code}): is a command running with --state-dir ${stateDir}?`);
  }
  const pid = Number(text.trim());
  if (!Number.isInteger(pid) || pid <= 0) throw new RkError(`${file} does not hold a PID (found ${JSON.stringify(text.slice(0, 20))})`);
  return pid;
}
