// rk-unshare's flags, declared once for the fast parser (yargs-parser) and
// the full yargs parser (help, --version, usage errors).
import type { FlagTable } from '@rk/cli/fast';

export const PROPAGATIONS = ['rprivate', 'private', 'rslave', 'slave', 'rshared', 'shared'] as const;

export const FLAGS = {
  debug: { type: 'boolean', default: false, describe: 'print debug messages on stderr' },
  user: { type: 'boolean', alias: 'U', default: false, describe: 'new user namespace' },
  mount: { type: 'boolean', alias: 'm', default: false, describe: 'new mount namespace (propagation set to --propagation)' },
  net: { type: 'boolean', alias: 'n', default: false, describe: 'new network namespace (only loopback, brought up)' },
  pid: { type: 'boolean', alias: 'p', default: false, describe: 'new PID namespace with a fresh /proc (implies --mount): CMD is PID 1' },
  uts: { type: 'boolean', alias: 'u', default: false, describe: 'new UTS namespace (hostname)' },
  ipc: { type: 'boolean', alias: 'i', default: false, describe: 'new IPC namespace' },
  cgroup: { type: 'boolean', alias: 'C', default: false, describe: 'new cgroup namespace' },
  'map-auto': { type: 'boolean', default: false, describe: 'map the caller to root and the subordinate ID ranges below it (implies --user)' },
  'map-root': { type: 'boolean', alias: 'r', default: false, describe: 'map only the caller, as root (implies --user; setgroups is denied)' },
  'subid-source': { type: 'string', choices: ['auto', 'dynamic', 'static'], default: 'auto', describe: 'where --map-auto reads ranges: getsubids (dynamic), /etc/sub[ug]id (static), or dynamic then static (auto)' },
  propagation: { type: 'string', choices: PROPAGATIONS, default: 'rprivate', describe: 'mount propagation of / in the new mount namespace' },
  reaper: { type: 'boolean', default: false, describe: 'with --pid: stay as PID 1, reap orphans and forward signals, CMD runs as PID 2' },
  'state-dir': { type: 'string', describe: 'state dir: lock, child_pid, gate (removed at exit)' },
  gate: { type: 'boolean', default: false, describe: 'hold the child until "rk-unshare --release DIR" (needs --state-dir)' },
  release: { type: 'string', describe: 'open the gate of the rk-unshare using state dir DIR, then exit' },
} as const satisfies FlagTable;

export interface UnshareArgs {
  debug: boolean;
  user: boolean;
  mount: boolean;
  net: boolean;
  pid: boolean;
  uts: boolean;
  ipc: boolean;
  cgroup: boolean;
  'map-auto': boolean;
  'map-root': boolean;
  'subid-source': 'auto' | 'dynamic' | 'static';
  propagation: (typeof PROPAGATIONS)[number];
  reaper: boolean;
  'state-dir'?: string;
  gate: boolean;
  release?: string;
  _: string[];
  '--'?: string[];
}

/** The combinations refused; the message is the usage error. */
export function conflict(a: UnshareArgs): string | undefined {
  if (a.release === '') return '--release needs the state dir: rk-unshare --release DIR';
  if (a['map-auto'] && a['map-root']) return '--map-auto and --map-root cannot be used together';
  if (a.gate && !a['state-dir']) return '--gate needs --state-dir DIR (the gate is DIR/gate)';
  if (a.reaper && !a.pid) return '--reaper needs --pid';
  return undefined;
}
