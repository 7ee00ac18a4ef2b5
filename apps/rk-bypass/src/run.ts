// The two sides of rk-bypass: install the filter and exec CMD (inside), or
// supervise (outside) until the namespace's filtered processes are gone.
import { closeSync, constants as fsc, openSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RkError, commandOf, inherited, rawCommand, rawEnv, shown, type Logger } from '@rk/cli';
import { BYPASS_JSON_FILE, BYPASS_SOCK_FILE, checkCidrs, installBypass, startBypass } from '@rk/bypass';
import { execError, resolveCommand } from '@rk/namespaces';
import { exec, listenUnix, pidfdOpen, whenReadable } from '@rk/native';
import { readChildPid, removeEmptyDir } from '@rk/state';
import type { BypassCmdArgs } from './flags.js';

export function runInstall(a: BypassCmdArgs, log: Logger): never {
  const cmd = rawCommand(commandOf(a, []));
  const file = resolveCommand(cmd[0]!);
  const env = rawEnv();
  const signals = inherited();
  installBypass(a['state-dir']!);
  log.debug(`filter handed over; exec ${shown(file)}`);
  try {
    return exec(file, cmd, env, [], signals);
  } catch (e) {
    const err = execError(file, String(cmd[0]), (e as NodeJS.ErrnoException).code ?? String(e));
    throw new RkError(err.message, err.exitCode, { cause: e });
  }
}

export async function runSupervise(a: BypassCmdArgs, log: Logger): Promise<number> {
  const dir = a['state-dir']!;
  const ignore = checkCidrs(a['bypass-ignore']);
  const pid = readChildPid(dir);
  // The state dir as it is now: removed at the end if its owner is gone (see below).
  const held = statSync(dir);
  const sockPath = join(dir, BYPASS_SOCK_FILE);
  let listenFd: number;
  try {
    listenFd = listenUnix(sockPath);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new RkError(`cannot make ${sockPath} (${code})${code === 'EADDRINUSE' ? ': another supervisor serves this namespace, or a stale one left it: remove it' : ''}`);
  }
  const jsonPath = join(dir, BYPASS_JSON_FILE);
  const cleanup = () => {
    rmSync(sockPath, { force: true });
    rmSync(jsonPath, { force: true });
  };
  let bypass;
  try {
    bypass = startBypass({ listenFd, pid, ignore, nested: a['bypass-nested'], log });
  } catch (e) {
    closeSync(listenFd);
    cleanup();
    throw e;
  }
  log.debug(`supervising the namespace of process ${pid}: ${sockPath}`);
  // Counters for whoever asks (rootlessctl has no API here): DIR/bypass.json,
  // rewritten once a second when they changed.
  let last = '';
  const writeStats = () => {
    const text = JSON.stringify(bypass.stats());
    if (text === last) return;
    last = text;
    const tmp = `${jsonPath}.tmp`;
    try {
      rmSync(tmp, { force: true });
      const fd = openSync(tmp, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL | fsc.O_NOFOLLOW, 0o600);
      try {
        writeFileSync(fd, text);
      } finally {
        closeSync(fd);
      }
      renameSync(tmp, jsonPath);
    } catch (e) {
      // The namespace's owner removed the state dir as it ended: nobody to tell.
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
  };
  writeStats();
  const timer = setInterval(writeStats, 1000);
  let pidfd = -1;
  const childGone = new Promise<string>((resolve) => {
    try {
      pidfd = pidfdOpen(pid);
      whenReadable(pidfd, () => resolve(`process ${pid} exited`));
    } catch {
      resolve(`process ${pid} is gone`);
    }
  });
  const signalled = new Promise<string>((resolve) => {
    for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.once(s, () => resolve(`got ${s}`));
  });
  const why = await Promise.race([bypass.idle.then(() => 'no filtered process left'), childGone, signalled]);
  log.debug(`stopping: ${why}`);
  clearInterval(timer);
  writeStats();
  bypass.stop();
  if (pidfd >= 0) closeSync(pidfd);
  cleanup();
  // The namespace's owner (rk-unshare, rootlesskit) may have ended first and
  // failed to remove the dir while our files were in it: the last one out
  // removes it (only if empty: a live owner still holds its lock file there).
  removeEmptyDir(dir, held);
  return 0;
}
