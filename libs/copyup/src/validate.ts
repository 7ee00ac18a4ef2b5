// The refusals of copy-up, checked before anything is mounted. Each is an
// RkError (exit status 2: the arguments are wrong) whose one line names the fix.
import { realpathSync, statSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { RkError } from '@rk/cli';
import { COPY_UP_MODES, PROPAGATIONS, type CopyUpOptions } from './types.js';

export const DEFAULT_TMP_ROOT = '/tmp';
const USAGE = 2;

/** A directory to copy up: as given, cleaned, and with symlinks resolved. */
export interface CopyUpDir {
  given: string;
  path: string;
}

/** Checks every refusal; throws the first as an RkError. */
export function validateCopyUp(opts: CopyUpOptions): void {
  resolveCopyUp(opts);
}

/** Validates and returns the directories to copy up (duplicates dropped), plus the staging root. */
export function resolveCopyUp(opts: CopyUpOptions): { dirs: CopyUpDir[]; tmpRoot: string } {
  const mode = opts.mode ?? 'tmpfs+symlink';
  if (!COPY_UP_MODES.includes(mode)) {
    throw new RkError(`unknown --copy-up-mode ${String(mode)} (supported: ${COPY_UP_MODES.join(', ')})`, USAGE);
  }
  if (opts.propagation !== undefined && !PROPAGATIONS.includes(opts.propagation)) {
    throw new RkError(`unknown --propagation ${String(opts.propagation)} (supported: ${PROPAGATIONS.join(', ')})`, USAGE);
  }
  if (opts.dirs.length === 0) return { dirs: [], tmpRoot: opts.tmpRoot ?? DEFAULT_TMP_ROOT };
  if (opts.propagation === 'shared' || opts.propagation === 'rshared') {
    throw new RkError(
      `--propagation=${opts.propagation} cannot be used with --copy-up (moving the staged mount needs a private or slave parent: use rslave or rprivate)`,
      USAGE,
    );
  }
  const tmpGiven = opts.tmpRoot ?? DEFAULT_TMP_ROOT;
  const tmpRoot = realDir(tmpGiven, () => `the staging directory ${tmpGiven} does not exist (it must be an existing, writable directory)`);
  const dirs: CopyUpDir[] = [];
  for (const given of opts.dirs) {
    if (!isAbsolute(given)) {
      throw new RkError(`--copy-up ${given}: the path must be absolute (e.g. --copy-up /${given.replace(/^\.?\/*/, '')})`, USAGE);
    }
    const cleaned = resolve(given);
    const path = realDir(cleaned, (why) => `--copy-up ${given}: ${why} (copy-up needs an existing directory)`);
    if (path === tmpRoot || cleaned === resolve(tmpGiven)) {
      throw new RkError(`--copy-up ${given}: ${tmpGiven} cannot be copied up (it holds the staging mounts; mount a tmpfs there instead, or copy up a directory below it)`, USAGE);
    }
    if (isUnder(tmpRoot, path)) {
      throw new RkError(`--copy-up ${given}: it contains ${tmpGiven}, where copy-up stages its mounts, so it cannot be copied up (copy up the directories below it instead)`, USAGE);
    }
    if (!dirs.some((d) => d.path === path)) dirs.push({ given, path });
  }
  return { dirs, tmpRoot };
}

/** realpath of an existing directory, or an RkError with why it is not one. */
function realDir(p: string, message: (why: string) => string): string {
  let real: string;
  try {
    real = realpathSync(p);
    if (!statSync(real).isDirectory()) throw new RkError(message('not a directory'), USAGE);
  } catch (e) {
    if (e instanceof RkError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such directory' : code === 'ENOTDIR' ? 'not a directory' : code === 'EACCES' ? 'permission denied' : String(code ?? e);
    throw new RkError(message(why), USAGE);
  }
  return real;
}

/** Whether `inner` is `outer` or lies below it. */
export function isUnder(inner: string, outer: string): boolean {
  return inner === outer || outer === '/' || inner.startsWith(`${outer}/`);
}
