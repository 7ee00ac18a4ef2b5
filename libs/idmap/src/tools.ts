// newuidmap/newgidmap (Debian package "uidmap"): found on PATH, and able to
// write maps for us only when setuid root or given file capabilities.
import { runProgram } from '@rk/native';
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { RkError } from '@rk/cli';

/** The first executable `name` on PATH (or `name` itself when it holds a slash). */
export function findOnPath(name: string, path = process.env.PATH ?? '/usr/bin:/bin'): string | undefined {
  const candidates = name.includes('/') ? [name] : path.split(delimiter).filter(Boolean).map((d) => join(d, name));
  for (const file of candidates) {
    try {
      if (statSync(file).isFile()) {
        accessSync(file, constants.X_OK);
        return file;
      }
    } catch {
      // not here
    }
  }
  return undefined;
}

export interface MapTool {
  name: string;
  path: string;
  /** false when it is not setuid root and its file capabilities could not be checked */
  verified: boolean;
}

/** Finds newuidmap or newgidmap and checks it can act as root; throws an RkError naming the fix. */
export async function findMapTool(name: 'newuidmap' | 'newgidmap'): Promise<MapTool> {
  const path = findOnPath(name);
  if (!path) throw new RkError(`${name} not found (Debian package "uidmap"): sudo apt-get install uidmap`);
  const st = statSync(path);
  if (st.uid === 0 && (st.mode & 0o4000) !== 0) return { name, path, verified: true };
  const caps = await hasFileCapabilities(path);
  if (caps === true) return { name, path, verified: true };
  if (caps === false) throw notSetuidError(path);
  return { name, path, verified: false };
}

export function notSetuidError(path: string): RkError {
  return new RkError(`${path} is not setuid root: sudo chmod u+s ${path} (or reinstall "uidmap")`);
}

/** Whether `file` has a security.capability xattr; undefined when getfattr is not there to ask. */
function hasFileCapabilities(file: string): Promise<boolean | undefined> {
  const getfattr = findOnPath('getfattr');
  if (!getfattr) return Promise.resolve(undefined);
  return runProgram(getfattr, [getfattr, '--absolute-names', '--only-values', '-n', 'security.capability', file]).then(
    (r) => !r.error && r.code === 0 && r.output.length > 0,
  );
}
