// The network drivers by name: one file each.
import { RkError } from '@rk/cli';
import type { NetDriver } from '../types.js';
import { builtin, gvisorTapVsock } from './builtin.js';
import { none } from './none.js';
import { slirp4netns } from './slirp4netns.js';

const DRIVERS: Record<string, NetDriver> = {
  none,
  builtin,
  'gvisor-tap-vsock': gvisorTapVsock,
  slirp4netns,
};

export function driverFor(name: string): NetDriver {
  const d = DRIVERS[name];
  if (!d) throw new RkError(`network driver "${name}" is not available in this build yet: use --net=host, none, builtin or slirp4netns`);
  return d;
}
