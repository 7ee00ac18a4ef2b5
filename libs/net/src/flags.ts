// The network flags, declared once (upstream v3's names and defaults) for
// every command that starts a network driver: rk-net and rootlesskit.
import type { FlagTable } from '@rk/cli/fast';

export const NET_DRIVERS = ['host', 'none', 'builtin', 'slirp4netns', 'pasta', 'vdeplug_slirp', 'vpnkit', 'lxc-user-nic', 'gvisor-tap-vsock'] as const;
const TRISTATE = ['auto', 'true', 'false'] as const;

/** Debian installs lxc-user-nic here; upstream's default path is tried first. */
export const LXC_USER_NIC_PATHS = ['/usr/lib/x86_64-linux-gnu/lxc/lxc-user-nic', '/usr/libexec/lxc/lxc-user-nic'];

export const NET_FLAGS = {
  net: {
    type: 'string',
    choices: NET_DRIVERS,
    default: 'host',
    describe:
      'network driver: host, none (loopback only), builtin (our embedded userspace NAT: libslirp in a sandboxed process of ours, no extra package), ' +
      'slirp4netns, pasta, vdeplug_slirp, vpnkit, lxc-user-nic; gvisor-tap-vsock (upstream v3 name) is served by our builtin engine with that driver\'s addresses',
    group: 'Network:',
  },
  mtu: { type: 'number', default: 0, describe: 'MTU (0: the driver\'s default: 65520 for builtin, slirp4netns, pasta, gvisor-tap-vsock; 1500 for the others)', group: 'Network:' },
  cidr: { type: 'string', describe: 'CIDR for builtin, slirp4netns, pasta, vdeplug_slirp and gvisor-tap-vsock (default: 10.0.2.0/24)', group: 'Network:' },
  ifname: { type: 'string', describe: 'interface name inside (default: tap0; eth0 for lxc-user-nic)', group: 'Network:' },
  'disable-host-loopback': { type: 'boolean', default: false, describe: "prohibit connecting to the host's 127.0.0.1:* through the gateway", group: 'Network:' },
  ipv6: { type: 'boolean', default: false, describe: 'enable IPv6 routing (builtin, slirp4netns, pasta, vdeplug_slirp)', group: 'Network:' },
  'detach-netns': { type: 'boolean', default: false, describe: 'keep the network namespace at STATE/netns and leave CMD in the host network namespace', group: 'Network:' },
  'slirp4netns-binary': { type: 'string', default: 'slirp4netns', describe: 'slirp4netns binary for --net=slirp4netns', group: 'Network drivers:' },
  'slirp4netns-sandbox': { type: 'string', choices: TRISTATE, default: 'false', describe: 'enable slirp4netns sandbox (auto: when supported and without --detach-netns; off by default, as upstream)', group: 'Network drivers:' },
  'slirp4netns-seccomp': { type: 'string', choices: TRISTATE, default: 'false', describe: 'enable slirp4netns seccomp (auto: when slirp4netns and the kernel support it; off by default, as upstream)', group: 'Network drivers:' },
  'pasta-binary': { type: 'string', default: 'pasta', describe: 'pasta binary for --net=pasta', group: 'Network drivers:' },
  'vpnkit-binary': { type: 'string', default: 'vpnkit', describe: 'VPNKit binary for --net=vpnkit', group: 'Network drivers:' },
  'lxc-user-nic-binary': { type: 'string', default: LXC_USER_NIC_PATHS[0], describe: `lxc-user-nic binary for --net=lxc-user-nic (when the default is missing: ${LXC_USER_NIC_PATHS[1]})`, group: 'Network drivers:' },
  'lxc-user-nic-bridge': { type: 'string', default: 'lxcbr0', describe: 'lxc-user-nic bridge name', group: 'Network drivers:' },
  'vde-plug-binary': { type: 'string', default: 'vde_plug', describe: 'vde_plug binary (vde2) for --net=vdeplug_slirp', group: 'Network drivers:' },
} as const satisfies FlagTable;

/** The parsed network flags (as both commands' parsers give them). */
export interface NetFlags {
  net: string;
  mtu: number;
  cidr?: string;
  ifname?: string;
  'disable-host-loopback': boolean;
  ipv6: boolean;
  'detach-netns': boolean;
  'slirp4netns-binary': string;
  'slirp4netns-sandbox': string;
  'slirp4netns-seccomp': string;
  'pasta-binary': string;
  'vpnkit-binary': string;
  'lxc-user-nic-binary': string;
  'lxc-user-nic-bridge': string;
  'vde-plug-binary': string;
}
