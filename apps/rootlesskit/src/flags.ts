// rootlesskit's flags: upstream v3's names, defaults and groups, declared once
// for both the fast parser and the full yargs parser (help and errors).
import type { FlagTable } from '@rk/cli/fast';

export const NET_DRIVERS = ['host', 'none', 'pasta', 'slirp4netns', 'vpnkit', 'lxc-user-nic', 'gvisor-tap-vsock'] as const;
export const PORT_DRIVERS = ['none', 'implicit', 'builtin', 'slirp4netns', 'gvisor-tap-vsock'] as const;
export const PROPAGATIONS = ['rprivate', 'private', 'rslave', 'slave', 'rshared', 'shared'] as const;
const TRISTATE = ['auto', 'true', 'false'] as const;

export const FLAGS = {
  debug: { type: 'boolean', default: false, describe: 'debug mode', group: 'Misc:' },
  'print-semver': { type: 'boolean', default: false, describe: 'print the version as semver', group: 'Misc:' },
  'copy-up': { type: 'string', array: true, default: [], describe: 'mount a tmpfs over DIR and symlink its original entries, e.g. --copy-up=/etc (repeatable)', group: 'Mount:' },
  'copy-up-mode': { type: 'string', choices: ['tmpfs+symlink'], default: 'tmpfs+symlink', describe: 'copy-up mode', group: 'Mount:' },
  propagation: { type: 'string', choices: PROPAGATIONS, default: 'rprivate', describe: 'mount propagation of / in the mount namespace', group: 'Mount:' },
  net: { type: 'string', choices: NET_DRIVERS, default: 'host', describe: 'network driver (this build: host, none)', group: 'Network:' },
  mtu: { type: 'number', default: 0, describe: 'MTU for non-host network (default 65520 for slirp4netns and pasta, 1500 for others)', group: 'Network:' },
  cidr: { type: 'string', describe: 'CIDR for slirp4netns, pasta and vpnkit networks (default: 10.0.2.0/24)', group: 'Network:' },
  ifname: { type: 'string', describe: 'network interface name (default: tap0 for slirp4netns and vpnkit, eth0 for lxc-user-nic)', group: 'Network:' },
  'disable-host-loopback': { type: 'boolean', default: false, describe: "prohibit connecting to the host's 127.0.0.1:*", group: 'Network:' },
  ipv6: { type: 'boolean', default: false, describe: 'enable IPv6 routing (slirp4netns, pasta)', group: 'Network:' },
  'detach-netns': { type: 'boolean', default: false, describe: 'detach the network namespace to STATE/netns instead of joining CMD to it', group: 'Network:' },
  'slirp4netns-binary': { type: 'string', default: 'slirp4netns', describe: 'slirp4netns binary for --net=slirp4netns', group: 'Network drivers:' },
  'slirp4netns-sandbox': { type: 'string', choices: TRISTATE, default: 'auto', describe: 'slirp4netns sandbox', group: 'Network drivers:' },
  'slirp4netns-seccomp': { type: 'string', choices: TRISTATE, default: 'auto', describe: 'slirp4netns seccomp', group: 'Network drivers:' },
  'vpnkit-binary': { type: 'string', default: 'vpnkit', describe: 'VPNKit binary for --net=vpnkit', group: 'Network drivers:' },
  'lxc-user-nic-binary': { type: 'string', default: '/usr/lib/x86_64-linux-gnu/lxc/lxc-user-nic', describe: 'lxc-user-nic binary for --net=lxc-user-nic', group: 'Network drivers:' },
  'lxc-user-nic-bridge': { type: 'string', default: 'lxcbr0', describe: 'lxc-user-nic bridge name', group: 'Network drivers:' },
  'pasta-binary': { type: 'string', default: 'pasta', describe: 'pasta binary for --net=pasta', group: 'Network drivers:' },
  'port-driver': { type: 'string', choices: PORT_DRIVERS, default: 'none', describe: 'port driver for non-host network', group: 'Port:' },
  publish: { type: 'string', array: true, alias: 'p', default: [], describe: 'publish a port, e.g. 127.0.0.1:8080:80/tcp (repeatable)', group: 'Port:' },
  'source-ip-transparent': { type: 'boolean', default: true, describe: 'builtin port driver: the server inside sees the real client address (TCP and UDP)', group: 'Port:' },
  pidns: { type: 'boolean', default: false, describe: 'create a PID namespace (with a fresh /proc)', group: 'Process:' },
  cgroupns: { type: 'boolean', default: false, describe: 'create a cgroup namespace', group: 'Process:' },
  utsns: { type: 'boolean', default: false, describe: 'create a UTS namespace', group: 'Process:' },
  ipcns: { type: 'boolean', default: false, describe: 'create an IPC namespace', group: 'Process:' },
  reaper: { type: 'string', choices: TRISTATE, default: 'auto', describe: 'PID-1 reaper that reaps orphans and forwards signals (needs --pidns; auto: with --pidns)', group: 'Process:' },
  'evacuate-cgroup2': { type: 'string', describe: 'move the processes of our cgroup v2 group into subgroup NAME (needs --pidns and --cgroupns)', group: 'Process:' },
  'state-dir': { type: 'string', describe: 'state directory (lock, child_pid, api.sock); default: a new dir under $XDG_RUNTIME_DIR or $TMPDIR', group: 'State:' },
  'subid-source': { type: 'string', choices: ['auto', 'dynamic', 'static'], default: 'auto', describe: 'subordinate IDs from getsubids (dynamic), /etc/sub[ug]id (static), or dynamic then static (auto)', group: 'SubID:' },
} as const satisfies FlagTable;

type Value<F> = F extends { array: true } ? string[] : F extends { type: 'boolean' } ? boolean : F extends { type: 'number' } ? number : F extends { default: string } ? string : string | undefined;

/** Parsed flags, keyed by flag name. */
export type Args = { -readonly [K in keyof typeof FLAGS]: Value<(typeof FLAGS)[K]> } & { _: string[]; '--'?: string[] };
