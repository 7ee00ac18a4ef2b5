// rootlesskit's flags: upstream v3's names, defaults and groups, declared once
// for both the fast parser and the full yargs parser (help and errors).
import type { FlagTable } from '@rk/cli/fast';
import { NET_FLAGS } from '@rk/net/flags';
import { BYPASS_FLAGS } from '@rk/bypass/flags';

export const PORT_DRIVERS = ['none', 'implicit', 'builtin', 'slirp4netns', 'gvisor-tap-vsock'] as const;
export const PROPAGATIONS = ['rprivate', 'private', 'rslave', 'slave', 'rshared', 'shared'] as const;
const TRISTATE = ['auto', 'true', 'false'] as const;

export const FLAGS = {
  debug: { type: 'boolean', default: false, describe: 'debug mode', group: 'Misc:' },
  'print-semver': { type: 'boolean', default: false, describe: 'print the version as semver', group: 'Misc:' },
  'copy-up': { type: 'string', array: true, default: [], describe: 'make DIR writable in the namespace (how: --copy-up-mode), e.g. --copy-up=/etc', group: 'Mount:' },
  'copy-up-mode': { type: 'string', choices: ['tmpfs+symlink', 'overlayfs', 'auto'], default: 'tmpfs+symlink', describe: 'copy-up mode: tmpfs+symlink (upstream\'s), overlayfs (Linux >= 5.11; keeps relative symlinks), auto (overlayfs, else tmpfs+symlink, per directory)', group: 'Mount:' },
  propagation: { type: 'string', choices: PROPAGATIONS, default: 'rprivate', describe: 'mount propagation of / in the mount namespace', group: 'Mount:' },
  ...NET_FLAGS,
  ...BYPASS_FLAGS,
  'port-driver': { type: 'string', choices: PORT_DRIVERS, default: 'none', describe: 'port driver for non-host network', group: 'Port:' },
  publish: { type: 'string', array: true, alias: 'p', default: [], describe: 'publish a port, e.g. 127.0.0.1:8080:80/tcp; a socket file on either side with proto unix (/run/app.sock:80/unix, 2375:/run/docker.sock/unix); ,proxy-protocol=v1|v2 after the proto (both: --port-driver=builtin)', group: 'Port:' },
  'source-ip-transparent': { type: 'boolean', default: true, describe: 'builtin port driver: the server inside sees the real client address (TCP and UDP)', group: 'Port:' },
  pidns: { type: 'boolean', default: false, describe: 'create a PID namespace (with a fresh /proc)', group: 'Process:' },
  cgroupns: { type: 'boolean', default: false, describe: 'create a cgroup namespace', group: 'Process:' },
  utsns: { type: 'boolean', default: false, describe: 'create a UTS namespace', group: 'Process:' },
  ipcns: { type: 'boolean', default: false, describe: 'create an IPC namespace', group: 'Process:' },
  reaper: { type: 'string', choices: TRISTATE, default: 'auto', describe: 'with --pidns, PID 1 (which forwards signals to CMD) also reaps orphans (true needs --pidns; auto: with --pidns)', group: 'Process:' },
  'evacuate-cgroup2': { type: 'string', describe: 'move the processes of our cgroup v2 group into subgroup NAME (needs --pidns and --cgroupns)', group: 'Process:' },
  'state-dir': { type: 'string', describe: 'state directory (lock, child_pid, api.sock); default: a new dir under $XDG_RUNTIME_DIR or $TMPDIR', group: 'State:' },
  'subid-source': { type: 'string', choices: ['auto', 'dynamic', 'static'], default: 'auto', describe: 'subordinate IDs from getsubids (dynamic), /etc/sub[ug]id (static), or dynamic then static (auto)', group: 'SubID:' },
} as const satisfies FlagTable;

type Value<F> = F extends { array: true } ? string[] : F extends { type: 'boolean' } ? boolean : F extends { type: 'number' } ? number : F extends { default: string } ? string : string | undefined;

/** Parsed flags, keyed by flag name. */
export type Args = { -readonly [K in keyof typeof FLAGS]: Value<(typeof FLAGS)[K]> } & { _: string[]; '--'?: string[] };
