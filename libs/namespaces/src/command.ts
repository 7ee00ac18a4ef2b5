import { accessSync, constants, statSync } from 'node:fs';
import { delimiter } from 'node:path';
import { RkError } from '@rk/cli';

/**
 * Finds the program a shell would run for `name` (a string, or raw bytes that
 * are not UTF-8), searching PATH when the name has no slash. Returns the path
 * in the same form. Throws RkError with a shell's statuses: 127 not found, 126
 * not executable.
 */
export function resolveCommand<T extends string | Buffer>(name: T, path = process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin'): T {
  const text = name.toString();
  if (name.length === 0) throw new RkError('no command given', 127);
  if (text.includes('/')) {
    checkExecutable(name, text);
    return name;
  }
  for (const dir of path.split(delimiter)) {
    const prefix = `${dir === '' ? '.' : dir.replace(/\/+$/, '')}/`;
    const candidate = (typeof name === 'string' ? prefix + name : Buffer.concat([Buffer.from(prefix), name])) as T;
    try {
      if (!statSync(candidate).isFile()) continue;
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  throw new RkError(`${text}: command not found (searched PATH=${path})`, 127);
}

function checkExecutable(file: string | Buffer, shown: string): void {
  let st;
  try {
    st = statSync(file);
  } catch {
    throw new RkError(`${shown}: no such file or directory`, 127);
  }
  if (st.isDirectory()) throw new RkError(`${shown}: is a directory`, 126);
  try {
    accessSync(file, constants.X_OK);
  } catch {
    throw new RkError(`${shown}: permission denied (chmod +x ${shown})`, 126);
  }
}

/** KEY=value strings for an environment object, skipping unset values. */
export function envList(env: NodeJS.ProcessEnv): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(env)) if (v !== undefined) out.push(`${k}=${v}`);
  return out;
}
