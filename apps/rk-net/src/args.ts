// Parsing: yargs-parser alone when the flags are valid; the full yargs parser
// (loaded only then) for --help, --version and usage errors.
import { explicitBooleans, fastParse } from '@rk/cli/fast';
import { FLAGS, conflict, type NetArgs } from './flags.js';

export const USAGE = `Usage: rk-net --net=DRIVER [options] PID
       rk-net --net=DRIVER [options] --state-dir DIR [--release]

Give the network namespace of process PID (e.g. a child of rk-unshare --net)
connectivity, and stay up while the namespace lives: rk-net exits (status 0)
once no process is left in it. A driver's helper that dies is restarted; rk-net
exits 1 with one error line when the driver gives up (its helper died more than
5 times within 30 s, or cannot be restarted).

Drivers: none (loopback only), builtin (our embedded userspace NAT: libslirp in
a sandboxed process of ours, no extra package), slirp4netns, pasta, vdeplug_slirp, vpnkit,
lxc-user-nic; gvisor-tap-vsock (upstream's name) is our builtin engine with
that driver's addresses. Addresses as upstream: with builtin, slirp4netns, pasta
and vdeplug_slirp the namespace gets 10.0.2.100/24 on tap0 (--cidr), gateway
10.0.2.2 (the host's 127.0.0.1 unless --disable-host-loopback), DNS 10.0.2.3;
gvisor-tap-vsock has gateway and DNS at .1, vpnkit its own network, and
lxc-user-nic an address from the DHCP server on root's bridge.

With --state-dir DIR the PID is read from DIR/child_pid, and DIR/resolv.conf,
DIR/hosts and, last, DIR/net.json (driver, interface, MTU, address, gateway, DNS,
the driver's sockets) are written once the network is up; --release then opens
the gate of the child held by "rk-unshare --gate --state-dir DIR".

Exit status: 0 when the namespace is gone (or on SIGINT/SIGTERM); 1 when the
driver cannot start or dies; 2 for a usage error.`;

export async function parseNetArgs(argv: string[]): Promise<NetArgs> {
  const args = explicitBooleans(argv, FLAGS);
  const fast = fastParse(args, FLAGS) as unknown as NetArgs | undefined;
  if (fast && !conflict(fast)) return fast;
  const { fullParse } = await import('./full-args.js');
  return fullParse(args);
}
