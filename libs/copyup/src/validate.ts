// The refusals of copy-up, checked before anything is mounted. Each is an
// RkError (exit status 2: the arguments are wrong) whose one line names the fix.
import { realpathSync, statSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { RkError } from '@rk/cli';
import { COPY_UP_MODES, DEFAULT_COPY_UP_MODE, PROPAGATIONS, type CopyUpOptions } from './types.js';

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

/** Validates and returns the directories to copy up (duplicates dropped). */
export function resolveCopyUp(opts: CopyUpOptions): { dirs: CopyUpDir[] } {
  const mode = opts.mode ?? DEFAULT_COPY_UP_MODE;
  if (!COPY_UP_MODES.includes(mode)) {
    throw new RkError(`unknown --copy-up-mode ${String(mode)} (supported: ${COPY_UP_MODES.join(', ')})`, USAGE);
  }
  if (opts.propagation !== undefined && !PROPAGATIONS.includes(opts.propagation)) {
    throw new RkError(`unknown --propagation ${String(opts.propagation)} (supported: ${PROPAGATIONS.join(', ')})`, USAGE);
  }
  if (opts.dirs.length === 0) return { dirs: [] };
  if (opts.propagation === 'shared' || opts.propagation === 'rshared') {
    throw new RkError(
      `--propagation=${opts.propagation} cannot be used with --copy-up (moving the staged mount needs a private or slave parent: use rslave or rprivate)`,
      USAGE,
    );
  }
  const dirs: CopyUpDir[] = [];
  for (const given of opts.dirs) {
    if (!isAbsolute(given)) {
      throw new RkError(`--copy-up ${given}: the path must be absolute (e.g. --copy-up /${given.replace(/^\.?\/*/, '')})`, USAGE);
    }
    const cleaned = resolve(given);
    const path = realDir(cleaned, (why) => `--copy-up ${given}: ${why} (copy-up needs an existing directory)`);
    if (path === '/') {
      throw new RkError(`--copy-up ${given}: the root directory cannot be copied up (a tmpfs or an overlay over / would hide the whole system): copy up the directories below it, e.g. --copy-up=/etc`, USAGE);
    }
    if (!dirs.some((d) => d.path === path)) dirs.push({ given, path });
  }
  return { dirs };
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
