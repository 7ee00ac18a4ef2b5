// systemd socket activation, by systemd's rules (sd_listen_fds(3)): only when
// LISTEN_PID names this process, and only with fds that were really inherited
// (the bin's sh part checks fds 3... before Node opens fds of its own there).
// Then the LISTEN_FDS sockets pass through to CMD at the same numbers, and
// LISTEN_PID is set to CMD's PID. Otherwise LISTEN_* pass through unchanged
// and CMD gets no extra fds.
import type { Inherited } from '@rk/cli';

export interface Activation {
  /** Child fd layout: 0, 1, 2 and the listening fds. */
  fds: number[];
  /** Whether the env's LISTEN_PID must be replaced by CMD's PID. */
  fillListenPid: boolean;
  /** Why activation was not passed on (for --debug), when LISTEN_FDS was set. */
  skipped?: string;
}

export function socketActivation(env: NodeJS.ProcessEnv, inherited: Inherited | undefined, pid = process.pid): Activation {
  const none = (skipped?: string): Activation => ({ fds: [0, 1, 2], fillListenPid: false, skipped });
  if (env.LISTEN_FDS === undefined) return none();
  const n = /^[1-9]\d{0,2}$/.test(env.LISTEN_FDS) ? Number(env.LISTEN_FDS) : 0;
  if (n === 0) return none(`LISTEN_FDS=${env.LISTEN_FDS} is not a positive number`);
  if (env.LISTEN_PID !== String(pid)) return none(`LISTEN_PID=${env.LISTEN_PID ?? '(unset)'} does not name this process (${pid})`);
  if (!inherited?.listenFds) return none('the inherited fds could not be checked (started without the bin script)');
  const want = Array.from({ length: n }, (_, i) => 3 + i);
  const missing = want.filter((fd) => !inherited.listenFds!.includes(fd));
  if (missing.length > 0) return none(`LISTEN_FDS=${n} but fd ${missing.join(', ')} ${missing.length === 1 ? 'was' : 'were'} not inherited`);
  return { fds: [0, 1, 2, ...want], fillListenPid: true };
}
