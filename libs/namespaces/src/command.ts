import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { RkError } from '@rk/cli';

/**
 * Finds the program a shell would run for `name`, searching PATH when the name
 * has no slash. Throws RkError with a shell's statuses: 127 not found, 126 not
 * executable.
 */
export function resolveCommand(name: string, path = process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin'): string {
  if (name === '') throw new RkError('no command given', 127);
  if (name.includes('/')) {
    checkExecutable(name, name);
    return name;
  }
  for (const dir of path.split(delimiter)) {
    const candidate = join(dir === '' ? '.' : dir, name);
    try {
      if (!statSync(candidate).isFile()) continue;
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  throw new RkError(`${name}: command not found (searched PATH=${path})`, 127);
}

function checkExecutable(file: string, shown: string): void {
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
