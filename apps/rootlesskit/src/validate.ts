// The refusals upstream rootlesskit makes, before anything is started.
import { RkError } from '@rk/cli';
import { checkCidrs } from '@rk/bypass';
import { driverFor, resolveNetConfig, type NetConfig } from '@rk/net';
import type { Args } from './flags.js';
import { checkPublish } from './ports.js';

/** Port drivers this build implements; the others are refused with a clear message. */
const IMPLEMENTED_PORTS = new Set(['none', 'implicit', 'builtin', 'slirp4netns', 'gvisor-tap-vsock']);

/** Checks the flags; returns the network configuration (undefined for --net=host). */
export function validate(a: Args, warn: (msg: string) => void): NetConfig | undefined {
  const host = a.net === 'host';
  if (host && a['port-driver'] !== 'none') throw new RkError(`port driver requires non-host network (--port-driver=${a['port-driver']} with --net=host)`);
  if (a['port-driver'] === 'implicit' && a.net !== 'pasta') throw new RkError('port driver "implicit" requires --net=pasta (pasta forwards every port bound in the namespace)');
  if (a.publish.length > 0 && a['port-driver'] === 'implicit') {
    throw new RkError('port driver "implicit" publishes every port bound in the namespace by itself: drop -p/--publish');
  }
  if (a['port-driver'] === 'slirp4netns' && a.net !== 'slirp4netns') throw new RkError('port driver "slirp4netns" requires --net=slirp4netns (it uses slirp4netns\'s API socket): use --port-driver=builtin');
  if (a['port-driver'] === 'slirp4netns' && a['detach-netns']) throw new RkError('port driver "slirp4netns" cannot be used with --detach-netns: use --port-driver=builtin');
  if (a.publish.length > 0 && a['port-driver'] === 'none') {
    throw new RkError('port driver "none" does not support publishing ports: add --port-driver=builtin (with a non-host --net)');
  }
  const net = resolveNetConfig(a, a['port-driver'], warn);
  if (!host) driverFor(a.net);
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
    throw new RkError(`propagation ${a.propagation} does not support copy-up driver ${a['copy-up-mode']}: use --propagation=rslave or drop --copy-up`);
  }
  if (a.bypass) {
    if (host || a.net === 'none') throw new RkError(`--bypass needs a network namespace with a driver: drop --bypass or use e.g. --net=builtin (not --net=${a.net})`);
    if (a['detach-netns']) throw new RkError('--bypass cannot be used with --detach-netns yet: drop one of them');
  }
  if (!a.bypass && (a['bypass-ignore'].length > 0 || a['bypass-nested'])) throw new RkError('--bypass-ignore and --bypass-nested need --bypass');
  checkCidrs(a['bypass-ignore'], 1);
  return host ? undefined : net;
}
