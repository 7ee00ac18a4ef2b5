// rk-net's flags: the network flags shared with rootlesskit, plus its own.
import type { FlagTable } from '@rk/cli/fast';
import { NET_FLAGS, type NetFlags } from '@rk/net/flags';

export const FLAGS = {
  debug: { type: 'boolean', default: false, describe: 'print debug messages (and the helper\'s output) on stderr' },
  ...NET_FLAGS,
  net: { ...NET_FLAGS.net, default: undefined },
  'state-dir': { type: 'string', describe: 'state dir of the namespace\'s owner (e.g. rk-unshare --state-dir): read child_pid, write net.json, resolv.conf, hosts and sockets there' },
  'port-driver': { type: 'string', choices: ['none', 'implicit'] as const, default: 'none', describe: 'implicit: pasta itself forwards every port bound in the namespace (--net=pasta only); other port forwarding runs beside, e.g. rk-portfwd' },
  release: { type: 'boolean', default: false, describe: 'once the network is up, open the gate of the child held by rk-unshare --gate --state-dir' },
} as const satisfies FlagTable;

export interface NetArgs extends Omit<NetFlags, 'net'> {
  net?: string;
  debug: boolean;
  'state-dir'?: string;
  release: boolean;
  'port-driver': string;
  _: string[];
  '--'?: string[];
}

export function conflict(a: NetArgs): string | undefined {
  if (a.net === undefined) return '--net=DRIVER is required (e.g. --net=slirp4netns)';
  if (a.net === 'host') return '--net=host has nothing to set up: the process already shares the host\'s network';
  const pos = [...a._, ...(a['--'] ?? []), ...((a as { pid?: string }).pid !== undefined ? [(a as { pid?: string }).pid] : [])];
  if (a['state-dir'] === undefined && pos.length !== 1) return 'give the PID of a process in the network namespace, or --state-dir DIR';
  if (a['state-dir'] !== undefined && pos.length !== 0) return `unexpected argument ${pos[0]}: with --state-dir the PID is read from DIR/child_pid`;
  if (a['port-driver'] === 'implicit' && a.net !== 'pasta') return '--port-driver=implicit needs --net=pasta (pasta forwards the ports itself)';
  if (a.release && a['state-dir'] === undefined) return '--release needs --state-dir DIR (the gate is DIR/gate)';
  if (a['detach-netns'] && a['state-dir'] === undefined) return '--detach-netns needs --state-dir DIR (the namespace is kept at DIR/netns)';
  return undefined;
}
