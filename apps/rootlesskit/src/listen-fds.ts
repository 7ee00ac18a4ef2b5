// systemd socket activation: LISTEN_FDS sockets (fds 3...) pass through to
// CMD at the same numbers, and LISTEN_PID is set to CMD's PID.

export interface Activation {
  /** Child fd layout: 0, 1, 2 and the listening fds. */
  fds: number[];
  /** Whether the env's LISTEN_PID must be replaced by CMD's PID. */
  fillListenPid: boolean;
}

export function socketActivation(env: NodeJS.ProcessEnv): Activation {
  const n = Number(env.LISTEN_FDS);
  const forUs = env.LISTEN_PID === undefined || Number(env.LISTEN_PID) === process.pid;
  if (!env.LISTEN_FDS || !Number.isInteger(n) || n <= 0 || n > 200 || !forUs) return { fds: [0, 1, 2], fillListenPid: false };
  env.LISTEN_PID = '0';
  return { fds: [0, 1, 2, ...Array.from({ length: n }, (_, i) => 3 + i)], fillListenPid: true };
}
