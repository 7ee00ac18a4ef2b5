import type { Argv } from 'yargs';

export function parseUnshareArgs(y: Argv<{ debug: boolean }>) {
  return y
    .usage(
      `Usage: rk-unshare [options] [--] [CMD [ARGS...]]

Start CMD (default: $SHELL) in new namespaces. With --map-auto the caller becomes
root inside and their /etc/subuid and /etc/subgid ranges are mapped below it
(through newuidmap/newgidmap, as rk-idmap does); with --map-root only the caller is
mapped, as root (like unshare -r). With --gate the child is held before CMD runs,
STATE/child_pid is written, and the maps can be written from outside (rk-idmap
--state-dir STATE) before the gate is opened with "rk-unshare --release STATE"
(or by writing a line to the FIFO STATE/gate).

Exit status: CMD's own; 255 when CMD was killed by a signal (named on stderr);
126/127 when CMD cannot be run or is not found; 1 for a set-up error; 2 for a
usage error. If rk-unshare is killed (even by SIGKILL), CMD is killed too.`,
    )
    .option('user', { alias: 'U', type: 'boolean', default: false, describe: 'new user namespace' })
    .option('mount', { alias: 'm', type: 'boolean', default: false, describe: 'new mount namespace (propagation set to --propagation)' })
    .option('net', { alias: 'n', type: 'boolean', default: false, describe: 'new network namespace (only loopback, brought up)' })
    .option('pid', { alias: 'p', type: 'boolean', default: false, describe: 'new PID namespace with a fresh /proc (implies --mount): CMD is PID 1' })
    .option('uts', { alias: 'u', type: 'boolean', default: false, describe: 'new UTS namespace (hostname)' })
    .option('ipc', { alias: 'i', type: 'boolean', default: false, describe: 'new IPC namespace' })
    .option('cgroup', { alias: 'C', type: 'boolean', default: false, describe: 'new cgroup namespace' })
    .option('map-auto', { type: 'boolean', default: false, describe: 'map the caller to root and the subordinate ID ranges below it (implies --user)' })
    .option('map-root', { alias: 'r', type: 'boolean', default: false, describe: 'map only the caller, as root (implies --user; setgroups is denied)' })
    .option('subid-source', { choices: ['auto', 'dynamic', 'static'] as const, default: 'auto' as const, describe: 'where --map-auto reads ranges: getsubids (dynamic), /etc/sub[ug]id (static), or dynamic then static (auto)' })
    .option('propagation', { choices: ['rprivate', 'private', 'rslave', 'slave', 'rshared', 'shared'] as const, default: 'rprivate' as const, describe: 'mount propagation of / in the new mount namespace' })
    .option('reaper', { type: 'boolean', default: false, describe: 'with --pid: stay as PID 1, reap orphans and forward signals, CMD runs as PID 2' })
    .option('state-dir', { type: 'string', describe: 'state dir: lock, child_pid, gate (removed at exit)' })
    .option('gate', { type: 'boolean', default: false, describe: 'hold the child until "rk-unshare --release DIR" (needs --state-dir)' })
    .option('release', { type: 'string', describe: 'open the gate of the rk-unshare using state dir DIR, then exit', requiresArg: true })
    .check((a) => {
      if (a['map-auto'] && a['map-root']) throw new Error('--map-auto and --map-root cannot be used together');
      if (a.gate && !a['state-dir']) throw new Error('--gate needs --state-dir DIR (the gate is DIR/gate)');
      if (a.reaper && !a.pid) throw new Error('--reaper needs --pid');
      return true;
    })
    .example('rk-unshare --user --mount --map-auto -- cat /proc/self/uid_map', 'root inside, subordinate IDs mapped')
    .example('rk-unshare --user --map-root --pid -- ps -e', 'CMD is PID 1 with its own /proc')
    .example('rk-unshare --user --mount --gate --state-dir S -- sh & rk-idmap --state-dir S; rk-unshare --release S', 'map from outside, then run')
    .parseSync();
}

export type UnshareArgs = ReturnType<typeof parseUnshareArgs>;
