// The network drivers by name: one file each.
import { RkError } from '@rk/cli';
import type { NetDriver } from '../types.js';
import { builtin, gvisorTapVsock } from './builtin.js';
import { lxcUserNic } from './lxc-user-nic.js';
import { none } from './none.js';
import { pasta } from './pasta.js';
import { slirp4netns } from './slirp4netns.js';
import { vdeplugSlirp } from './vdeplug-slirp.js';
import { vpnkit } from './vpnkit.js';

const DRIVERS: Record<string, NetDriver> = {
  none,
  builtin,
  'gvisor-tap-vsock': gvisorTapVsock,
  slirp4netns,
  pasta,
  vdeplug_slirp: vdeplugSlirp,
  vpnkit,
  'lxc-user-nic': lxcUserNic,
};

export function driverFor(name: string): NetDriver {
  const d = DRIVERS[name];
  if (!d) throw new RkError(`network driver "${name}" is not available in this build yet: use --net=host, ${Object.keys(DRIVERS).join(', ')}`);
  return d;
}
