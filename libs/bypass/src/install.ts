// The child side of --bypass, for rk-bypass (rootlesskit's child does the
// same natively between fork and exec): connect to the supervisor's
// bypass.sock, install the filter on this thread, hand its listener over.
// Call it last before execve: from then on, this thread's connect() calls
// wait for the supervisor.
import { join } from 'node:path';
import { RkError } from '@rk/cli';
import { bypassInstall, connectUnix } from '@rk/native';
import { BYPASS_SOCK_FILE } from './supervisor.js';

export function installBypass(stateDir: string): void {
  const path = join(stateDir, BYPASS_SOCK_FILE);
  let fd: number;
  try {
    fd = connectUnix(path);
  } catch (e) {
    throw new RkError(`cannot reach the bypass supervisor at ${path} (${(e as NodeJS.ErrnoException).code}): start rk-bypass --supervise --state-dir ${stateDir} first`);
  }
  try {
    bypassInstall(fd);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EACCES' || code === 'EPERM') {
      throw new RkError(`cannot install the bypass filter (${code}): run rk-bypass as root of a user namespace (e.g. under rk-unshare --user)`);
    }
    throw new RkError(`cannot install the bypass filter: ${(e as Error).message}`);
  }
}
