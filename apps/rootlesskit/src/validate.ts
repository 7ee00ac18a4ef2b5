// The refusals upstream rootlesskit makes, before anything is started.
import { RkError } from '@rk/cli';
import type { Args } from './flags.js';
import { checkPublish } from './ports.js';

/** Drivers this build implements; the others are refused with a clear message. */
const IMPLEMENTED_NETS = new Set(['host', 'none']);
const IMPLEMENTED_PORTS = new Set(['none', 'builtin']);

export function validate(a: Args, warn: (msg: string) => void): void {
  const host = a.net === 'host';
  if (host) {
    if (a.cidr !== undefined) throw new RkError('custom cidr is supported only for --net=slirp4netns, pasta and vpnkit (drop --cidr for --net=host)');
    if (a.ifname !== undefined) throw new RkError('ifname cannot be specified for --net=host (drop --ifname)');
    if (a.mtu !== 0) warn(`unsupported mtu for --net=host: ${a.mtu}`);
    if (a.ipv6) warn('--ipv6 is discarded for --net=host');
    if (a['detach-netns']) throw new RkError('--detach-netns requires a non-host network (e.g. --net=slirp4netns)');
    if (a['port-driver'] !== 'none') throw new RkError(`port driver requires non-host network (--port-driver=${a['port-driver']} with --net=host)`);
  }
  if (a.net === 'none') {
    if (a.cidr !== undefined) throw new RkError('custom cidr is supported only for --net=slirp4netns, pasta and vpnkit (drop --cidr for --net=none)');
    if (a.ifname !== undefined) throw new RkError('ifname cannot be specified for --net=none: it has only the loopback interface');
    if (a['detach-netns']) throw new RkError('--detach-netns is not available in this build yet: drop it');
  }
  if (a.mtu < 0 || a.mtu > 65521 || !Number.isInteger(a.mtu)) throw new RkError(`--mtu must be an integer between 0 and 65521 (got ${a.mtu})`);
  if (a.publish.length > 0 && a['port-driver'] === 'none') {
    throw new RkError('port driver "none" does not support publishing ports: add --port-driver=builtin (with a non-host --net)');
  }
  if (!IMPLEMENTED_NETS.has(a.net)) {
    throw new RkError(`network driver "${a.net}" is not available in this build yet: use --net=host or --net=none`);
  }
  if (!IMPLEMENTED_PORTS.has(a['port-driver'])) {
    throw new RkError(`port driver "${a['port-driver']}" is not available in this build yet: use --port-driver=builtin or none`);
  }
  checkPublish(a);
  if (a['evacuate-cgroup2'] !== undefined) {
    if (!a.cgroupns) throw new RkError('evacuate-cgroup2 requires --cgroupns');
    if (!a.pidns) throw new RkError('evacuate-cgroup2 requires --pidns');
  }
  if (a.reaper === 'true' && !a.pidns) throw new RkError('reaper requires --pidns (add --pidns or use --reaper=auto)');
  if ((a.propagation === 'rshared' || a.propagation === 'shared') && a['copy-up'].length > 0) {
    throw new RkError(`propagation ${a.propagation} does not support copy-up driver tmpfs+symlink: use --propagation=rslave or drop --copy-up`);
  }
}
